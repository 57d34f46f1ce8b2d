"""OTLP trace files: read (protobuf or JSON, optionally gzipped), re-time, split, and send to a collector.

Used by `agentdeck load` and by the demo to load sample_traces/. Sending honours the collector's
backpressure: 429/503 answers are retried after their Retry-After, so nothing is dropped.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

SUFFIXES = (".pb", ".pb.gz", ".json", ".json.gz")


class LoadError(Exception):
    """A file that cannot be loaded, or a collector that refused it; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    files: int
    requests: int
    spans_sent: int
    spans_rejected: int


def read_request(path: Path) -> ExportTraceServiceRequest:
    """Parse one OTLP file; the format comes from the name (.pb / .json, optionally .gz)."""
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise LoadError(f"{path}: unknown file type; expected one of {', '.join(SUFFIXES)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror})") from None
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise LoadError(f"{path}: not valid gzip ({exc})") from None
        name = name[:-3]
    if name.endswith(".json"):
        from agentdeck.collector.ingest.decode import json_request
        from agentdeck.collector.ingest.errors import DecodeError

        try:
            request, rejected, reasons = json_request(raw)
        except DecodeError as exc:
            raise LoadError(f"{path}: not valid OTLP/JSON: {exc}") from None
        if rejected:
            raise LoadError(f"{path}: {rejected} span(s) cannot be read: {'; '.join(reasons[:3])}")
        return request
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(raw)
    except Exception as exc:  # protobuf raises DecodeError, a bare Exception subclass
        raise LoadError(f"{path}: not valid OTLP protobuf ({exc})") from None
    return request


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def latest_end_ns(requests: Sequence[ExportTraceServiceRequest]) -> int:
    return max(
        (s.end_time_unix_nano for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans),
        default=0,
    )


def shift(request: ExportTraceServiceRequest, delta_ns: int) -> None:
    """Move every span and event of `request` by `delta_ns`, in place (keeps relative timing)."""
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                span.start_time_unix_nano += delta_ns
                span.end_time_unix_nano += delta_ns
                for event in span.events:
                    event.time_unix_nano += delta_ns


def split(request: ExportTraceServiceRequest, max_spans: int) -> Iterator[ExportTraceServiceRequest]:
    """Chunks of at most `max_spans` spans, each keeping its resource and scope."""
    chunk = ExportTraceServiceRequest()
    count = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            spans = list(ss.spans)
            for i in range(0, len(spans), max_spans):
                part = spans[i : i + max_spans]
                if count and count + len(part) > max_spans:
                    yield chunk
                    chunk, count = ExportTraceServiceRequest(), 0
                out_rs = chunk.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
                out_ss: ScopeSpans = out_rs.scope_spans.add(scope=ss.scope, schema_url=ss.schema_url)
                out_ss.spans.extend(part)
                count += len(part)
    if count:
        yield chunk


def post(
    client: httpx.Client,
    endpoint: str,
    request: ExportTraceServiceRequest,
    *,
    deadline_s: float = 120.0,
) -> int:
    """POST one request as protobuf; retry 429/502/503/504 after Retry-After. Returns spans rejected."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    body = gzip.compress(request.SerializeToString(), compresslevel=1)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    give_up = time.monotonic() + deadline_s
    delay = 0.2
    while True:
        try:
            resp = client.post(endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            if time.monotonic() > give_up:
                raise LoadError(f"cannot reach the collector at {endpoint}: {exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if resp.status_code == 200:
            answer = ExportTraceServiceResponse()
            if resp.content:
                answer.ParseFromString(resp.content)
            return int(answer.partial_success.rejected_spans)
        if resp.status_code in (429, 502, 503, 504) and time.monotonic() < give_up:
            retry_after = resp.headers.get("Retry-After", "")
            time.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit() else delay)
            delay = min(delay * 2, 5.0)
            continue
        raise LoadError(f"the collector answered {resp.status_code} for {endpoint}: {resp.text[:500]}")


def load_files(
    paths: Sequence[Path],
    endpoint: str,
    *,
    shift_to_now: bool = False,
    token: str | None = None,
    max_spans_per_request: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Send OTLP files to `endpoint` (…/v1/traces). With shift_to_now, the newest span ends now."""
    requests = [read_request(p) for p in paths]
    total = sum(span_count(r) for r in requests)
    if shift_to_now and total:
        delta = time.time_ns() - latest_end_ns(requests)
        for r in requests:
            shift(r, delta)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent = rejected = n_requests = 0
    with httpx.Client(timeout=60.0, headers=headers) as client:
        for request in requests:
            for chunk in split(request, max_spans_per_request):
                rejected += post(client, endpoint, chunk)
                n_requests += 1
                sent += span_count(chunk)
                if on_progress:
                    on_progress(sent, total)
    return LoadResult(files=len(paths), requests=n_requests, spans_sent=sent, spans_rejected=rejected)


def find_files(paths: Sequence[Path]) -> list[Path]:
    """Expand directories into the OTLP files inside them, sorted; files are kept as given."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(f for f in p.iterdir() if f.name.lower().endswith(SUFFIXES)))
        elif p.exists():
            found.append(p)
        else:
            raise LoadError(f"{p}: no such file or directory")
    return found
