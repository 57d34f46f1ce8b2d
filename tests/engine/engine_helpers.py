"""Helpers for the engine tests: run a workflow into an in-memory exporter, read the span tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from agentdeck.engine.runner import RunSummary


@dataclass
class Run:
    summary: RunSummary
    spans: list[ReadableSpan]
    db: Path

    def trace(self, trace_id: str) -> list[ReadableSpan]:
        return sorted(
            (s for s in self.spans if format(s.context.trace_id, "032x") == trace_id),
            key=lambda s: (s.start_time, s.context.span_id),
        )

    def task(self, outcome: str) -> Any:
        return next(t for t in self.summary.tasks if t.outcome == outcome)


def tree(spans: list[ReadableSpan]) -> list[str]:
    """The span tree as indented names, children in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for s in spans:
        by_parent.setdefault(s.parent.span_id if s.parent else None, []).append(s)
    out: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for s in sorted(by_parent.get(parent, []), key=lambda x: (x.start_time, x.context.span_id)):
            out.append("  " * depth + s.name)
            walk(s.context.span_id, depth + 1)

    walk(None, 0)
    return out


def snapshot(spans: list[ReadableSpan], *keys: str) -> list[tuple[object, ...]]:
    """The span tree, parents first, children in start order: (indented name, status, *attributes)."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for s in spans:
        by_parent.setdefault(s.parent.span_id if s.parent else None, []).append(s)
    out: list[tuple[object, ...]] = []

    def walk(parent: int | None, depth: int) -> None:
        for s in sorted(by_parent.get(parent, []), key=lambda x: (x.start_time, x.context.span_id)):
            attrs = s.attributes or {}
            out.append(("  " * depth + s.name, s.status.status_code.name, *(attrs.get(k) for k in keys)))
            walk(s.context.span_id, depth + 1)

    walk(None, 0)
    return out
