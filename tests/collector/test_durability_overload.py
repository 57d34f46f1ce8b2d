"""Overload that lasts: the real OTel SDK exporter must still land its spans when the write queue
stays full for longer than a few seconds (a slow disk, a long checkpoint, sustained load).

The OTLP/HTTP exporter of the SDK makes at most 6 attempts and sleeps exactly the Retry-After it is
given between them. A collector that always answered `Retry-After: 1` let an exporter give up after
about 5 s of a full queue, and its batch was lost (bench/soak.py's overload phase lost 2,048 of
165,940 spans that way). The collector now doubles Retry-After with the length of the overload. Here
the queue is held full for 8 s, deterministically: one request fills it and the writer waits
`flush_interval_ms` before committing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.server import CollectorServer

HELD_FULL_MS = 8_000


@pytest.mark.slow
def test_sdk_spans_land_when_the_queue_stays_full_for_8_seconds(
    start_collector: Callable[..., CollectorServer], db_path: Path
) -> None:
    server = start_collector(queue_max_spans=50, batch_max_spans=10_000, flush_interval_ms=HELD_FULL_MS)
    filler = request([S(f"fill{i}", new_trace_id()) for i in range(50)]).SerializeToString()
    answers: list[int] = []

    def fill() -> None:
        with httpx.Client(timeout=60) as client:
            r = client.post(
                server.url + "/v1/traces", content=filler, headers={"Content-Type": "application/x-protobuf"}
            )
            answers.append(r.status_code)

    holder = threading.Thread(target=fill)
    holder.start()
    with httpx.Client(timeout=10) as client:  # wait until the filler is queued (bounded poll)
        for _ in range(500):
            if client.get(server.url + "/metrics").json()["queue_depth"] >= 50:
                break
            threading.Event().wait(0.01)
        else:
            pytest.fail("the filler request never reached the queue")

    provider = TracerProvider(resource=Resource.create({"service.name": "patient"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces", timeout=60)))
    with provider.get_tracer("t").start_as_current_span("must-land"):
        pass  # SimpleSpanProcessor exports (and retries) right here
    provider.shutdown()
    holder.join(60)
    rejected = httpx.get(server.url + "/metrics").json()["requests_rejected"]
    server.stop()

    assert answers == [200]
    assert rejected.get("overloaded", 0) >= 1, "the exporter never met the full queue"
    assert stored_rows(db_path, "SELECT count(*) FROM spans WHERE name = 'must-land'") == [(1,)]


def test_retry_after_grows_with_the_overload_and_is_capped() -> None:
    from agentdeck.collector.ingest.writer import MAX_RETRY_AFTER_S, retry_after_s

    waits = [retry_after_s(t) for t in (0.0, 0.4, 1.0, 3.0, 9.0, 600.0)]
    assert waits == [1, 1, 2, 6, 18, MAX_RETRY_AFTER_S]
