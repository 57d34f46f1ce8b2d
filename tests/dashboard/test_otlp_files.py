"""OTLP file handling used by `agentdeck load` and the demo: reading, re-timing and splitting."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.cli.otlp_files import LoadError, find_files, latest_end_ns, read_request, shift, span_count, split
from tests.collector.otlp_payloads import json_body


def make_request(n_traces: int = 5, spans_per_trace: int = 4) -> ExportTraceServiceRequest:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "files-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for scope in ("scope.a", "scope.b"):
        tracer = provider.get_tracer(scope)
        for t in range(n_traces):
            with tracer.start_as_current_span(f"root {t}"):
                for c in range(spans_per_trace - 1):
                    with tracer.start_as_current_span(f"child {c}") as span:
                        span.add_event("tick")
    provider.shutdown()
    return encode_spans(exporter.get_finished_spans())


def all_spans(req: ExportTraceServiceRequest) -> list[tuple[str, str, bytes]]:
    return sorted(
        (rs.resource.attributes[0].value.string_value, ss.scope.name, s.span_id)
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    )


def test_split_keeps_every_span_with_its_resource_and_scope() -> None:
    req = make_request()
    assert span_count(req) == 40
    chunks = list(split(req, 7))
    assert all(span_count(c) <= 7 for c in chunks)
    assert sum(span_count(c) for c in chunks) == 40
    merged = ExportTraceServiceRequest()
    for c in chunks:
        merged.resource_spans.extend(c.resource_spans)
    assert all_spans(merged) == all_spans(req)


def test_shift_moves_spans_and_events_together() -> None:
    req = make_request(1, 2)
    before = [
        (s.start_time_unix_nano, s.end_time_unix_nano, [e.time_unix_nano for e in s.events])
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    end = latest_end_ns([req])
    shift(req, 10**12)
    after = [
        (s.start_time_unix_nano, s.end_time_unix_nano, [e.time_unix_nano for e in s.events])
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    assert latest_end_ns([req]) == end + 10**12
    for (s0, e0, ev0), (s1, e1, ev1) in zip(before, after, strict=True):
        assert (s1 - s0, e1 - e0) == (10**12, 10**12)
        assert [b - a for a, b in zip(ev0, ev1, strict=True)] == [10**12] * len(ev0)


def test_read_plain_and_gzipped_protobuf(tmp_path: Path) -> None:
    req = make_request(2, 2)
    (tmp_path / "a.pb").write_bytes(req.SerializeToString())
    (tmp_path / "b.pb.gz").write_bytes(gzip.compress(req.SerializeToString()))
    (tmp_path / "notes.txt").write_text("not a trace file")
    files = find_files([tmp_path])
    assert [f.name for f in files] == ["a.pb", "b.pb.gz"]
    for f in files:
        assert all_spans(read_request(f)) == all_spans(req)


def test_bad_files_get_messages_that_say_what_is_wrong(tmp_path: Path) -> None:
    bad_pb = tmp_path / "bad.pb"
    bad_pb.write_bytes(b"\xff\xff\xff not protobuf")
    with pytest.raises(LoadError, match="not valid OTLP protobuf"):
        read_request(bad_pb)
    bad_gz = tmp_path / "bad.pb.gz"
    bad_gz.write_bytes(b"plain bytes")
    with pytest.raises(LoadError, match="not valid gzip"):
        read_request(bad_gz)
    with pytest.raises(LoadError, match="unknown file type"):
        read_request(tmp_path / "trace.csv")
    with pytest.raises(LoadError, match="no such file"):
        find_files([tmp_path / "missing.pb"])


def test_json_files_read_like_protobuf_ones(tmp_path: Path) -> None:
    req = make_request(3, 3)
    (tmp_path / "a.json").write_bytes(json_body(req))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(json_body(req)))
    for name in ("a.json", "b.json.gz"):
        assert all_spans(read_request(tmp_path / name)) == all_spans(req)
    (tmp_path / "bad.json").write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}')
    with pytest.raises(LoadError, match="1 span"):
        read_request(tmp_path / "bad.json")


def test_agentdeck_load_sends_json_and_protobuf_files_to_a_collector(tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer

    pb, js = make_request(2, 3), make_request(2, 3)
    (tmp_path / "one.pb").write_bytes(pb.SerializeToString())
    (tmp_path / "two.json").write_bytes(json_body(js))
    with CollectorServer(CollectorConfig(db_path=tmp_path / "s.duckdb", host="127.0.0.1", port=0)) as server:
        out = subprocess.run(
            [sys.executable, "-m", "agentdeck", "load", str(tmp_path), "--collector-url", server.url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "loaded 24 spans from 2 files" in out.stdout
        body = httpx.get(f"{server.url}/api/query/traces", params={"start_ns": 0, "limit": 100}).json()
        counts = sorted(row[body["columns"].index("span_count")] for row in body["rows"])
        assert counts == [3] * 8
