"""The decoder: OTLP protobuf and JSON (hex ids), gzip with a cap, and clear errors."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_payloads import S, json_body, merge, new_trace_id, request, to_otlp_json

from agentdeck.collector.ingest.decode import decode_json, decode_protobuf, decode_request, decompress
from agentdeck.collector.ingest.errors import DecodeError, IngestError, PayloadTooLarge, UnsupportedMediaType

MiB = 1024 * 1024


def test_json_hex_ids_are_read_as_hex_including_parent_and_links() -> None:
    trace = new_trace_id()
    parent = S("parent", trace)
    child = S("child", trace, parent=parent.span_id)
    doc = to_otlp_json(request([parent, child]))
    linked = new_trace_id()
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    spans[1]["links"] = [{"traceId": linked.upper(), "spanId": "00F067AA0BA902B7"}]
    decoded = decode_json(json.dumps(doc).encode())
    assert decoded.rejected == 0
    by_name = {s.name: s for s in decoded.spans}
    assert by_name["child"].trace_id == trace
    assert by_name["child"].parent_span_id == parent.span_id
    assert by_name["parent"].parent_span_id is None
    assert by_name["child"].links[0].trace_id == linked
    assert by_name["child"].links[0].span_id == "00f067aa0ba902b7"


def test_json_int64_strings_enums_and_unset_status() -> None:
    trace = new_trace_id()
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "sc"},
                        "spans": [
                            {
                                "traceId": trace,
                                "spanId": "0102030405060708",
                                "name": "chat m",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000500000000",
                                "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}],
                                "status": {},
                                "flags": 256,
                                "someFutureField": True,
                            }
                        ],
                    }
                ],
            }
        ]
    }
    (span,) = decode_json(json.dumps(body).encode()).spans
    assert span.kind == "CLIENT" and span.status_code == "UNSET"
    assert span.start_ns == 1_700_000_000_000_000_000 and span.end_ns == 1_700_000_000_500_000_000
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.resource.attributes["service.name"] == "svc"


def test_base64_ids_in_json_are_rejected_per_span_and_the_rest_kept() -> None:
    trace = new_trace_id()
    good, bad = S("good", trace), S("bad", trace)
    doc = to_otlp_json(request([good, bad]))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["traceId"] = "AAECAwQFBgcICQoLDA0ODw=="  # type: ignore[index]
    decoded = decode_json(json.dumps(doc).encode())
    assert [s.name for s in decoded.spans] == ["good"]
    assert decoded.rejected == 1
    assert "not 32 hex characters" in decoded.error_message() and "'bad'" in decoded.error_message()


def test_invalid_spans_are_rejected_individually() -> None:
    trace = new_trace_id()
    reversed_span = S("reversed", trace, duration_ns=-5)
    ok = S("ok", trace)
    req = request([ok, reversed_span])
    req.resource_spans[0].scope_spans[0].spans.add(trace_id=b"\x01" * 8, span_id=b"\x02" * 8, name="short-id")
    req.resource_spans[0].scope_spans[0].spans.add(
        trace_id=bytes.fromhex(trace), span_id=b"\x00" * 8, name="zero-span", start_time_unix_nano=5
    )
    decoded = decode_protobuf(req.SerializeToString())
    assert [s.name for s in decoded.spans] == ["ok"]
    assert decoded.rejected == 3
    message = decoded.error_message()
    assert "end_time_unix_nano is before start_time_unix_nano" in message
    assert "trace_id must be 16 bytes, got 8" in message
    assert "span_id is all zeros" in message


def test_content_types_and_encodings() -> None:
    req = request([S("a", new_trace_id())])
    enc, decoded = decode_request(gzip.compress(req.SerializeToString()), "application/x-protobuf", "gzip", MiB)
    assert enc.name == "PROTOBUF" and decoded.spans[0].name == "a"
    enc, decoded = decode_request(json_body(req), "application/json; charset=utf-8", None, MiB)
    assert enc.name == "JSON" and decoded.spans[0].name == "a"
    with pytest.raises(UnsupportedMediaType, match="send application/x-protobuf or application/json"):
        decode_request(b"x", "text/plain", None, MiB)
    with pytest.raises(UnsupportedMediaType, match="Content-Encoding br"):
        decode_request(b"x", "application/json", "br", MiB)


def test_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (50 * MiB))  # ~50 KB compressed
    with pytest.raises(PayloadTooLarge, match="inflates past the limit of 1048576 bytes"):
        decompress(bomb, "gzip", MiB)


def test_undecodable_bodies_say_what_is_wrong() -> None:
    with pytest.raises(DecodeError, match="not valid JSON"):
        decode_json(b"{nope")
    with pytest.raises(DecodeError, match="not valid UTF-8"):
        decode_json(b'{"resourceSpans": "\xff"}')
    with pytest.raises(DecodeError, match="must be an object"):
        decode_json(b"[1, 2]")
    with pytest.raises(DecodeError, match="nested too deeply"):
        decode_json(b"[" * 100_000)
    with pytest.raises(DecodeError, match="resourceSpans must be a list"):
        decode_json(b'{"resourceSpans": 5}')
    with pytest.raises(DecodeError, match="a scopeSpans entry must be an object whose spans is a list"):
        decode_json(b'{"resourceSpans": [{"scopeSpans": [{"spans": 7}]}]}')
    with pytest.raises(DecodeError, match="not a valid OTLP protobuf"):
        decode_protobuf(b"\x0a\xff\xff\xff\xff\x0f")
    with pytest.raises(DecodeError, match="not valid gzip"):
        decompress(b"\x1f\x8bnot gzip at all", "gzip", MiB)


def test_a_span_json_format_cannot_read_is_rejected_alone() -> None:
    trace = new_trace_id()
    doc = to_otlp_json(request([S("good", trace), S("negative", trace), S("not-an-object", trace)]))
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    spans[1]["startTimeUnixNano"] = "-5"
    spans[2] = 7
    decoded = decode_json(json.dumps(doc).encode())
    assert [s.name for s in decoded.spans] == ["good"]
    assert decoded.rejected == 2
    assert "'negative': cannot be read" in decoded.error_message()
    assert "a span must be an object" in decoded.error_message()


def test_empty_requests_decode_to_no_spans() -> None:
    assert decode_protobuf(b"").spans == ()
    assert decode_json(b"{}").spans == ()


_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.binary(max_size=2048), st.sampled_from(["application/x-protobuf", "application/json"]), st.booleans())
def test_random_bytes_only_raise_ingest_errors(body: bytes, content_type: str, gzipped: bool) -> None:
    data = gzip.compress(body) if gzipped else body
    try:
        decode_request(data, content_type, "gzip" if gzipped else None, 4096)
    except IngestError as exc:
        assert exc.status in (400, 413) and exc.message


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


@_fuzz
@given(_json_values)
def test_arbitrary_json_only_raises_decode_errors(doc: object) -> None:
    try:
        decode_json(json.dumps(doc).encode())
    except DecodeError as exc:
        assert exc.message


@_fuzz
@given(st.data())
def test_mutated_valid_bodies_only_raise_decode_errors(data: st.DataObject) -> None:
    trace = new_trace_id()
    raw = bytearray(request([S("a", trace), S("b", trace, attrs={"k": "v", "n": 3})]).SerializeToString())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        decoded = decode_protobuf(bytes(raw[:cut]))
    except DecodeError:
        return
    for span in decoded.spans:
        assert len(span.trace_id) == 32 and len(span.span_id) == 16 and span.end_ns >= span.start_ns


def test_a_protobuf_span_with_a_string_that_is_not_utf8_is_rejected_alone() -> None:
    """protobuf refuses the whole request for one bad string; the other spans must still be kept."""
    trace = new_trace_id()
    spans = [S("before", trace), S("BAD\x00NAME", trace, attrs={"k": "VALUEVAL"}), S("after", trace)]
    other_scope = request([S("other scope", trace)], scope="SCOPESCO")
    body = merge(request(spans), other_scope).SerializeToString()
    # one bad attribute value in the second span, and a bad scope name on the second scope
    body = body.replace(b"VALUEVAL", b"\xffVALUEV\xfe").replace(b"SCOPESCO", b"\xc0SCOPES\xc1")
    decoded = decode_protobuf(body)
    assert [s.name for s in decoded.spans] == ["before", "after"]
    assert decoded.rejected == 2
    assert decoded.rejections[0].startswith(f"span 'BAD\\x00NAME' of trace {trace}: not a valid OTLP Span")
    assert "instrumentation scope is not valid protobuf" in decoded.rejections[1]
    # framing that is itself broken is still the whole request's fault
    with pytest.raises(DecodeError, match="not a valid OTLP protobuf"):
        decode_protobuf(body[:-5])
