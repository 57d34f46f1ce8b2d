"""Fuzzing of the collector's OTLP/gRPC receiver over a real socket with a real grpc channel.

Bodies are sent raw (a generic unary call with identity serializers) to
/opentelemetry.proto.collector.trace.v1.TraceService/Export:

- the protobuf cases of the HTTP corpus (test_fuzz_corpus.py: empty, random bytes, truncated,
  oversized, invalid UTF-8, wrong id lengths, zero ids, reversed and out-of-range timestamps, huge
  attributes, 50k attributes, 20k events, deep values, NUL, the same span twice, ...) plus gRPC
  cases (a gzip-compressed message inflating past the limit, more spans than the queue, no token,
  an unknown method);
- hypothesis: arbitrary bytes, random mutations of a valid request, and requests mixing valid spans
  with individually broken ones carrying arbitrary text and values.

Every answer must be a deliberate status: OK (with partial_success counting the broken spans),
INVALID_ARGUMENT or RESOURCE_EXHAUSTED with a message saying what is wrong; never UNKNOWN or
INTERNAL, never a dropped connection. The server answers a valid export after every case, and the
valid spans that rode in hostile requests are stored, once.

`AGENTDECK_FUZZ_EXAMPLES=2000 pytest tests/collector/test_fuzz_grpc.py -s` runs a longer search; the
number of cases tried is printed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from collector_helpers import stored_rows
from google.rpc.error_details_pb2 import RetryInfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from otlp_payloads import S, new_trace_id, request
from test_fuzz_corpus import LIMIT, PB, Case, corpus
from test_fuzz_spans import DEFECTS, _span, _span_case

from agentdeck.collector.server import CollectorServer

EXAMPLES = int(os.environ.get("AGENTDECK_FUZZ_EXAMPLES", "120"))
TOKEN = "grpc-fuzz-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
QUEUE = 20_000  # --queue-max-spans of the collector under test
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
_HTTP_TO_GRPC = {
    200: {grpc.StatusCode.OK},
    400: {grpc.StatusCode.INVALID_ARGUMENT},
    # too big: grpc core refuses the message (RESOURCE_EXHAUSTED), the decoder a request over the queue
    413: {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT},
}


@dataclass
class Answer:
    code: grpc.StatusCode
    message: str
    response: ExportTraceServiceResponse | None
    trailers: tuple[tuple[str, str | bytes], ...]


class GrpcTarget:
    """A real channel to the collector's gRPC port; every call is raw bytes in, raw bytes out."""

    def __init__(self, server: CollectorServer, compression: grpc.Compression | None = None) -> None:
        self.server = server
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{server.grpc_port}",
            options=[("grpc.max_send_message_length", 64 * 1024 * 1024)],
            compression=compression,
        )
        self.export = self.channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        self.tried = 0

    def send(self, body: bytes, metadata: tuple[tuple[str, str], ...] = AUTH, method: str = EXPORT) -> Answer:
        self.tried += 1
        call = self.export if method == EXPORT else self.channel.unary_unary(method)
        try:
            raw, _ = call.with_call(body, timeout=60, metadata=metadata)
        except grpc.RpcError as exc:
            err: grpc.Call = exc  # type: ignore[assignment]
            return Answer(err.code(), err.details() or "", None, tuple(err.trailing_metadata() or ()))
        return Answer(grpc.StatusCode.OK, "", ExportTraceServiceResponse.FromString(raw), ())

    def assert_up(self) -> None:
        """The server still takes a valid export (and stores it: the id is checked at the end)."""
        ok = self.send(request([S("alive", new_trace_id())]).SerializeToString())
        assert ok.code == grpc.StatusCode.OK, ok

    def close(self) -> None:
        self.channel.close()


@pytest.fixture
def grpc_server(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    return start_collector(grpc_port=0, token=TOKEN, max_body_bytes=LIMIT, queue_max_spans=QUEUE)


@pytest.fixture
def target(grpc_server: CollectorServer) -> Iterator[GrpcTarget]:
    t = GrpcTarget(grpc_server)
    yield t
    t.close()


def _grpc_cases() -> list[Case]:
    """The HTTP corpus cases whose body is a plain OTLP/protobuf request (gRPC carries nothing else)."""
    return [
        c
        for c in corpus()
        if c.method == "POST"
        and c.path == "/v1/traces"
        and isinstance(c.body, bytes)
        and c.headers.get("Content-Type", "").lower() == PB
        and "Content-Encoding" not in c.headers
    ]


def _check(case: Case, answer: Answer) -> None:
    allowed = set().union(*(_HTTP_TO_GRPC[s] for s in case.expect))
    assert answer.code in allowed, f"{case.name}: {answer.code} {answer.message!r}"
    if answer.code != grpc.StatusCode.OK:
        assert answer.message, f"{case.name}: {answer.code} without a message"
        if case.says and answer.code == grpc.StatusCode.INVALID_ARGUMENT:
            assert case.says in answer.message, f"{case.name}: {answer.message!r}"
        if answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            assert "larger than max" in answer.message, f"{case.name}: {answer.message!r}"
    elif case.rejected is not None:
        assert answer.response is not None
        assert answer.response.partial_success.rejected_spans == case.rejected, case.name


def test_corpus_over_grpc_gets_a_deliberate_status_and_keeps_valid_spans(
    grpc_server: CollectorServer, target: GrpcTarget, db_path: Path
) -> None:
    cases = _grpc_cases()
    assert len(cases) >= 30  # the filter must not silently drop the corpus
    must_store: set[str] = set()
    for case in cases:
        assert isinstance(case.body, bytes)
        answer = target.send(case.body)
        _check(case, answer)
        if answer.code == grpc.StatusCode.OK:
            must_store.update(case.valid)
        target.assert_up()

    # gRPC-only cases
    big = request([S("big", new_trace_id(), attrs={"blob": "x" * (LIMIT + 1)})]).SerializeToString()
    gz = GrpcTarget(grpc_server, compression=grpc.Compression.Gzip)
    try:
        bomb = gz.send(big)  # ~4 KiB on the wire, over the limit once inflated
        assert bomb.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in bomb.message, bomb
        small_trace = new_trace_id()
        compressed = [S("gz", small_trace), S("gz2", small_trace)]
        ok = gz.send(request(compressed).SerializeToString())
        assert ok.code == grpc.StatusCode.OK and not ok.response.HasField("partial_success")  # type: ignore[union-attr]
        must_store.update(s.span_id for s in compressed)
    finally:
        target.tried += gz.tried
        gz.close()

    flood_trace = new_trace_id()
    flood = target.send(request([S(f"f{i}", flood_trace) for i in range(QUEUE + 1)]).SerializeToString())
    assert flood.code == grpc.StatusCode.INVALID_ARGUMENT and "send smaller batches" in flood.message, flood

    valid = request([S("needs a token", new_trace_id())]).SerializeToString()
    for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", TOKEN),)):
        denied = target.send(valid, metadata=metadata)
        assert denied.code == grpc.StatusCode.UNAUTHENTICATED and denied.message, denied
    nope = target.send(valid, method="/opentelemetry.proto.collector.trace.v1.TraceService/Nope")
    assert nope.code == grpc.StatusCode.UNIMPLEMENTED
    target.assert_up()
    print(f"\ngRPC corpus: {target.tried} calls ({len(cases)} corpus cases + gRPC-only cases + liveness checks)")

    grpc_server.stop()
    stored = stored_rows(db_path, "SELECT span_id, count(*) FROM spans GROUP BY span_id")
    counts = {str(span_id): int(n) for span_id, n in stored}  # type: ignore[call-overload]
    assert must_store <= counts.keys(), sorted(must_store - counts.keys())[:5]
    assert all(counts[i] == 1 for i in must_store)
    assert "needs a token" not in {r[0] for r in stored_rows(db_path, "SELECT name FROM spans")}


def test_retryable_refusal_carries_retry_info(
    start_collector: Callable[..., CollectorServer],
) -> None:
    """A stopping writer answers UNAVAILABLE with google.rpc.RetryInfo (OTLP exporters retry on it)."""
    server = start_collector(grpc_port=0, token=TOKEN)
    t = GrpcTarget(server)
    try:
        server.services.writer.stop()
        answer = t.send(request([S("late", new_trace_id())]).SerializeToString())
    finally:
        t.close()
    assert answer.code == grpc.StatusCode.UNAVAILABLE and "retry" in answer.message, answer
    info = dict(answer.trailers).get("google.rpc.retryinfo-bin")
    assert isinstance(info, bytes)
    assert RetryInfo.FromString(info).retry_delay.seconds >= 1


# --- hypothesis ----------------------------------------------------------------------------------


def _valid_request(rng: random.Random) -> bytes:
    t = new_trace_id()
    return request(
        [S(f"s{i}", t, attrs={"i": i, "text": "é" * rng.randint(0, 50)}) for i in range(5)]
    ).SerializeToString()


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(_valid_request(random.Random(draw(st.integers(0, 2**32)))))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("flip", "cut", "insert", "duplicate", "delete")))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if kind == "flip" and body:
            body[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del body[at:]
        elif kind == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "duplicate":
            body[at:at] = body[at : at + draw(st.integers(1, 64))]
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 16))]
    return bytes(body)


def test_hypothesis_bodies_never_get_unknown_or_internal(grpc_server: CollectorServer, target: GrpcTarget) -> None:
    seen: dict[grpc.StatusCode, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=st.binary(max_size=4096) | _mutated())
    def one(body: bytes) -> None:
        answer = target.send(body)
        seen[answer.code] = seen.get(answer.code, 0) + 1
        assert answer.code in ALLOWED, (answer, body[:200])
        if answer.code == grpc.StatusCode.OK:
            assert answer.response is not None
        else:
            assert answer.message.startswith("body is not a valid OTLP protobuf"), answer

    one()
    target.assert_up()
    print(f"\ngRPC raw/mutated bodies: {target.tried} calls, statuses { ({c.name: n for c, n in seen.items()}) }")
    assert sum(seen.values()) >= min(EXAMPLES, 50)


def test_hypothesis_mixed_spans_keep_the_valid_ones(
    grpc_server: CollectorServer, target: GrpcTarget, db_path: Path
) -> None:
    kept: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(cases=st.lists(_span_case(DEFECTS), min_size=1, max_size=6))
    def one(cases: list) -> None:  # type: ignore[type-arg]
        trace = bytes.fromhex(new_trace_id())
        spans = [_span(c, trace) for c in cases]
        body = ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
        ).SerializeToString()
        answer = target.send(body)
        assert answer.code == grpc.StatusCode.OK, answer
        assert answer.response is not None
        broken = sum(1 for c in cases if c.defect is not None)
        assert answer.response.partial_success.rejected_spans == broken
        if broken:
            assert answer.response.partial_success.error_message
        kept.extend(s.span_id.hex() for s, c in zip(spans, cases, strict=True) if c.defect is None)

    one()
    target.assert_up()
    print(f"\ngRPC mixed valid/broken spans: {target.tried} calls, {len(kept)} valid spans")
    grpc_server.stop()
    stored = {str(r[0]): int(r[1]) for r in stored_rows(db_path, "SELECT span_id, count(*) FROM spans GROUP BY 1")}  # type: ignore[call-overload]
    assert set(kept) <= stored.keys()
    assert all(stored[i] == 1 for i in kept)
