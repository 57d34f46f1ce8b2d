"""The corpus of hand-made hostile OTLP/HTTP requests (data only; test_fuzz_process.py sends it).

Each `Case` is one request with the answers it may get, the message a 4xx must carry, the valid
span ids riding in it that must be stored, and the partial_success count expected on a 200.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from otlp_payloads import S, json_body, merge, new_span_id, new_trace_id, request, to_otlp_json

PB = "application/x-protobuf"
JS = "application/json"
LIMIT = 4 * 1024 * 1024  # --max-body-bytes of the collector under test
MIB = 1024 * 1024


@dataclass
class Case:
    name: str
    body: bytes | list[bytes]  # a list is sent chunked (no Content-Length)
    headers: dict[str, str]
    expect: frozenset[int]
    valid: tuple[str, ...] = ()  # span ids that must be stored
    rejected: int | None = None  # partial_success.rejected_spans expected on a 200
    says: str = ""  # a 4xx message must contain this
    method: str = "POST"
    path: str = "/v1/traces"


def _pb(ct: str = PB, **more: str) -> dict[str, str]:
    return {"Content-Type": ct, **more}


def mixed_request(valid_n: int, bad: list[S]) -> tuple[ExportTraceServiceRequest, list[str]]:
    t = new_trace_id()
    good = [S(f"ok{i}", t, attrs={"i": i}) for i in range(valid_n)]
    return request(good + bad), [s.span_id for s in good]


def _gzip_members(total_bytes: int, member_bytes: int) -> bytes:
    one = gzip.compress(bytes(member_bytes), compresslevel=9)
    return one * (total_bytes // member_bytes)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field, written by hand (the library refuses to build deep values)."""
    size, varint = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            break
    return bytes([number << 3 | 2]) + bytes(varint) + payload


def _deep_anyvalue_request(span: Span, depth: int) -> bytes:
    value = AnyValue(string_value="leaf").SerializeToString()
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value -> ArrayValue.values
    span_bytes = span.SerializeToString() + _field(9, _field(1, b"deep") + _field(2, value))  # Span.attributes
    return _field(1, _field(2, _field(2, span_bytes)))  # request.resource_spans.scope_spans.spans


def corpus() -> list[Case]:
    rng = random.Random(8)
    cases: list[Case] = []
    add = cases.append
    t = new_trace_id()

    # empty and trivial bodies
    add(Case("empty protobuf", b"", _pb(), frozenset({200})))
    add(Case("empty json", b"", _pb(JS), frozenset({400}), says="not valid JSON"))
    add(Case("json {}", b"{}", _pb(JS), frozenset({200})))
    add(Case("json empty list", b'{"resourceSpans": []}', _pb(JS), frozenset({200})))
    for doc in (b"[]", b"null", b'"x"', b"42", b'{"resourceSpans": "nope"}', b'{"resourceSpans": [1, 2]}'):
        add(Case(f"json wrong shape {doc[:20]!r}", doc, _pb(JS), frozenset({400})))
    add(Case("json BOM", b"\xef\xbb\xbf{}", _pb(JS), frozenset({200, 400})))

    # random bytes
    for size in (1, 7, 64, 1024, 65536, 1 * MIB):
        noise = rng.randbytes(size)
        add(Case(f"random {size} B protobuf", noise, _pb(), frozenset({200, 400})))
        add(Case(f"random {size} B json", noise, _pb(JS), frozenset({400})))
        add(Case(f"random {size} B gzip", noise, _pb(PB, **{"Content-Encoding": "gzip"}), frozenset({400})))

    # truncated and oversized protobuf
    whole, ids = mixed_request(5, [])
    raw = whole.SerializeToString()
    for k in range(1, 10):
        add(Case(f"protobuf cut at {k}/10", raw[: len(raw) * k // 10], _pb(), frozenset({200, 400})))
    add(Case("intact protobuf", raw, _pb(), frozenset({200}), valid=tuple(ids), rejected=0))
    big = request([S("big", t, attrs={"blob": "x" * (LIMIT + 1)})]).SerializeToString()
    add(Case("protobuf over the limit", big, _pb(), frozenset({413}), says="over the limit"))
    add(
        Case(
            "gzip protobuf over the limit",
            gzip.compress(big),
            _pb(PB, **{"Content-Encoding": "gzip"}),
            frozenset({413}),
            says="limit",
        )
    )
    add(Case("chunked body over the limit", [bytes(MIB)] * 5, _pb(), frozenset({413}), says="over the limit"))

    # content types and encodings
    ok, ok_ids = mixed_request(1, [])
    ok_json = json_body(ok)
    for ct in ("text/plain", "application/xml", "application/grpc", "multipart/form-data", "application/jsonx"):
        add(Case(f"content type {ct}", ok_json, _pb(ct), frozenset({415}), says="not supported"))
    add(Case("no content type", ok_json, {}, frozenset({415}), says="(none)"))
    add(
        Case(
            "json with charset", ok_json, _pb("application/json; charset=utf-8"), frozenset({200}), valid=tuple(ok_ids)
        )
    )
    up, up_ids = mixed_request(1, [])
    add(
        Case(
            "upper-case protobuf type",
            up.SerializeToString(),
            _pb("APPLICATION/X-PROTOBUF"),
            frozenset({200}),
            valid=tuple(up_ids),
        )
    )
    for enc in ("br", "deflate", "compress", "zstd"):
        add(Case(f"content-encoding {enc}", raw, _pb(PB, **{"Content-Encoding": enc}), frozenset({415})))
    add(Case("gzip header, plain body", raw, _pb(PB, **{"Content-Encoding": "gzip"}), frozenset({400}), says="gzip"))
    add(
        Case(
            "truncated gzip",
            gzip.compress(raw)[:-12],
            _pb(PB, **{"Content-Encoding": "gzip"}),
            frozenset({400}),
            says="gzip",
        )
    )
    add(
        Case(
            "double gzip", gzip.compress(gzip.compress(raw)), _pb(PB, **{"Content-Encoding": "gzip"}), frozenset({400})
        )
    )
    gz, gz_ids = mixed_request(2, [])
    add(
        Case(
            "gzip json",
            gzip.compress(json_body(gz)),
            _pb(JS, **{"Content-Encoding": "gzip"}),
            frozenset({200}),
            valid=tuple(gz_ids),
        )
    )

    # gzip bombs: one member inflating to 64 MiB, and 1 GiB spread over 64 members
    bomb = gzip.compress(bytes(64 * MIB), compresslevel=9)
    for ct in (PB, JS):
        add(
            Case(
                f"gzip bomb 64 MiB {ct}", bomb, _pb(ct, **{"Content-Encoding": "gzip"}), frozenset({413}), says="limit"
            )
        )
    add(
        Case(
            "gzip bomb 1 GiB in 64 members",
            _gzip_members(1024 * MIB, 16 * MIB),
            _pb(PB, **{"Content-Encoding": "gzip"}),
            frozenset({413}),
            says="limit",
        )
    )

    # OTLP/JSON ids: base64 instead of hex, wrong lengths, not hex, upper case
    b64_req, b64_ids = mixed_request(2, [S("b64", t)])
    b64_doc = to_otlp_json(b64_req)
    bad_span = b64_doc["resourceSpans"][0]["scopeSpans"][0]["spans"][2]  # type: ignore[index]
    bad_span.update(json_format.MessageToDict(b64_req.resource_spans[0].scope_spans[0].spans[2]))  # base64 ids
    add(
        Case(
            "json base64 ids", json.dumps(b64_doc).encode(), _pb(JS), frozenset({200}), valid=tuple(b64_ids), rejected=1
        )
    )
    for label, key, value in (
        ("trace id 30 hex", "traceId", "ab" * 15),
        ("trace id 34 hex", "traceId", "ab" * 17),
        ("span id 14 hex", "spanId", "cd" * 7),
        ("span id not hex", "spanId", "zz" * 8),
        ("parent id 6 hex", "parentSpanId", "ef" * 3),
        ("trace id a number", "traceId", 12345),
        ("span id missing", "spanId", None),
    ):
        req, ids = mixed_request(1, [S(label, t)])
        d = to_otlp_json(req)
        span = d["resourceSpans"][0]["scopeSpans"][0]["spans"][1]  # type: ignore[index]
        if value is None:
            span.pop(key)
        else:
            span[key] = value
        add(Case(f"json {label}", json.dumps(d).encode(), _pb(JS), frozenset({200}), valid=tuple(ids), rejected=1))
    req, ids = mixed_request(1, [])
    d = to_otlp_json(req)
    span = d["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[index]
    span["traceId"], span["spanId"] = span["traceId"].upper(), span["spanId"].upper()
    add(
        Case("json upper-case hex ids", json.dumps(d).encode(), _pb(JS), frozenset({200}), valid=tuple(ids), rejected=0)
    )

    # OTLP/JSON spans json_format cannot read: rejected alone, the valid ones beside them kept
    def unreadable_json_span(label: str, key: str, value: object) -> None:
        req, ids = mixed_request(2, [S(label, t)])
        d = to_otlp_json(req)
        d["resourceSpans"][0]["scopeSpans"][0]["spans"][2][key] = value  # type: ignore[index]
        add(Case(f"json {label}", json.dumps(d).encode(), _pb(JS), frozenset({200}), valid=tuple(ids), rejected=1))

    # protobuf ids and timestamps, each broken span next to valid ones
    def broken(label: str, **fields: object) -> None:
        req, ids = mixed_request(2, [S(label, t)])
        span = req.resource_spans[0].scope_spans[0].spans[2]
        for k, v in fields.items():
            setattr(span, k, v)
        for ct in (PB, JS):
            body = req.SerializeToString() if ct == PB else json_body(req)
            add(Case(f"{ct} {label}", body, _pb(ct), frozenset({200}), valid=tuple(ids), rejected=1))

    broken("trace id 15 bytes", trace_id=bytes(range(1, 16)))
    broken("span id 9 bytes", span_id=bytes(range(1, 10)))
    broken("zero trace id", trace_id=bytes(16))
    broken("zero span id", span_id=bytes(8))
    broken("reversed timestamps", start_time_unix_nano=2_000_000_000, end_time_unix_nano=1_000_000_000)
    broken("no start time", start_time_unix_nano=0)
    broken("timestamp past int64", start_time_unix_nano=2**63 + 1, end_time_unix_nano=2**64 - 1)
    unreadable_json_span("negative timestamp", "startTimeUnixNano", "-5")
    # mixed across resources: one resource of good spans, one of bad ones
    good_req, good_ids = mixed_request(3, [])
    bad_req = request([S("bad", t)])
    bad_req.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01\x02"
    both = ExportTraceServiceRequest(resource_spans=[*good_req.resource_spans, *bad_req.resource_spans])
    add(
        Case(
            "mixed across resources",
            both.SerializeToString(),
            _pb(),
            frozenset({200}),
            valid=tuple(good_ids),
            rejected=1,
        )
    )

    # invalid UTF-8
    add(Case("json invalid utf-8", b'{"resourceSpans": [{"x": "\xff\xfe"}]}', _pb(JS), frozenset({400}), says="UTF-8"))
    bad_utf8 = b"\xff\xfe\xfd\xfc\xc0\xc1\xf5\xf6"
    utf8_req, utf8_ids = mixed_request(3, [S("MARKMARK", t)])
    add(
        Case(
            "protobuf invalid utf-8 span name among valid spans",
            utf8_req.SerializeToString().replace(b"MARKMARK", bad_utf8),
            _pb(),
            frozenset({200}),
            valid=tuple(utf8_ids),
            rejected=1,
        )
    )
    kept_req, kept_ids = mixed_request(2, [])
    bad_resource = merge(kept_req, request([S("lost", t)], resource={"tenant": "MARKMARK"}))
    add(
        Case(
            "protobuf invalid utf-8 resource attribute: that resource's spans only",
            bad_resource.SerializeToString().replace(b"MARKMARK", bad_utf8),
            _pb(),
            frozenset({200}),
            valid=tuple(kept_ids),
            rejected=1,
        )
    )
    add(
        Case(
            "protobuf invalid utf-8 and a truncated length",
            utf8_req.SerializeToString().replace(b"MARKMARK", bad_utf8)[:-3],
            _pb(),
            frozenset({400}),
            says="not a valid OTLP protobuf",
        )
    )
    unreadable_json_span("lone surrogate", "name", "\ud800")

    # deep and huge JSON
    add(Case("json 100k open brackets", b"[" * 100_000, _pb(JS), frozenset({400})))
    add(Case("json 50k nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, _pb(JS), frozenset({400})))
    deep_req, _ = mixed_request(1, [])
    d = to_otlp_json(deep_req)
    d["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [{"key": "deep", "value": "@"}]  # type: ignore[index]
    nested = '{"arrayValue": {"values": [' * 300 + '{"stringValue": "x"}' + "]}}" * 300
    add(Case("json AnyValue 300 deep", json.dumps(d).replace('"@"', nested).encode(), _pb(JS), frozenset({200, 400})))
    deep_pb = _deep_anyvalue_request(request([S("deep", t)]).resource_spans[0].scope_spans[0].spans[0], 200)
    add(Case("protobuf AnyValue 200 deep", deep_pb, _pb(), frozenset({200, 400})))
    add(Case("json 3.9 MiB of whitespace", b" " * (LIMIT - 4096) + b"{}", _pb(JS), frozenset({200})))
    many_t = new_trace_id()
    many = [S(f"m{i}", many_t) for i in range(15_000)]
    add(
        Case(
            "json 15k spans",
            json_body(request(many)),
            _pb(JS),
            frozenset({200}),
            valid=tuple(s.span_id for s in many),
            rejected=0,
        )
    )
    add(
        Case(
            "json 10k empty resources", json.dumps({"resourceSpans": [{}] * 10_000}).encode(), _pb(JS), frozenset({200})
        )
    )

    # huge values and counts, odd text
    hv, hv_ids = mixed_request(1, [])
    hv.resource_spans[0].scope_spans[0].spans[0].attributes.append(
        KeyValue(key="huge", value=AnyValue(string_value="é" * (LIMIT // 3)))
    )
    add(Case("3.9 MiB attribute value", hv.SerializeToString(), _pb(), frozenset({200}), valid=tuple(hv_ids)))
    many_attrs = S("many attrs", new_trace_id(), attrs={f"k{i}": i for i in range(50_000)})
    add(
        Case(
            "50k attributes",
            request([many_attrs]).SerializeToString(),
            _pb(),
            frozenset({200}),
            valid=(many_attrs.span_id,),
        )
    )
    many_events = S("many events", new_trace_id(), events=[(f"e{i}", {"i": i}) for i in range(20_000)])
    add(
        Case(
            "20k events",
            request([many_events]).SerializeToString(),
            _pb(),
            frozenset({200}),
            valid=(many_events.span_id,),
        )
    )
    long_name = S("n" * (2 * MIB), new_trace_id())
    add(
        Case(
            "2 MiB span name",
            request([long_name]).SerializeToString(),
            _pb(),
            frozenset({200}),
            valid=(long_name.span_id,),
        )
    )
    nul = S("nul\x00name", new_trace_id(), attrs={"k\x00": "v\x00"}, status_code=2, status_message="m\x00")
    add(Case("NUL characters", request([nul]).SerializeToString(), _pb(), frozenset({200}), valid=(nul.span_id,)))
    uni = S("🦜 agent ‮rtl 中文", new_trace_id(), attrs={"gen_ai.input.messages": "💥" * 1000})
    add(Case("unicode text", json_body(request([uni])), _pb(JS), frozenset({200}), valid=(uni.span_id,)))
    nan_req, nan_ids = mixed_request(1, [])
    d = to_otlp_json(nan_req)
    d["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [  # type: ignore[index]
        {"key": k, "value": {"doubleValue": k}} for k in ("NaN", "Infinity", "-Infinity")
    ] + [{"key": "unknown", "value": {"fooValue": 1}}]
    add(
        Case(
            "json NaN, Infinity, unknown value kind",
            json.dumps(d).encode(),
            _pb(JS),
            frozenset({200}),
            valid=tuple(nan_ids),
        )
    )
    for label, v in (("int64 overflow", {"intValue": "99999999999999999999"}), ("int not a number", {"intValue": "x"})):
        unreadable_json_span(label, "attributes", [{"key": "i", "value": v}])
    dup_t = new_trace_id()
    dup = S("dup", dup_t, span_id=new_span_id())
    add(
        Case(
            "same span twice in a request",
            request([dup, dup]).SerializeToString(),
            _pb(),
            frozenset({200}),
            valid=(dup.span_id,),
        )
    )

    # wrong method or path: a plain 4xx, not a crash
    add(Case("GET on /v1/traces", b"", {}, frozenset({405}), method="GET"))
    add(Case("POST to /v1/trace", raw, _pb(), frozenset({404}), path="/v1/trace"))
    return cases
