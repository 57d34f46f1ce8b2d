"""Hand-made OTLP requests (protobuf and OTLP/JSON) for the collector tests."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

Value = str | bool | int | float | list["Value"] | dict[str, "Value"]


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


def any_value(value: Value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        pairs = [KeyValue(key=k, value=any_value(v)) for k, v in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=pairs))
    return AnyValue(string_value=str(value))


def kvs(attrs: Mapping[str, Value]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


@dataclass
class S:
    """One span to send."""

    name: str
    trace_id: str
    span_id: str = field(default_factory=new_span_id)
    parent: str | None = None
    attrs: dict[str, Value] = field(default_factory=dict)
    start_ns: int = field(default_factory=lambda: time.time_ns() - 1_000_000_000)
    duration_ns: int = 250_000_000
    status_code: int = 0
    status_message: str = ""
    kind: int = 1
    events: list[tuple[str, dict[str, Value]]] = field(default_factory=list)

    def proto(self) -> Span:
        return Span(
            trace_id=bytes.fromhex(self.trace_id),
            span_id=bytes.fromhex(self.span_id),
            parent_span_id=bytes.fromhex(self.parent) if self.parent else b"",
            name=self.name,
            kind=self.kind,  # type: ignore[arg-type]
            start_time_unix_nano=self.start_ns,
            end_time_unix_nano=self.start_ns + self.duration_ns,
            attributes=kvs(self.attrs),
            status=Status(code=self.status_code, message=self.status_message),  # type: ignore[arg-type]
            events=[Span.Event(name=n, time_unix_nano=self.start_ns + 1, attributes=kvs(a)) for n, a in self.events],
        )


def request(
    spans: Sequence[S],
    service: str = "test-svc",
    scope: str = "test.scope",
    resource: Mapping[str, Value] | None = None,
) -> ExportTraceServiceRequest:
    res = Resource(attributes=kvs({"service.name": service, **(resource or {})}))
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=res,
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope), spans=[s.proto() for s in spans])],
            )
        ]
    )


def merge(*requests: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    out = ExportTraceServiceRequest()
    for r in requests:
        out.resource_spans.extend(r.resource_spans)
    return out


def to_otlp_json(req: ExportTraceServiceRequest) -> dict[str, object]:
    """OTLP/JSON as a producer sends it: ids as hex (json_format would write base64)."""
    doc = json_format.MessageToDict(req)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64_to_hex(span[key])
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        link[key] = _b64_to_hex(link[key])
    return doc


def _b64_to_hex(value: str) -> str:
    import base64

    return base64.b64decode(value).hex()


def json_body(req: ExportTraceServiceRequest) -> bytes:
    return json.dumps(to_otlp_json(req)).encode()
