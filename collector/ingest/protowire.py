"""Salvage the valid spans of an OTLP protobuf request that protobuf refuses as a whole.

protobuf rejects a whole `ExportTraceServiceRequest` when one string anywhere in it is not valid
UTF-8 (or one field is malformed), which would throw away every good span sent with the bad one.
`salvage` walks the request's wire format down to the spans (ResourceSpans -> ScopeSpans -> Span),
parses each span, resource and scope on its own, and rebuilds the request from the parts that
parse; the rest are reported one by one, like the decoder's other per-span rejections. It only runs
after a normal parse failed, so valid requests never pay for it. If the framing itself is broken
(a truncated length, a bad wire type), nothing is salvaged and the caller reports the original error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import DecodeError as ProtoDecodeError
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

_PARSE_ERRORS = (ProtoDecodeError, RecursionError, ValueError)
M = TypeVar("M", bound=Message)
_SPAN_NAME = 5  # Span.name
_TRACE_ID = 1  # Span.trace_id


class Malformed(ValueError):
    """The wire framing is broken: no part of the request can be trusted."""


@dataclass
class Salvaged:
    request: ExportTraceServiceRequest
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise Malformed("a varint runs past the end of its message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, bytes | None]]:
    """(field number, bytes of a length-delimited field, or None for other wire types) in order."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed("field number 0")
        if wire == 0:
            _, pos = _varint(buf, pos)
            yield number, None
        elif wire == 1:
            pos += 8
            yield number, None
        elif wire == 5:
            pos += 4
            yield number, None
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise Malformed("a length-delimited field runs past the end of its message")
            yield number, buf[pos : pos + size]
            pos += size
        else:
            raise Malformed(f"wire type {wire} (groups are not used by OTLP)")
        if pos > len(buf):
            raise Malformed("a fixed-size field runs past the end of its message")


def _span_label(raw: bytes) -> str:
    """What the rejection reason calls a span that does not parse: its name, read leniently."""
    name = trace = None
    try:
        for number, value in fields(raw):
            if number == _SPAN_NAME and value is not None:
                name = value.decode("utf-8", "replace")[:80]
            elif number == _TRACE_ID and value is not None:
                trace = value.hex()
    except Malformed:
        pass
    return f"span {name!r}" + (f" of trace {trace}" if trace else "") if name is not None else "a span"


def _parse(message_type: type[M], raw: bytes) -> M | None:
    try:
        return message_type.FromString(raw)
    except _PARSE_ERRORS:
        return None


def salvage(data: bytes, max_reasons: int) -> Salvaged:
    """The request rebuilt from its parts that parse; raises `Malformed` if the framing is broken."""
    out = Salvaged(ExportTraceServiceRequest())

    def reject(raw_spans: list[bytes], why: str) -> None:
        for raw in raw_spans:
            out.rejected += 1
            if len(out.reasons) < max_reasons:
                out.reasons.append(f"{_span_label(raw)}: {why}")

    for number, rs_raw in fields(data):
        if number != 1 or rs_raw is None:
            continue
        resource_raw: bytes | None = None
        scopes: list[tuple[bytes | None, list[bytes]]] = []
        for rs_field, value in fields(rs_raw):
            if rs_field == 1:
                resource_raw = value
            elif rs_field == 2 and value is not None:
                scope_raw: bytes | None = None
                spans: list[bytes] = []
                for ss_field, item in fields(value):
                    if ss_field == 1:
                        scope_raw = item
                    elif ss_field == 2 and item is not None:
                        spans.append(item)
                scopes.append((scope_raw, spans))
        resource = _parse(Resource, resource_raw or b"")
        if resource is None:
            for _, spans in scopes:
                reject(spans, "its resource is not valid protobuf (a string that is not UTF-8?)")
            continue
        rs = ResourceSpans(resource=resource)
        for scope_raw, spans in scopes:
            scope = _parse(InstrumentationScope, scope_raw or b"")
            if scope is None:
                reject(spans, "its instrumentation scope is not valid protobuf (a string that is not UTF-8?)")
                continue
            ss = ScopeSpans(scope=scope)
            for raw in spans:
                span = _parse(Span, raw)
                if span is None:
                    reject([raw], "not a valid OTLP Span (a string that is not UTF-8, or a malformed field)")
                else:
                    ss.spans.append(span)
            rs.scope_spans.append(ss)
        out.request.resource_spans.append(rs)
    return out
