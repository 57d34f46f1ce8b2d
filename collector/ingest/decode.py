"""OTLP/HTTP bodies -> `DecodedRequest`: pure functions, the only place that touches protobuf.

Handles `application/x-protobuf` and `application/json` (OTLP/JSON: hex ids, converted to base64
before `json_format` reads them), `Content-Encoding: gzip` with a size cap that applies after
decompression (streamed, so a gzip bomb cannot exhaust memory). Whole-request problems raise an
`IngestError` subclass; individually invalid spans (bad ids or timestamps, absurd token counts or
costs: `usage.usage_problem`) are counted in `DecodedRequest.rejected`.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtoDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from agentdeck.collector.ingest.errors import DecodeError, PayloadTooLarge, UnsupportedMediaType
from agentdeck.collector.ingest.model import AttrValue, DecodedRequest, DecodedSpan, Resource, SpanEvent, SpanLink
from agentdeck.collector.ingest.protowire import Malformed, salvage
from agentdeck.collector.ingest.usage import usage_problem

MAX_VALUE_DEPTH = 32  # nested AnyValue arrays/kvlists deeper than this are kept as a marker string
MAX_REASONS = 20
_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS = ("UNSET", "OK", "ERROR")
_CHUNK = 256 * 1024


class Encoding(Enum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


def media_type(content_type: str | None) -> Encoding:
    """The OTLP encoding named by a Content-Type header, or 415."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in ("application/x-protobuf", "application/protobuf"):
        return Encoding.PROTOBUF
    if base == "application/json":
        return Encoding.JSON
    shown = base or "(none)"
    raise UnsupportedMediaType(
        f"Content-Type {shown} is not supported: send application/x-protobuf or application/json"
    )


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The body after Content-Encoding, refusing (413) anything larger than `max_bytes` once inflated."""
    enc = (content_encoding or "identity").strip().lower()
    if enc in ("identity", ""):
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"body is {len(body)} bytes, over the limit of {max_bytes} bytes")
        return body
    if enc != "gzip":
        raise UnsupportedMediaType(f"Content-Encoding {enc} is not supported: use gzip or none")
    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data, pos = body, 0
    try:
        while True:
            if inflater.unconsumed_tail:
                chunk = inflater.unconsumed_tail
            elif pos < len(data):
                chunk = data[pos : pos + _CHUNK]
                pos += len(chunk)
            else:
                break
            out += inflater.decompress(chunk, max_bytes - len(out) + 1)
            if len(out) > max_bytes:
                raise PayloadTooLarge(f"gzip body inflates past the limit of {max_bytes} bytes")
            if inflater.eof:  # a gzip file may hold several members, one after another
                data, pos = inflater.unused_data + data[pos:], 0
                if not data:
                    break
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise DecodeError(f"body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise DecodeError("gzip body is truncated (the compressed stream ends early)")
    return bytes(out)


def decode_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_bytes: int,
    max_spans: int | None = None,
) -> tuple[Encoding, DecodedRequest]:
    """Decode one OTLP/HTTP export body. Raises only `IngestError` subclasses."""
    encoding = media_type(content_type)
    raw = decompress(body, content_encoding, max_bytes)
    if encoding is Encoding.PROTOBUF:
        return encoding, decode_protobuf(raw, max_spans)
    return encoding, decode_json(raw, max_spans)


def decode_protobuf(data: bytes, max_spans: int | None = None) -> DecodedRequest:
    """A protobuf body; when protobuf refuses it whole (one string that is not UTF-8 is enough), the
    spans that parse on their own are kept and the others rejected one by one (`salvage`)."""
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except (ProtoDecodeError, RecursionError, ValueError) as exc:
        message = f"body is not a valid OTLP protobuf ExportTraceServiceRequest: {exc}"
        try:
            part = salvage(data, MAX_REASONS)
        except (Malformed, RecursionError):
            raise DecodeError(message) from None
        if not part.rejected:  # nothing to blame on single spans: the request itself is broken
            raise DecodeError(message) from None
        return _with_rejections(from_proto(part.request, max_spans), part.rejected, part.reasons)
    return from_proto(request, max_spans)


def decode_json(data: bytes, max_spans: int | None = None) -> DecodedRequest:
    request, rejected, reasons = json_request(data)
    return _with_rejections(from_proto(request, max_spans), rejected, reasons)


def _with_rejections(decoded: DecodedRequest, rejected: int, reasons: Sequence[str]) -> DecodedRequest:
    """`decoded` plus spans rejected before it was made (their reasons first)."""
    return DecodedRequest(
        spans=decoded.spans,
        rejected=decoded.rejected + rejected,
        rejections=(tuple(reasons) + decoded.rejections)[:MAX_REASONS],
    )


def json_request(data: bytes) -> tuple[ExportTraceServiceRequest, int, tuple[str, ...]]:
    """An OTLP/JSON body as the protobuf request it stands for (hex ids converted), with the number
    of spans that could not be read and why. Raises DecodeError when the body as a whole is unusable."""
    try:
        doc = json.loads(data)
    except UnicodeDecodeError as exc:
        raise DecodeError(f"OTLP/JSON body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, col {exc.colno}"
        raise DecodeError(f"OTLP/JSON body is not valid JSON: {exc.msg} ({where})") from None
    except RecursionError:
        raise DecodeError("OTLP/JSON body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise DecodeError("OTLP/JSON body must be an object with a resourceSpans list")
    reasons: list[str] = []
    rejected = _hex_ids_to_base64(doc, reasons)
    request, unreadable = _parse_json_request(doc, reasons)
    return request, rejected + unreadable, tuple(reasons)


_PARSE_ERRORS = (json_format.ParseError, RecursionError, ValueError, TypeError, AttributeError)


def _parse_json_request(doc: dict[str, Any], reasons: list[str]) -> tuple[ExportTraceServiceRequest, int]:
    """Parse span by span, so one span json_format cannot read (a negative timestamp, an int64
    overflow, a lone surrogate) is rejected alone instead of sinking the request."""
    request = ExportTraceServiceRequest()
    rejected = 0
    resource_spans = doc.get("resourceSpans")
    if resource_spans is None:
        return request, 0
    if not isinstance(resource_spans, list):
        raise DecodeError("OTLP/JSON body does not match ExportTraceServiceRequest: resourceSpans must be a list")
    for rs in resource_spans:
        out_rs = request.resource_spans.add()
        _parse_part(rs, "scopeSpans", out_rs, "a resourceSpans entry")
        for ss in rs.get("scopeSpans") or []:
            out_ss = out_rs.scope_spans.add()
            _parse_part(ss, "spans", out_ss, "a scopeSpans entry")
            for span in ss.get("spans") or []:
                parsed = Span()
                try:
                    if not isinstance(span, dict):
                        raise TypeError("a span must be an object")
                    json_format.ParseDict(span, parsed, ignore_unknown_fields=True)
                except _PARSE_ERRORS as exc:
                    rejected += 1
                    if len(reasons) < MAX_REASONS:
                        name = str(span.get("name", ""))[:80] if isinstance(span, dict) else ""
                        reasons.append(f"span {name!r}: cannot be read: {str(exc)[:300]}")
                    continue
                out_ss.spans.append(parsed)
    return request, rejected


def _parse_part(obj: object, children: str, out: Any, what: str) -> None:
    """Parse one level of the request (resource or scope) without its children list."""
    if not isinstance(obj, dict) or not isinstance(obj.get(children) or [], list):
        raise DecodeError(
            f"OTLP/JSON body does not match ExportTraceServiceRequest: {what} must be an object "
            f"whose {children} is a list"
        )
    try:
        json_format.ParseDict({k: v for k, v in obj.items() if k != children}, out, ignore_unknown_fields=True)
    except _PARSE_ERRORS as exc:
        raise DecodeError(f"OTLP/JSON body does not match ExportTraceServiceRequest: {what}: {exc}") from None


# --- OTLP/JSON ids ---------------------------------------------------------------------------


def _hex_ids_to_base64(doc: dict[str, Any], reasons: list[str]) -> int:
    """Rewrite hex ids as base64 in place (json_format reads bytes as base64); drop bad spans."""
    rejected = 0
    for rs in _dicts(doc.get("resourceSpans")):
        for ss in _dicts(rs.get("scopeSpans")):
            spans = ss.get("spans")
            if not isinstance(spans, list):
                continue
            kept: list[Any] = []
            for span in spans:
                if not isinstance(span, dict):
                    kept.append(span)  # json_format reports the type error for the whole request
                    continue
                problem = _convert_span_ids(span)
                if problem is None:
                    kept.append(span)
                else:
                    rejected += 1
                    if len(reasons) < MAX_REASONS:
                        reasons.append(f"span {str(span.get('name', ''))[:80]!r}: {problem}")
            ss["spans"] = kept
    return rejected


def _convert_span_ids(span: dict[str, Any]) -> str | None:
    for key, size, required in (("traceId", 16, True), ("spanId", 8, True), ("parentSpanId", 8, False)):
        problem = _convert_id(span, key, size, required)
        if problem:
            return problem
    links = span.get("links")
    if isinstance(links, list):
        for link in links:
            if isinstance(link, dict):
                for key, size in (("traceId", 16), ("spanId", 8)):
                    problem = _convert_id(link, key, size, True)
                    if problem:
                        return f"link {problem}"
    return None


def _convert_id(obj: dict[str, Any], key: str, size: int, required: bool) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            return f"{key} is missing"
        obj.pop(key, None)
        return None
    if not isinstance(value, str):
        return f"{key} must be a hex string"
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        return f"{key} {value[:48]!r} is not {size * 2} hex characters (OTLP/JSON ids are hex, not base64)"
    obj[key] = base64.b64encode(raw).decode("ascii")
    return None


def _dicts(value: object) -> Iterable[dict[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


# --- protobuf -> model -----------------------------------------------------------------------


def from_proto(request: ExportTraceServiceRequest, max_spans: int | None = None) -> DecodedRequest:
    """Model objects for every valid span; refuses (413) a request holding more than `max_spans`."""
    if max_spans is not None:
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        if count > max_spans:
            raise PayloadTooLarge(
                f"request holds {count} spans, more than the {max_spans} this collector queues: send smaller batches"
            )
    spans: list[DecodedSpan] = []
    reasons: list[str] = []
    rejected = 0
    for rs in request.resource_spans:
        resource = _resource(rs)
        for ss in rs.scope_spans:
            scope_name = ss.scope.name or None
            scope_version = ss.scope.version or None
            for span in ss.spans:
                problem = _span_problem(span)
                decoded = None if problem else _span(span, resource, scope_name, scope_version)
                if decoded is not None:
                    problem = usage_problem(decoded.attributes)
                if problem is not None or decoded is None:
                    rejected += 1
                    if len(reasons) < MAX_REASONS:
                        reasons.append(f"span {span.name[:80]!r}: {problem}")
                    continue
                spans.append(decoded)
    return DecodedRequest(spans=tuple(spans), rejected=rejected, rejections=tuple(reasons))


def _resource(rs: ResourceSpans) -> Resource:
    attrs = attributes(rs.resource.attributes)
    return Resource(attributes=attrs, attributes_json=to_json(attrs))


def _span_problem(span: Span) -> str | None:
    if len(span.trace_id) != 16:
        return f"trace_id must be 16 bytes, got {len(span.trace_id)}"
    if not any(span.trace_id):
        return "trace_id is all zeros"
    if len(span.span_id) != 8:
        return f"span_id must be 8 bytes, got {len(span.span_id)}"
    if not any(span.span_id):
        return "span_id is all zeros"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"parent_span_id must be 8 bytes or empty, got {len(span.parent_span_id)}"
    if span.start_time_unix_nano == 0:
        return "start_time_unix_nano is missing"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "end_time_unix_nano is before start_time_unix_nano"
    if span.start_time_unix_nano >= 2**63 or span.end_time_unix_nano >= 2**63:
        return "timestamp is out of range"
    for link in span.links:
        if len(link.trace_id) != 16 or len(link.span_id) != 8:
            return "a link has a trace_id/span_id of the wrong length"
    return None


def _span(span: Span, resource: Resource, scope_name: str | None, scope_version: str | None) -> DecodedSpan:
    parent = span.parent_span_id.hex() if span.parent_span_id and any(span.parent_span_id) else None
    kind = _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "UNSPECIFIED"
    code = _STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else "UNSET"
    return DecodedSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent,
        name=span.name,
        kind=kind,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        status_code=code,
        status_message=span.status.message or None,
        attributes=attributes(span.attributes),
        events=tuple(
            SpanEvent(name=e.name, time_ns=e.time_unix_nano, attributes=attributes(e.attributes)) for e in span.events
        ),
        links=tuple(
            SpanLink(
                trace_id=link.trace_id.hex(),
                span_id=link.span_id.hex(),
                trace_state=link.trace_state,
                attributes=attributes(link.attributes),
            )
            for link in span.links
        ),
        resource=resource,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def attributes(kvs: Iterable[KeyValue]) -> dict[str, AttrValue]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def any_value(value: AnyValue, depth: int = 0) -> AttrValue:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "bool_value":
        return value.bool_value
    if which == "double_value":
        d = value.double_value
        return d if math.isfinite(d) else str(d)
    if which is None:
        return None
    if depth >= MAX_VALUE_DEPTH:
        return "<nested too deep>"
    if which == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def to_json(value: object) -> str:
    """Compact JSON text of a decoded value (orjson; the stdlib encoder for what orjson refuses,
    e.g. text holding lone surrogates, so both give the same answer and the same errors)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return _ENCODER.encode(value)
