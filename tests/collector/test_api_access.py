"""Query endpoints over HTTP (JSON and Arrow), the bearer token, and gRPC ingest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import pyarrow as pa
import pytest
from collector_helpers import stored_rows
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.server import CollectorServer

PB = {"Content-Type": "application/x-protobuf"}


def test_query_endpoint_answers_json_and_arrow(collector: CollectorServer, client: httpx.Client) -> None:
    t = new_trace_id()
    root = S("root", t, attrs={"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "wf"})
    child = S("chat", t, parent=root.span_id, start_ns=root.start_ns + 10, attrs={"gen_ai.operation.name": "chat"})
    body = request([root, child]).SerializeToString()
    assert client.post(collector.url + "/v1/traces", content=body, headers=PB).status_code == 200

    names = [q["name"] for q in client.get(collector.url + "/api/queries").json()["queries"]]
    assert "trace" in names and "traces" in names
    r = client.get(collector.url + "/api/query/trace", params={"trace_id": t})
    assert r.status_code == 200
    doc = r.json()
    assert doc["query"] == "trace" and doc["truncated"] is False
    name_col = doc["columns"].index("name")
    assert [row[name_col] for row in doc["rows"]] == ["root", "chat"]

    r = client.get(collector.url + "/api/query/trace", params={"trace_id": t, "format": "arrow"})
    assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(r.content).read_all()
    assert table.column("name").to_pylist() == ["root", "chat"]

    assert client.get(collector.url + "/api/query/nope").status_code == 404
    bad = client.get(collector.url + "/api/query/trace", params={"trace_id": t, "format": "xml"})
    assert bad.status_code == 400 and "format 'xml'" in bad.json()["error"]


def test_token_guards_ingest_and_queries_but_not_health(
    start_collector: Callable[..., CollectorServer], client: httpx.Client, db_path: Path
) -> None:
    server = start_collector(token="s3cret")
    body = request([S("x", new_trace_id())]).SerializeToString()
    url = server.url
    r = client.post(url + "/v1/traces", content=body, headers=PB)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.post(url + "/v1/traces", content=body, headers={**PB, "Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid bearer token"
    assert client.get(url + "/api/queries").status_code == 401
    assert client.get(url + "/metrics").status_code == 401
    assert client.get(url + "/health").status_code == 200
    ok = client.post(url + "/v1/traces", content=body, headers={**PB, "Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get(url + "/api/queries", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    server.stop()
    assert stored_rows(db_path, "SELECT name FROM spans") == [("x",)]


def test_grpc_receiver_shares_the_pipeline(start_collector: Callable[..., CollectorServer], db_path: Path) -> None:
    server = start_collector(grpc_port=0, token="tok")
    assert server.grpc_port
    provider = TracerProvider()
    exporter = GrpcExporter(
        endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True, headers={"authorization": "Bearer tok"}
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("grpc-root", attributes={"gen_ai.agent.name": "a"}),
        tracer.start_as_current_span("grpc-child"),
    ):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as denied:
            stub.Export(request([S("nope", new_trace_id())]), timeout=5)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        t = new_trace_id()
        reply = stub.Export(
            request([S("ok", t), S("bad", t, duration_ns=-1)]), timeout=5, metadata=[("authorization", "Bearer tok")]
        )
        assert reply.partial_success.rejected_spans == 1
    server.stop()
    got = stored_rows(db_path, "SELECT name, agent_name FROM spans ORDER BY name")
    assert got == [("grpc-child", "a"), ("grpc-root", "a"), ("ok", None)]


def test_a_busy_port_is_reported_and_the_store_released(
    start_collector: Callable[..., CollectorServer], db_path: Path, tmp_path: Path
) -> None:
    from agentdeck.collector.config import CollectorConfig

    first = start_collector()
    port = int(first.url.rsplit(":", 1)[1])
    second = CollectorServer(CollectorConfig(db_path=str(tmp_path / "other.duckdb"), port=port))
    with pytest.raises(RuntimeError, match=f"could not listen on 127.0.0.1:{port}"):
        second.start()
    CollectorServer(CollectorConfig(db_path=str(tmp_path / "other.duckdb"), port=0)).start().stop()


def test_redaction_settings_apply_before_rows_are_stored(
    start_collector: Callable[..., CollectorServer], db_path: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "ticket"\npattern = "TCK-[0-9]{6}"\nhints = ["TCK-"]\n', encoding="utf-8")
    server = start_collector(redact_pii=True, redact_rules_path=str(rules))
    t = new_trace_id()
    mail = "jane.doe" + "@" + "example.com"
    key = "sk-ant-api03-" + "Q" * 40
    attrs = {"gen_ai.input.messages": f"mail {mail} about TCK-123456 with {key}", "keep": "plain words"}
    body = request([S("llm", t, attrs=attrs)]).SerializeToString()
    assert httpx.post(server.url + "/v1/traces", content=body, headers=PB).status_code == 200
    server.stop()
    ((stored_attrs, messages),) = stored_rows(db_path, "SELECT attributes, input_messages FROM spans")
    for text in (str(stored_attrs), str(messages)):
        assert mail not in text and "TCK-123456" not in text and key not in text
        assert "[REDACTED:ticket]" in text
    assert "plain words" in str(stored_attrs)
