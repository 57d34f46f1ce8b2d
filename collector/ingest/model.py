"""Decoded OTLP spans: what the decoder hands to the normalizer (no protobuf past this point)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

# A decoded OTLP AnyValue: JSON-shaped (bytes become base64 text).
AttrValue: TypeAlias = "str | bool | int | float | list[AttrValue] | dict[str, AttrValue] | None"
Attributes: TypeAlias = Mapping[str, AttrValue]


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class SpanLink:
    trace_id: str
    span_id: str
    trace_state: str
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class Resource:
    attributes: Attributes
    attributes_json: str  # serialized once per resource, shared by its spans


@dataclass(frozen=True, slots=True)
class DecodedSpan:
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    parent_span_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status_code: str  # UNSET | OK | ERROR
    status_message: str | None
    attributes: Attributes
    events: tuple[SpanEvent, ...]
    links: tuple[SpanLink, ...]
    resource: Resource
    scope_name: str | None
    scope_version: str | None


@dataclass(frozen=True, slots=True)
class DecodedRequest:
    spans: tuple[DecodedSpan, ...]
    rejected: int  # spans refused individually (bad ids, end before start, ...)
    rejections: tuple[str, ...]  # one reason per rejected span (capped), for partial_success

    def error_message(self, limit: int = 5) -> str:
        if not self.rejected:
            return ""
        shown = "; ".join(self.rejections[:limit])
        more = self.rejected - min(len(self.rejections), limit)
        return f"{self.rejected} span(s) rejected: {shown}" + (f" (and {more} more)" if more > 0 else "")
