"""OpenTelemetry setup for the engine: a real SDK TracerProvider exporting OTLP/HTTP protobuf.

Where spans go follows the OTel convention (`export_target`): an explicit base URL, else
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`,
with `OTEL_EXPORTER_OTLP_HEADERS` sent along. A missing collector never breaks or slows a workflow:
spans leave through a BatchSpanProcessor on a background thread, the exporter gives up after a short
timeout and drops the batch, and shutdown flushes with a bounded wait; what was dropped is counted
(`undelivered`), so a caller can say so. Deterministic ids (for reproducible sample traces) come from
`DeterministicIdGenerator`, which takes the next id from a context variable set by `new_span`.
"""

from __future__ import annotations

import os
import random
import threading
import weakref
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.re import parse_env_headers

from agentdeck.engine.semconv import ENGINE_SCOPE, SERVICE_NAME

EXPORT_TIMEOUT_S = 5.0  # per export, on the exporter thread; shutdown stays bounded by SHUTDOWN_TIMEOUT_MS
SHUTDOWN_TIMEOUT_MS = 3000

_next_trace_id: ContextVar[int | None] = ContextVar("agentdeck_next_trace_id", default=None)
_next_span_id: ContextVar[int | None] = ContextVar("agentdeck_next_span_id", default=None)


class DeterministicIdGenerator(IdGenerator):
    """Uses the id `new_span` announced; random ids for spans started any other way."""

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


@dataclass(frozen=True, slots=True)
class ExportTarget:
    """The full OTLP/HTTP traces URL spans are posted to, and the headers sent with them."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


def export_target(endpoint: str | None = None, headers: Mapping[str, str] | None = None) -> ExportTarget | None:
    """Where spans go: `endpoint` (a base URL), else the standard OTEL_* variables, else nowhere (None).

    As the OTel SDK reads them: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as given,
    `OTEL_EXPORTER_OTLP_ENDPOINT` is a base that gets `v1/traces` appended, and
    `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (else `OTEL_EXPORTER_OTLP_HEADERS`) are sent with every export;
    `headers` are added over them."""
    env_headers = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS")
    merged = {**parse_env_headers(env_headers or "", liberal=True), **(headers or {})}
    if endpoint:
        return ExportTarget(traces_url(endpoint), merged)
    if url := os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ExportTarget(url, merged)
    if base := os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return ExportTarget(base + ("" if base.endswith("/") else "/") + "v1/traces", merged)
    return None


class _Counted(SpanExporter):
    """Passes spans to an exporter and counts those it could not deliver (it drops a failed batch)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:  # an exporter bug must not lose the count
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            with self._lock:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


_EXPORTS: weakref.WeakKeyDictionary[TracerProvider, _Counted] = weakref.WeakKeyDictionary()


def make_tracer_provider(
    endpoint: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    export: bool = True,
    exporters: Sequence[SpanExporter] = (),
    deterministic_ids: bool = False,
    service_name: str = "agentdeck-engine",
) -> TracerProvider:
    """A TracerProvider exporting to `export_target(endpoint, headers)`; `export=False` sends nothing.

    `exporters` are attached with a SimpleSpanProcessor (tests pass an InMemorySpanExporter).
    """
    provider = TracerProvider(
        # The SDK gives each process a random service.instance.id; reproducible runs need a fixed one.
        resource=Resource.create(
            {SERVICE_NAME: service_name, **({"service.instance.id": "deterministic"} if deterministic_ids else {})}
        ),
        id_generator=DeterministicIdGenerator() if deterministic_ids else None,
    )
    target = export_target(endpoint, headers) if export else None
    if target is not None:
        counted = _Counted(OTLPSpanExporter(endpoint=target.url, headers=target.headers, timeout=EXPORT_TIMEOUT_S))
        _EXPORTS[provider] = counted
        provider.add_span_processor(BatchSpanProcessor(counted, export_timeout_millis=int(EXPORT_TIMEOUT_S * 2000)))
    for extra in exporters:
        provider.add_span_processor(SimpleSpanProcessor(extra))
    return provider


def undelivered(provider: TracerProvider) -> int:
    """Spans the provider's OTLP exporter could not deliver so far (0 when it exports nowhere)."""
    counted = _EXPORTS.get(provider)
    return counted.failed if counted is not None else 0


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
