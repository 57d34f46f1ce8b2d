"""The streaming reader gives what a whole-file parse gives: every span, with its resource and scope,
regrouped into requests of bounded size (schema URLs, written after their spans, are not carried)."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentdeck.cli.otlp_files import read_request, requests_of
from agentdeck.cli.otlp_stream import StreamError, batches, open_stream, spans
from tests.conftest import SAMPLES


def flat(request: ExportTraceServiceRequest) -> list[tuple[bytes, bytes, bytes]]:
    return [
        (rs.resource.SerializeToString(), ss.scope.SerializeToString(), span.SerializeToString())
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


def test_streamed_spans_match_a_whole_parse(tmp_path: Path) -> None:
    whole = read_request(SAMPLES / "due_diligence.pb.gz")
    moved = whole.resource_spans.add()  # a second resource, as a file of several exports has
    moved.CopyFrom(whole.resource_spans[0])
    moved.resource.attributes[0].value.string_value = "another-service"
    path = tmp_path / "dd.pb"
    path.write_bytes(whole.SerializeToString())
    expected = flat(whole)
    streamed = [row for chunk in requests_of(path, max_spans=7, max_bytes=20_000) for row in flat(chunk)]
    assert streamed == expected and len(expected) > 100
    with open_stream(path) as f:
        chunks = list(batches(spans(f), 7, 20_000))
    assert all(sum(len(ss.spans) for rs in c.resource_spans for ss in rs.scope_spans) <= 7 for c in chunks)
    assert all(c.ByteSize() < 40_000 for c in chunks)


def test_a_truncated_file_is_an_error_not_a_short_load(tmp_path: Path) -> None:
    body = read_request(SAMPLES / "triage-over-budget.pb.gz").SerializeToString()
    path = tmp_path / "cut.pb"
    path.write_bytes(body[: len(body) // 2])
    with pytest.raises(StreamError, match="not valid OTLP protobuf"), open_stream(path) as f:
        list(spans(f))
