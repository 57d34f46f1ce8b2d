"""One replay as the dashboard and the CLI run it: fork, trace, watch, compare.

`run_replay` runs `agentdeck.engine.replay.fork.replay` with the replay's spans going both to the collector (like
any run) and to an in-process capture, reports each finished agent step to `on_step` while it runs,
and compares the replay's steps with the original's (given as SpanFacts, read from the collector).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentdeck.engine.execution import TaskResult
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.replay.compare import Comparison, SpanFacts, StepRun, compare, facts_from_sdk, steps_of
from agentdeck.engine.replay.fork import replay
from agentdeck.engine.replay.history import checkpoint_tree
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.telemetry import shutdown as shutdown_provider


class SpanCapture(SpanExporter):
    """Keeps a replay's spans and tells `on_span` about each as it ends (engine and adapted graphs)."""

    def __init__(self, on_span: Callable[[SpanFacts], None] | None) -> None:
        self.spans: list[SpanFacts] = []
        self._lock = threading.Lock()
        self._on_span = on_span

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        facts = [facts_from_sdk(s) for s in spans]
        with self._lock:
            self.spans.extend(facts)
        if self._on_span is not None:
            for f in facts:
                self._on_span(f)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ReplayRun:
    result: TaskResult
    original_trace_id: str
    checkpoint_id: str
    head_checkpoint_id: str  # the newest checkpoint of the replay's branch
    steps: list[StepRun]
    comparison: Comparison

    def to_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.result.thread_id,
            "trace_id": self.result.trace_id,
            "original_trace_id": self.original_trace_id,
            "checkpoint_id": self.checkpoint_id,
            "head_checkpoint_id": self.head_checkpoint_id,
            "outcome": self.result.outcome,
            "detail": self.result.detail,
            **self.comparison.to_json(),
        }


def run_replay(
    thread_id: str,
    *,
    checkpoint_db: str | Path,
    original: Sequence[SpanFacts],
    original_trace_id: str,
    original_outcome: str = "",
    checkpoint_id: str | None = None,
    prompt_overrides: Mapping[str, str] | None = None,
    state_update: Mapping[str, Any] | None = None,
    as_node: str | None = None,
    endpoint: str | None = None,
    serve_recorded: bool = True,
    faults: FaultRates | None = None,
    on_span: Callable[[SpanFacts], None] | None = None,
) -> ReplayRun:
    """Replay and compare. `checkpoint_id=None` resumes the thread in place (only failed tasks re-run)."""
    history = checkpoint_tree(checkpoint_db, thread_id)  # LookupError for an unknown thread
    if checkpoint_id is not None and checkpoint_id not in history.checkpoints:
        raise LookupError(
            f"thread {thread_id} has no checkpoint {checkpoint_id}; its checkpoints: "
            f"{', '.join(sorted(history.checkpoints))}"
        )
    capture = SpanCapture(on_span)
    tp = make_tracer_provider(endpoint, exporters=[capture])
    try:
        result = replay(
            thread_id,
            checkpoint_db=checkpoint_db,
            checkpoint_id=checkpoint_id,
            prompt_overrides=prompt_overrides,
            state_update=state_update,
            as_node=as_node,
            tracer_provider=tp,
            serve_recorded=serve_recorded,
            faults=faults if faults is not None else FaultRates(),
        )
    finally:
        shutdown_provider(tp)
    mine = [s for s in capture.spans if s.span_type != "workflow"]
    steps = steps_of(mine)
    after = checkpoint_tree(checkpoint_db, thread_id)
    written = after.for_trace(result.trace_id)
    start = history.checkpoints[checkpoint_id] if checkpoint_id else _latest(history)
    from_step = start.step + 1
    comparison = compare(
        steps_of(original), steps, from_step=from_step, original_outcome=original_outcome, replay_outcome=result.outcome
    )
    return ReplayRun(
        result,
        original_trace_id,
        start.checkpoint_id,
        written[-1].checkpoint_id if written else start.checkpoint_id,
        steps,
        comparison,
    )


def _latest(history: Any) -> Any:
    return max(history.checkpoints.values(), key=lambda c: c.checkpoint_id)
