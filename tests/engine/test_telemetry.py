"""Real OTLP/HTTP export to a local receiver; a missing collector never breaks a run."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentdeck.engine import semconv as sc
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider, shutdown, traces_url


class Receiver:
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                outer.requests.append(req)
                outer.paths.append(self.path)
                data = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        return [s for r in self.requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_traces_url() -> None:
    assert traces_url("http://h:4318") == "http://h:4318/v1/traces"
    assert traces_url("http://h:4318/v1/traces/") == "http://h:4318/v1/traces"


def test_spans_reach_an_otlp_endpoint(receiver: Receiver, tmp_path: Path) -> None:
    summary = run_tasks(
        "triage",
        3,
        seed=1,
        checkpoint_db=tmp_path / "c.sqlite",
        endpoint=receiver.url,
        latency_scale=0.0,
        faults=FaultRates(),
    )
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    roots = [s for s in spans if not s.parent_span_id]
    assert {s.trace_id.hex() for s in roots} == {t.trace_id for t in summary.tasks}
    resource = receiver.requests[0].resource_spans[0].resource
    assert any(a.key == sc.SERVICE_NAME and a.value.string_value == "agentdeck-engine" for a in resource.attributes)
    scope = receiver.requests[0].resource_spans[0].scope_spans[0].scope
    assert scope.name == sc.ENGINE_SCOPE
    kinds = {s.name.split(" ")[0]: s.kind for s in spans}
    assert kinds["chat"] == 3 and kinds["invoke_agent"] == 1  # CLIENT, INTERNAL


def test_env_endpoint_is_used(receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    run_tasks("triage", 1, seed=2, checkpoint_db=tmp_path / "c.sqlite", latency_scale=0.0)
    assert receiver.spans()


def test_missing_collector_does_not_break_the_run(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = make_tracer_provider(f"http://127.0.0.1:{port}")
    summary = run_tasks(
        "triage",
        4,
        seed=1,
        checkpoint_db=tmp_path / "c.sqlite",
        latency_scale=0.0,
        tracer_provider=provider,
        faults=FaultRates(),
    )
    assert len(summary.tasks) == 4 and {t.outcome for t in summary.tasks} <= {"success", "dead_letter"}
    shutdown(provider)  # bounded flush: drops what it cannot send, never raises
