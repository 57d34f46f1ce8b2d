"""A full queue answers 503 with Retry-After, and the real OTel SDK exporter's retries land everything."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from collector_helpers import stored_rows
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.server import CollectorServer

PRODUCERS = 6
SPANS_EACH = 5


def test_overload_is_answered_503_with_retry_after_and_sdk_retries_land_everything(
    start_collector: Callable[..., CollectorServer], db_path: Path
) -> None:
    # A tiny queue and a slow flush: concurrent producers must meet a full queue.
    server = start_collector(queue_max_spans=2, batch_max_spans=2, flush_interval_ms=300)

    statuses: list[int] = []
    with httpx.Client(timeout=10) as client:
        body = request([S("probe", new_trace_id())]).SerializeToString()
        barrier = threading.Barrier(4)

        def probe() -> None:
            barrier.wait()
            r = client.post(server.url + "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
            statuses.append(r.status_code)
            if r.status_code == 503:
                assert r.headers["Retry-After"] == "1"
                assert "write queue is full" in r.text

        probes = [threading.Thread(target=probe) for _ in range(4)]
        for p in probes:
            p.start()
        for p in probes:
            p.join()
    assert 503 in statuses and 200 in statuses
    overloaded_before = httpx.get(server.url + "/metrics").json()["requests_rejected"]["overloaded"]

    providers = []
    for i in range(PRODUCERS):
        provider = TracerProvider(resource=Resource.create({"service.name": f"producer-{i}"}))
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces", timeout=30))
        )
        providers.append(provider)

    def produce(provider: TracerProvider) -> None:
        tracer = provider.get_tracer("load")
        for n in range(SPANS_EACH):
            with tracer.start_as_current_span(f"span-{n}"):
                pass

    threads = [threading.Thread(target=produce, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    metrics = httpx.get(server.url + "/metrics").json()
    for p in providers:
        p.shutdown()
    server.stop()
    assert metrics["requests_rejected"]["overloaded"] > overloaded_before, "the producers never met a full queue"
    got = stored_rows(
        db_path, "SELECT service_name, count(*) FROM spans WHERE name LIKE 'span-%' GROUP BY 1 ORDER BY 1"
    )
    assert got == [(f"producer-{i}", SPANS_EACH) for i in range(PRODUCERS)]
