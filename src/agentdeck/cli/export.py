"""Where the commands that export spans send them, and a check that something answers there.

One rule for `run`, `replay` and `load`: `--collector-url` or `AGENTDECK_COLLECTOR_URL` when given,
else the standard `OTEL_EXPORTER_OTLP_*` variables (as any OTel SDK reads them), else the local
collector's default address. A collector that does not answer is an error before the first task runs,
and spans the exporter had to drop are counted and reported, so nothing is lost without a word.
"""

from __future__ import annotations

import argparse
import os

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider

from agentdeck.cli.main import DEFAULT_COLLECTOR_URL, CliError, collector_token
from agentdeck.engine.telemetry import ExportTarget, export_target, make_tracer_provider, shutdown, undelivered

CHECK_TIMEOUT_S = 5.0
NO_EXPORT_HINT = "start one with `agentdeck collector`, point --collector-url or OTEL_EXPORTER_OTLP_ENDPOINT at one"


def export_endpoint(args: argparse.Namespace) -> str | None:
    """The base URL spans go to, or None when the OTEL_EXPORTER_OTLP_* variables say where."""
    explicit = getattr(args, "collector_url", None) or os.environ.get("AGENTDECK_COLLECTOR_URL")
    if explicit:
        return str(explicit)
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    return DEFAULT_COLLECTOR_URL


def token_headers(args: argparse.Namespace) -> dict[str, str]:
    token = collector_token(args)
    return {"Authorization": f"Bearer {token}"} if token else {}


def target_of(args: argparse.Namespace) -> ExportTarget:
    """The traces URL and headers for this command's flags and environment."""
    target = export_target(export_endpoint(args), token_headers(args))
    assert target is not None  # export_endpoint is None only when an OTEL_* endpoint is set
    return target


def require_collector(target: ExportTarget, *, hint: str = NO_EXPORT_HINT) -> None:
    """CliError unless an OTLP/HTTP receiver accepts an empty export at `target` (any OTLP backend does)."""
    body = ExportTraceServiceRequest().SerializeToString()
    headers = {**target.headers, "Content-Type": "application/x-protobuf"}
    try:
        resp = httpx.post(target.url, content=body, headers=headers, timeout=CHECK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise CliError(f"no collector answers at {target.url} ({type(exc).__name__}): {hint}") from None
    if resp.status_code in (401, 403):
        raise CliError(
            f"the collector at {target.url} refused the export ({resp.status_code}): set AGENTDECK_TOKEN "
            "(or the Authorization header in OTEL_EXPORTER_OTLP_HEADERS)"
        )
    if 400 <= resp.status_code < 500 and resp.status_code != 429:
        raise CliError(f"{target.url} is not an OTLP/HTTP traces endpoint (it answered {resp.status_code})")


def run_provider(args: argparse.Namespace, *, export: bool) -> tuple[TracerProvider, ExportTarget | None]:
    """The tracer provider of a run, exporting to this command's target once a collector answers there."""
    if not export:
        return make_tracer_provider(export=False), None
    target = target_of(args)
    require_collector(target, hint=f"{NO_EXPORT_HINT}, or pass --no-export")
    return make_tracer_provider(export_endpoint(args), headers=token_headers(args)), target


def finish_export(provider: TracerProvider, target: ExportTarget | None, what: str) -> None:
    """Flush and shut down `provider`; CliError when some of its spans never reached `target`."""
    shutdown(provider)
    lost = undelivered(provider)
    if lost and target is not None:
        raise CliError(
            f"{lost} span(s) of {what} could not be delivered to {target.url} (the exporter's log above says "
            "why: unreachable, or refused as too large); the run itself is kept in its checkpoints"
        )
