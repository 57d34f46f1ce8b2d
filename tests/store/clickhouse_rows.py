"""Span rows for the ClickHouse store tests: a trace whose parent lands after its children, and the
anthropic SDK's duplicate span beside an instrumentor's span for the same call."""

from __future__ import annotations

import itertools
import secrets
from typing import Any, Final

from agentdeck.collector.store.schema import SpanRow

T0: Final = 1_700_000_000_000_000_000
MS: Final = 1_000_000
_ids = itertools.count(1)


def trace_id() -> str:
    return secrets.token_hex(16)


def row(trace: str, *, parent: str | None = None, start_ms: float = 0, **kw: Any) -> SpanRow:
    start = T0 + int(start_ms * MS)
    base: dict[str, Any] = dict.fromkeys(SpanRow._fields)
    base.update(
        trace_id=trace,
        span_id=f"{next(_ids):016x}",
        parent_span_id=parent,
        name="span",
        kind="INTERNAL",
        start_ns=start,
        end_ns=start + 10 * MS,
        duration_ms=10.0,
        status_code="OK",
        service_name="svc",
        scope_name="test.scope",
        convention="agentdeck",
        span_type="other",
        usage_counted=True,
        attributes="{}",
        resource_attributes="{}",
        events="[]",
        links="[]",
        received_ns=start,
    )
    base.update(kw)
    return SpanRow(**base)
