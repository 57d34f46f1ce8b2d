"""Read OTLP protobuf files as streams, span by span, so `agentdeck load` needs little memory for any size.

Parsing a whole `ExportTraceServiceRequest` holds the file and its parsed form at once (a 3 GB file
took 3.2 GB). Here the wire format is walked from the file down to each span (ResourceSpans ->
ScopeSpans -> Span), only one span's bytes are in memory at a time, and spans are regrouped into
requests of bounded size. A schema URL is carried only when it comes before its spans in the file:
protobuf writes it after them, and attaching it would mean reading each container twice (the
collector does not read schema URLs). Only regular files are opened (a FIFO or a device would block or never
end), and a gzip file may not expand more than `MAX_GZIP_RATIO` times its size (a gzip bomb).
"""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

MAX_GZIP_RATIO = 100  # OTLP protobuf compresses about 10x; a file that expands 100x more is not a trace file
GZIP_SLACK_BYTES = 1 << 20
READ_CHUNK = 1 << 20
_REQUEST_RESOURCE_SPANS = 1  # ExportTraceServiceRequest.resource_spans
_RESOURCE = 1  # ResourceSpans.resource, and ScopeSpans.scope
_SCOPE_SPANS = 2  # ResourceSpans.scope_spans, and ScopeSpans.spans
_SCHEMA_URL = 3


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class StreamError(Exception):
    """The file cannot be read as OTLP protobuf; the message says why (the caller adds the path)."""


def regular_file(path: Path) -> None:
    """StreamError unless `path` is a regular file: a FIFO would block and a device never ends."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise StreamError(f"cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a file"
        )
        raise StreamError(f"is {kind}; give regular .pb/.json files (optionally .gz)")


class _Bounded:
    """A gzip stream that refuses to expand past `limit` bytes."""

    def __init__(self, inner: Readable, limit: int) -> None:
        self.inner, self.limit, self.read_total = inner, limit, 0

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.read_total += len(data)
        if self.read_total > self.limit:
            raise StreamError(f"expands more than {MAX_GZIP_RATIO}x its size (a gzip bomb?); refused")
        return data


@contextmanager
def open_stream(path: Path) -> Iterator[Readable]:
    """The file's bytes, gunzipped when its name ends in .gz, with the expansion bounded."""
    regular_file(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise StreamError(f"cannot read ({exc.strerror})") from None
    with raw:
        if not path.name.lower().endswith(".gz"):
            yield raw
            return
        limit = path.stat().st_size * MAX_GZIP_RATIO + GZIP_SLACK_BYTES
        with gzip.GzipFile(fileobj=raw) as unzipped:
            try:
                yield _Bounded(unzipped, limit)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise StreamError(f"not valid gzip ({exc})") from None


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The whole (gunzipped) file, refused when it is larger than `max_bytes`."""
    with open_stream(path) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise StreamError(f"is larger than {max_bytes >> 20} MiB; only protobuf (.pb) files are streamed")
    return data


class _Wire:
    def __init__(self, f: Readable) -> None:
        self.f, self.pos = f, 0

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise StreamError("not valid OTLP protobuf (the file ends inside a field)")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        while n > 0:
            n -= len(self.read(min(n, READ_CHUNK)))

    def varint(self, *, eof_ok: bool = False) -> int | None:
        result = shift = 0
        while True:
            byte = self.f.read(1)
            if not byte:
                if eof_ok and shift == 0:
                    return None
                raise StreamError("not valid OTLP protobuf (the file ends inside a varint)")
            self.pos += 1
            result |= (byte[0] & 0x7F) << shift
            if not byte[0] & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise StreamError("not valid OTLP protobuf (a varint is too long)")

    def fields(self, end: int | None) -> Iterator[tuple[int, int]]:
        """(field number, length) of each length-delimited field up to `end` (None: end of file); the
        caller reads or skips exactly `length` bytes. Other wire types are skipped."""
        while end is None or self.pos < end:
            key = self.varint(eof_ok=end is None)
            if key is None:
                return
            number, wire = key >> 3, key & 7
            if wire == 2:
                length = self.varint()
                assert length is not None
                yield number, length
            elif wire == 0:
                self.varint()
            elif wire in (1, 5):
                self.skip(8 if wire == 1 else 4)
            else:
                raise StreamError(f"not valid OTLP protobuf (wire type {wire})")
        if end is not None and self.pos != end:
            raise StreamError("not valid OTLP protobuf (a field runs past its message)")


@dataclass(frozen=True, slots=True)
class Origin:
    """The serialized resource and scope a span was sent under (spans are regrouped by them)."""

    resource: bytes
    resource_schema: str
    scope: bytes
    scope_schema: str


def _children(wire: _Wire, end: int) -> Iterator[tuple[bytes, str, int]]:
    """Inside a ResourceSpans or ScopeSpans (they share a shape: field 1 the resource or scope, field 2
    the children, field 3 the schema URL): (field 1's bytes, schema URL, length) for each child, with
    the wire at the child's first byte; the caller reads or skips exactly `length` bytes."""
    head, schema = b"", ""
    for number, length in wire.fields(end):
        if number == _RESOURCE:
            head = wire.read(length)
        elif number == _SCHEMA_URL:
            schema = wire.read(length).decode("utf-8", "replace")
        elif number == _SCOPE_SPANS:
            yield head, schema, length
        else:
            wire.skip(length)


def spans(f: Readable) -> Iterator[tuple[Origin, Span]]:
    """Each span of an ExportTraceServiceRequest stream with its resource and scope, in file order."""
    wire = _Wire(f)
    for number, length in wire.fields(None):
        if number != _REQUEST_RESOURCE_SPANS:
            wire.skip(length)
            continue
        for resource, r_schema, r_len in _children(wire, wire.pos + length):
            for scope, s_schema, s_len in _children(wire, wire.pos + r_len):
                span = Span()
                try:
                    span.ParseFromString(wire.read(s_len))
                except Exception as exc:  # protobuf's DecodeError is a bare Exception subclass
                    raise StreamError(f"not valid OTLP protobuf ({exc})") from None
                yield Origin(resource, r_schema, scope, s_schema), span


def batches(
    stream: Iterator[tuple[Origin, Span]], max_spans: int, max_bytes: int
) -> Iterator[ExportTraceServiceRequest]:
    """Requests of at most `max_spans` spans and about `max_bytes` bytes, spans kept with their origin."""
    request, count, size = ExportTraceServiceRequest(), 0, 0
    last: Origin | None = None
    target = None
    for origin, span in stream:
        span_size = span.ByteSize()
        if count and (count >= max_spans or size + span_size > max_bytes):
            yield request
            request, count, size, last = ExportTraceServiceRequest(), 0, 0, None
        if origin != last:
            rs = request.resource_spans.add(schema_url=origin.resource_schema)
            rs.resource.ParseFromString(origin.resource)
            target = rs.scope_spans.add(schema_url=origin.scope_schema)
            target.scope.ParseFromString(origin.scope)
            last = origin
        assert target is not None
        target.spans.append(span)
        count, size = count + 1, size + span_size
    if count:
        yield request
