"""OpenTelemetry setup for the engine: a real SDK TracerProvider exporting OTLP/HTTP protobuf.

A missing collector never breaks or slows a workflow: spans leave through a BatchSpanProcessor on a
background thread, the exporter gives up after a short timeout and drops the batch, and shutdown
flushes with a bounded wait. Deterministic ids (for reproducible sample traces) come from
`DeterministicIdGenerator`, which takes the next id from a context variable set by `start_span`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, Span, SpanKind

from agentdeck.engine.semconv import ENGINE_SCOPE, SERVICE_NAME

EXPORT_TIMEOUT_S = 5.0  # per export, on the exporter thread; shutdown stays bounded by SHUTDOWN_TIMEOUT_MS
SHUTDOWN_TIMEOUT_MS = 3000

_next_trace_id: ContextVar[int | None] = ContextVar("agentdeck_next_trace_id", default=None)
_next_span_id: ContextVar[int | None] = ContextVar("agentdeck_next_span_id", default=None)


class DeterministicIdGenerator(IdGenerator):
    """Uses the id `start_span` announced; random ids for spans started any other way."""

    def __init__(self) -> None:
        self._random = random.Random()

    def generate_span_id(self) -> int:
        wanted = _next_span_id.get()
        return wanted if wanted else self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        wanted = _next_trace_id.get()
        return wanted if wanted else self._random.getrandbits(128) or 1


def traces_url(endpoint: str) -> str:
    """OTLP/HTTP traces URL for a base endpoint (`http://host:4318` -> `.../v1/traces`)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def make_tracer_provider(
    endpoint: str | None = None,
    *,
    exporters: Sequence[SpanExporter] = (),
    deterministic_ids: bool = False,
    service_name: str = "agentdeck-engine",
) -> TracerProvider:
    """A TracerProvider exporting to `endpoint` (default: $OTEL_EXPORTER_OTLP_ENDPOINT, if set).

    `exporters` are attached with a SimpleSpanProcessor (tests pass an InMemorySpanExporter).
    """
    provider = TracerProvider(
        # The SDK gives each process a random service.instance.id; reproducible runs need a fixed one.
        resource=Resource.create(
            {SERVICE_NAME: service_name, **({"service.instance.id": "deterministic"} if deterministic_ids else {})}
        ),
        id_generator=DeterministicIdGenerator() if deterministic_ids else None,
    )
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint:
        exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=EXPORT_TIMEOUT_S)
        provider.add_span_processor(BatchSpanProcessor(exporter, export_timeout_millis=int(EXPORT_TIMEOUT_S * 2000)))
    for extra in exporters:
        provider.add_span_processor(SimpleSpanProcessor(extra))
    return provider


def shutdown(provider: TracerProvider) -> None:
    """Flush (bounded) and shut down; never raises because a collector is missing."""
    provider.force_flush(timeout_millis=SHUTDOWN_TIMEOUT_MS)
    provider.shutdown()


def release(provider: TracerProvider, owned: bool) -> None:
    """After a run: shut down a provider the run made itself; only flush one the caller passed in
    (the caller keeps using it, e.g. a test's in-memory exporter)."""
    if owned:
        shutdown(provider)
    else:
        provider.force_flush(timeout_millis=SHUTDOWN_TIMEOUT_MS)


def engine_tracer(provider: TracerProvider | None) -> trace.Tracer:
    return (provider or trace.get_tracer_provider()).get_tracer(ENGINE_SCOPE)


def new_span(
    tracer: trace.Tracer,
    name: str,
    *,
    parent: Context | None,
    start_ns: int,
    kind: SpanKind = SpanKind.INTERNAL,
    span_id: int | None = None,
    trace_id: int | None = None,
    links: Sequence[Link] = (),
) -> Span:
    """Start a span at `start_ns` under `parent`; the caller ends it with its own end time.

    `span_id` / `trace_id` are what a DeterministicIdGenerator hands out for this span.
    """
    t1 = _next_span_id.set(span_id)
    t2 = _next_trace_id.set(trace_id)
    try:
        return tracer.start_span(name, context=parent, kind=kind, start_time=start_ns, links=links)
    finally:
        _next_trace_id.reset(t2)
        _next_span_id.reset(t1)
