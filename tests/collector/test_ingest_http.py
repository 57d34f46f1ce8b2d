"""OTLP/HTTP ingest on a real collector: encodings, answers, errors, and the stored rows."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_payloads import S, json_body, new_trace_id, request

from agentdeck.collector.server import CollectorServer

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}


def test_sdk_exporter_lands_a_workflow_with_agent_and_cost(collector: CollectorServer, db_path: Path) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "triage-svc"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.url + "/v1/traces")))
    tracer = provider.get_tracer("agentdeck.engine")
    wf_attrs = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "triage"}
    with tracer.start_as_current_span("invoke_workflow triage", attributes=wf_attrs) as wf:
        wf.set_attribute("agentdeck.task.outcome", "success")
        with (
            tracer.start_as_current_span(
                "invoke_agent planner",
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
            ),
            tracer.start_as_current_span(
                "chat claude-sonnet-4-5",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                },
            ),
        ):
            pass
    trace_id = format(wf.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)
    provider.shutdown()
    collector.stop()
    got = stored_rows(
        db_path,
        "SELECT name, span_type, agent_name, workflow_name, outcome, cost_usd, cost_source, service_name "
        "FROM spans WHERE trace_id = ? ORDER BY start_ns",
        [trace_id],
    )
    assert got == [
        ("invoke_workflow triage", "workflow", None, "triage", "success", None, None, "triage-svc"),
        ("invoke_agent planner", "agent", "planner", None, None, None, None, "triage-svc"),
        ("chat claude-sonnet-4-5", "llm", "planner", None, None, pytest.approx(0.0045), "computed", "triage-svc"),
    ]


def test_protobuf_json_and_gzip_bodies_are_answered_in_their_own_encoding(
    collector: CollectorServer, client: httpx.Client, db_path: Path
) -> None:
    t = new_trace_id()
    url = collector.url + "/v1/traces"
    r1 = client.post(url, content=request([S("pb", t)]).SerializeToString(), headers=PB)
    r2 = client.post(url, content=json_body(request([S("js", t)])), headers=JS)
    r3 = client.post(
        url,
        content=gzip.compress(request([S("gz", t)]).SerializeToString()),
        headers={**PB, "Content-Encoding": "gzip"},
    )
    r4 = client.post(
        url, content=gzip.compress(json_body(request([S("gzjs", t)]))), headers={**JS, "Content-Encoding": "gzip"}
    )
    for r in (r1, r3):
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
        assert not ExportTraceServiceResponse.FromString(r.content).HasField("partial_success")
    for r in (r2, r4):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == {}
    collector.stop()
    names = stored_rows(db_path, "SELECT name FROM spans WHERE trace_id = ? ORDER BY name", [t])
    assert names == [("gz",), ("gzjs",), ("js",), ("pb",)]


def test_partial_success_rejects_bad_spans_and_stores_the_rest(
    collector: CollectorServer, client: httpx.Client, db_path: Path
) -> None:
    t = new_trace_id()
    req = request([S("kept", t), S("backwards", t, duration_ns=-1)])
    r = client.post(collector.url + "/v1/traces", content=req.SerializeToString(), headers=PB)
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 1
    assert "'backwards'" in partial.error_message and "before start" in partial.error_message

    doc = json.loads(json_body(request([S("kept-json", t), S("base64-ids", t)])))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "AAECAwQFBgc="
    r = client.post(collector.url + "/v1/traces", content=json.dumps(doc), headers=JS)
    assert r.status_code == 200
    body = r.json()
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "not 16 hex characters" in body["partialSuccess"]["errorMessage"]
    metrics = client.get(collector.url + "/metrics").json()
    assert metrics["spans_rejected"] == {"invalid_span": 2}
    collector.stop()
    assert stored_rows(db_path, "SELECT name FROM spans ORDER BY name") == [("kept",), ("kept-json",)]


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"Content-Type": "text/plain"}, b"hello", 415, "Content-Type text/plain is not supported"),
        ({}, b"hello", 415, "Content-Type (none) is not supported"),
        (PB, b"\x0a\xff\xff\xff\xff\x0f", 400, "not a valid OTLP protobuf ExportTraceServiceRequest"),
        (JS, b"{not json", 400, "not valid JSON"),
        (JS, b'{"resourceSpans": 5}', 400, "does not match ExportTraceServiceRequest"),
        ({**PB, "Content-Encoding": "gzip"}, b"plain", 400, "not valid gzip"),
        ({**PB, "Content-Encoding": "zstd"}, b"x", 415, "Content-Encoding zstd is not supported"),
        ({**PB, "Content-Encoding": "gzip"}, gzip.compress(b"\0" * (8 << 20)), 413, "inflates past the limit"),
        (PB, b"\0" * (2 << 20), 413, "over the limit of 1048576 bytes"),
    ],
)
def test_bad_requests_get_a_status_and_a_message(
    start_collector: Callable[..., CollectorServer],
    client: httpx.Client,
    headers: dict[str, str],
    body: bytes,
    status: int,
    message: str,
) -> None:
    server = start_collector(max_body_bytes=1 << 20)
    r = client.post(server.url + "/v1/traces", content=body, headers=headers)
    assert r.status_code == status
    if r.headers["content-type"] == "application/x-protobuf":
        text = status_pb2.Status.FromString(r.content).message
    else:
        text = r.json()["message"]
    assert message in text
    assert client.get(server.url + "/health").json() == {"status": "ok"}


def test_empty_requests_are_accepted(collector: CollectorServer, client: httpx.Client) -> None:
    url = collector.url + "/v1/traces"
    assert client.post(url, content=b"", headers=PB).status_code == 200
    assert client.post(url, content=b"{}", headers=JS).status_code == 200
    assert client.post(url, content=b'{"resourceSpans": []}', headers=JS).status_code == 200


def test_metrics_report_counts_and_conventions_per_service(collector: CollectorServer, client: httpx.Client) -> None:
    t = new_trace_id()
    oi = request([S("llm", t, attrs={"openinference.span.kind": "LLM"})], service="rag")
    genai = request([S("chat", t, attrs={"gen_ai.operation.name": "chat"})], service="bot")
    url = collector.url + "/v1/traces"
    for _ in range(2):  # the second round is a resend
        client.post(url, content=oi.SerializeToString(), headers=PB)
    client.post(url, content=genai.SerializeToString(), headers=PB)
    client.post(url, content=b"junk", headers=PB)
    m = client.get(collector.url + "/metrics").json()
    assert (m["spans_received"], m["spans_stored"], m["spans_duplicate"]) == (3, 2, 1)
    assert m["conventions"] == {"bot": {"otel_genai": 1}, "rag": {"openinference": 2}}
    assert m["requests_rejected"] == {"undecodable": 1}
    assert m["queue_depth"] == 0


def test_fuzzed_bodies_never_get_a_5xx_and_valid_spans_are_kept(
    collector: CollectorServer, client: httpx.Client, db_path: Path
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    url = collector.url + "/v1/traces"
    valid = request([S("valid", new_trace_id())]).SerializeToString()
    seen: list[int] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.binary(max_size=512) | st.text(max_size=200).map(str.encode),
        st.sampled_from(["application/x-protobuf", "application/json", "text/plain", ""]),
        st.sampled_from([None, "gzip", "identity"]),
    )
    def post(body: bytes, content_type: str, encoding: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        if encoding:
            headers["Content-Encoding"] = encoding
        r = client.post(url, content=body, headers=headers)
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert r.content  # a Status with a message
        seen.append(r.status_code)

    post()
    assert client.post(url, content=valid, headers=PB).status_code == 200
    assert client.get(collector.url + "/health").status_code == 200
    collector.stop()
    assert len(seen) >= 100
    assert ("valid",) in stored_rows(db_path, "SELECT name FROM spans")


def test_a_request_with_more_spans_than_the_queue_holds_is_refused_413(
    start_collector: Callable[..., CollectorServer], client: httpx.Client
) -> None:
    server = start_collector(queue_max_spans=3)
    t = new_trace_id()
    body = request([S(f"s{i}", t) for i in range(4)]).SerializeToString()
    r = client.post(server.url + "/v1/traces", content=body, headers=PB)
    assert r.status_code == 413
    assert "request holds 4 spans, more than the 3" in status_pb2.Status.FromString(r.content).message
    ok = request([S(f"s{i}", t) for i in range(3)]).SerializeToString()
    assert client.post(server.url + "/v1/traces", content=ok, headers=PB).status_code == 200
