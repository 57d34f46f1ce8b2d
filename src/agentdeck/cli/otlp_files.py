"""OTLP trace files: read (protobuf or JSON, optionally gzipped), re-time, split, and send to a collector.

Used by `agentdeck load` and by the demo to load sample_traces/. Protobuf files are streamed span by
span (agentdeck.cli.otlp_stream), so memory stays bounded whatever their size; JSON files are read
whole, up to `MAX_JSON_BYTES`. Sending honours the collector's backpressure: 429/503 answers are
retried after their Retry-After, and a collector that does not answer is given up on after
`give_up_s` (30 s by default) with a message, never retried for minutes in silence.
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

from agentdeck.cli.otlp_stream import StreamError, batches, open_stream, read_limited, spans

SUFFIXES = (".pb", ".pb.gz", ".json", ".json.gz")
MAX_JSON_BYTES = 256 << 20
MAX_REQUEST_BYTES = 4 << 20  # well under the collector's default body limit (64 MiB)
GIVE_UP_S = 30.0


class LoadError(Exception):
    """A file that cannot be loaded, or a collector that refused it; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    files: int
    requests: int
    spans_sent: int
    spans_rejected: int


def read_request(path: Path) -> ExportTraceServiceRequest:
    """Parse one OTLP file whole; the format comes from the name (.pb / .json, optionally .gz)."""
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise LoadError(f"{path}: unknown file type; expected one of {', '.join(SUFFIXES)}")
    try:
        raw = read_limited(path, MAX_JSON_BYTES)
    except StreamError as exc:
        raise LoadError(f"{path}: {exc}") from None
    if name.removesuffix(".gz").endswith(".json"):
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


def requests_of(path: Path, max_spans: int, max_bytes: int = MAX_REQUEST_BYTES) -> Iterator[ExportTraceServiceRequest]:
    """The file's spans as requests of bounded size: protobuf streamed, JSON read whole (bounded)."""
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise LoadError(f"{path}: unknown file type; expected one of {', '.join(SUFFIXES)}")
    if name.removesuffix(".gz").endswith(".json"):
        yield from split(read_request(path), max_spans)
        return
    try:
        with open_stream(path) as f:
            yield from batches(spans(f), max_spans, max_bytes)
    except StreamError as exc:
        raise LoadError(f"{path}: {exc}") from None


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
    deadline_s: float = GIVE_UP_S,
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
                raise LoadError(
                    f"no collector answers at {endpoint} after {deadline_s:g} s ({type(exc).__name__}): start one "
                    "with `agentdeck collector`, or pass --collector-url (--give-up-after S waits longer)"
                ) from None
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
    headers: dict[str, str] | None = None,
    max_spans_per_request: int = 2000,
    give_up_s: float = GIVE_UP_S,
    on_progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Send OTLP files to `endpoint` (…/v1/traces). With shift_to_now, the newest span ends now.

    `on_progress(spans sent, spans in all files)`; the total is counted in a first pass only when
    shift_to_now needs one anyway (the newest end time), else it is 0."""
    total = delta = 0
    if shift_to_now:  # a first pass over the streams for the newest end time
        newest = 0
        for path in paths:
            for request in requests_of(path, max_spans_per_request):
                total += span_count(request)
                newest = max(newest, latest_end_ns([request]))
        delta = time.time_ns() - newest if total else 0
    sent = rejected = n_requests = 0
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(min(60.0, max(give_up_s, 1.0)))
    with httpx.Client(timeout=timeout, headers={**(headers or {}), **auth}) as client:
        for path in paths:
            for chunk in requests_of(path, max_spans_per_request):
                if delta:
                    shift(chunk, delta)
                rejected += post(client, endpoint, chunk, deadline_s=give_up_s)
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
        elif p.exists() or p.is_symlink():
            found.append(p)  # a FIFO or device is refused when it is read, with a message
        else:
            raise LoadError(f"{p}: no such file or directory")
    return found
