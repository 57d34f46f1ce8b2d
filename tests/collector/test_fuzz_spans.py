"""Property-based fuzzing of the real collector over HTTP, both encodings, with and without gzip.

Each example is a request mixing valid spans with individually broken ones (bad id lengths, zero
ids, base64 ids in OTLP/JSON, reversed or missing or out-of-range timestamps) carrying arbitrary
unicode text, numbers and nested values. The collector must answer 200 with a partial_success that
counts exactly the broken spans, and the valid spans must be stored with every attribute key kept.
A second property mutates valid bodies at random: never a 5xx, never a dropped connection.

`AGENTDECK_FUZZ_EXAMPLES=5000 pytest tests/collector/test_fuzz_spans.py -s` runs a longer search
(the default keeps the suite fast); the number of cases tried is printed.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from otlp_payloads import any_value

from agentdeck.collector.server import CollectorServer

EXAMPLES = int(os.environ.get("AGENTDECK_FUZZ_EXAMPLES", "200"))
PB = "application/x-protobuf"
JS = "application/json"
NOW_NS = 1_700_000_000_000_000_000

# Defects that make one span invalid while the rest of the request stays valid.
DEFECTS = ("short_trace_id", "long_span_id", "zero_trace_id", "zero_span_id", "reversed", "no_start", "huge_ts")
JSON_ONLY_DEFECTS = ("base64_ids", "non_hex_id")

_serial = itertools.count(1)
_run = uuid.uuid4().bytes[:8]


def _unique_id(size: int) -> bytes:
    """Distinct, non-zero ids across examples and runs (hypothesis replays must not collide)."""
    return (_run + next(_serial).to_bytes(8, "big"))[-size:] if size == 16 else next(_serial).to_bytes(8, "big")


# --- strategies ------------------------------------------------------------------------------

_text = st.text(max_size=40)  # any unicode but lone surrogates (which protobuf cannot carry), NUL included
_scalar = st.one_of(
    _text,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
_value = st.recursive(
    _scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=12
)


@dataclass(frozen=True)
class SpanCase:
    name: str
    attrs: dict[str, object]
    status_message: str
    defect: str | None
    event_names: tuple[str, ...]


def _span_case(defects: tuple[str, ...]) -> st.SearchStrategy[SpanCase]:
    return st.builds(
        SpanCase,
        name=_text,
        attrs=st.dictionaries(st.text(min_size=1, max_size=20), _value, max_size=6),
        status_message=_text,
        defect=st.none() | st.sampled_from(defects),
        event_names=st.lists(_text, max_size=3).map(tuple),
    )


def _span(case: SpanCase, trace_id: bytes) -> Span:
    span_id = _unique_id(8)
    start, end = NOW_NS, NOW_NS + 1_000
    defect = case.defect
    if defect == "short_trace_id":
        trace_id = trace_id[:15]
    elif defect == "long_span_id":
        span_id += b"\x01"
    elif defect == "zero_trace_id":
        trace_id = bytes(16)
    elif defect == "zero_span_id":
        span_id = bytes(8)
    elif defect == "reversed":
        start, end = end, start
    elif defect == "no_start":
        start = 0
    elif defect == "huge_ts":
        start, end = 2**63, 2**63 + 5
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=case.name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=[KeyValue(key=k, value=any_value(v)) for k, v in case.attrs.items()],
        status=Status(code=Status.STATUS_CODE_ERROR, message=case.status_message),
        events=[Span.Event(name=n, time_unix_nano=start) for n in case.event_names],
    )


def _json_body(request: ExportTraceServiceRequest, cases: list[SpanCase]) -> bytes:
    doc = json_format.MessageToDict(request)
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for span, case in zip(spans, cases, strict=True):
        for key in ("traceId", "spanId"):
            raw = base64.b64decode(span[key])
            if case.defect == "base64_ids":
                continue  # what json_format itself writes: wrong for OTLP/JSON
            span[key] = ("zz" + raw.hex()[2:]) if case.defect == "non_hex_id" and key == "spanId" else raw.hex()
    return json.dumps(doc).encode()


def _status_message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith(PB):
        return status_pb2.Status.FromString(response.content).message
    return str(json.loads(response.content).get("message", ""))


def _partial(response: httpx.Response) -> ExportTraceServiceResponse:
    if response.headers["content-type"].startswith(PB):
        return ExportTraceServiceResponse.FromString(response.content)
    return json_format.Parse(response.content, ExportTraceServiceResponse())


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_mixed_valid_and_broken_spans_keep_the_valid_ones(
    start_collector: Callable[..., CollectorServer], client: httpx.Client
) -> None:
    server = start_collector(flush_interval_ms=1)
    tried: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        st.sampled_from([PB, JS]).flatmap(
            lambda ct: st.tuples(
                st.just(ct),
                st.lists(_span_case(DEFECTS + (JSON_ONLY_DEFECTS if ct == JS else ())), min_size=1, max_size=6),
                st.booleans(),
            )
        )
    )
    def check(example: tuple[str, list[SpanCase], bool]) -> None:
        content_type, cases, gzipped = example
        trace_id = _unique_id(16)
        spans = [_span(c, trace_id) for c in cases]
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=Resource(attributes=[KeyValue(key="service.name", value=any_value("fuzz"))]),
                    scope_spans=[ScopeSpans(scope=InstrumentationScope(name="fuzz"), spans=spans)],
                )
            ]
        )
        body = request.SerializeToString() if content_type == PB else _json_body(request, cases)
        headers = {"Content-Type": content_type}
        if gzipped:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        r = client.post(server.url + "/v1/traces", content=body, headers=headers)
        tried.append(1)
        assert r.status_code == 200, f"{r.status_code}: {_status_message(r)}"
        broken = sum(c.defect is not None for c in cases)
        partial = _partial(r).partial_success
        assert partial.rejected_spans == broken
        if broken:
            assert "rejected" in partial.error_message
        valid = {s.span_id.hex(): c for s, c in zip(spans, cases, strict=True) if c.defect is None}
        q = client.get(server.url + "/api/query/trace", params={"trace_id": trace_id.hex()})
        assert q.status_code == 200, q.text
        answer = q.json()
        col = {name: i for i, name in enumerate(answer["columns"])}
        stored = {row[col["span_id"]]: row for row in answer["rows"]}
        assert set(stored) == set(valid)
        for span_id, case in valid.items():
            row = stored[span_id]
            assert row[col["name"]] == case.name
            assert set(json.loads(row[col["attributes"]])) == set(case.attrs)
            assert row[col["status_message"]] == (case.status_message or None)

    check()
    print(f"\nfuzz: {len(tried)} mixed valid/broken requests sent")
    assert client.get(server.url + "/health").json() == {"status": "ok"}


def _valid_body(content_type: str) -> bytes:
    case = SpanCase("seed", {"gen_ai.operation.name": "chat", "n": 3, "xs": [1.5, "a"]}, "boom", None, ("e",))
    span = _span(case, _unique_id(16))
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span, span])])])
    return request.SerializeToString() if content_type == PB else _json_body(request, [case, case])


@pytest.mark.parametrize("content_type", [PB, JS])
def test_mutated_bodies_never_get_a_5xx(
    start_collector: Callable[..., CollectorServer], client: httpx.Client, content_type: str
) -> None:
    server = start_collector()
    seed = _valid_body(content_type)
    tried: list[int] = []

    @settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, len(seed)), st.sampled_from(["flip", "cut", "insert", "dup"]), st.binary(max_size=8)
            ),
            min_size=1,
            max_size=4,
        ),
        st.booleans(),
    )
    def check(edits: list[tuple[int, str, bytes]], gzipped: bool) -> None:
        body = bytearray(seed)
        for pos, op, data in edits:
            pos = min(pos, len(body))
            if op == "flip" and pos < len(body):
                body[pos] ^= data[0] if data else 0xFF
            elif op == "cut":
                del body[pos : pos + len(data) + 1]
            elif op == "insert":
                body[pos:pos] = data
            else:
                body[pos:pos] = body[pos : pos + 64]
        headers = {"Content-Type": content_type}
        payload = bytes(body)
        if gzipped:
            payload = gzip.compress(payload)
            headers["Content-Encoding"] = "gzip"
        r = client.post(server.url + "/v1/traces", content=payload, headers=headers)  # raises if dropped
        tried.append(1)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:
            assert _status_message(r).strip()

    check()
    print(f"\nfuzz: {len(tried)} mutated {content_type} bodies sent")
    assert client.get(server.url + "/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("label", "field", "value"),
    [
        ("negative start time", "startTimeUnixNano", "-5"),
        ("int64 overflow in an attribute", "attributes", [{"key": "i", "value": {"intValue": "99999999999999999999"}}]),
        ("lone surrogate in the name", "name", "\ud800"),
    ],
)
def test_one_unreadable_json_span_does_not_sink_the_valid_ones(
    start_collector: Callable[..., CollectorServer], client: httpx.Client, label: str, field: str, value: object
) -> None:
    server = start_collector()
    trace_id = _unique_id(16)
    good, bad = _span(SpanCase("good", {}, "", None, ()), trace_id), _span(SpanCase(label, {}, "", None, ()), trace_id)
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[good, bad])])])
    doc = json.loads(_json_body(request, [SpanCase("good", {}, "", None, ())] * 2))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1][field] = value
    r = client.post(server.url + "/v1/traces", content=json.dumps(doc).encode(), headers={"Content-Type": JS})
    assert r.status_code == 200, _status_message(r)
    assert _partial(r).partial_success.rejected_spans == 1
    q = client.get(server.url + "/api/query/trace", params={"trace_id": trace_id.hex()}).json()
    assert [row[q["columns"].index("name")] for row in q["rows"]] == ["good"]
