"""One replay as the dashboard and the CLI run it: fork, trace, watch, compare.

`run_replay` runs `agentdeck.engine.replay.fork.replay` with the replay's spans going both to the
collector (like any run) and to an in-process capture, reports each finished span to `on_span` while
it runs, and compares the replay's steps with the original's (given as SpanFacts, read from the
collector; the callers pass the task's first run). A resume in place that would run nothing is
refused with the reason (`NothingToReplay`) rather than recorded as an empty run, and spans the
collector did not accept are counted (`ReplayRun.undelivered_spans`), so a trace id is never printed
for a trace that will not arrive without saying so.
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
from agentdeck.engine.replay.validate import check_prompt_overrides
from agentdeck.engine.telemetry import make_tracer_provider, undelivered
from agentdeck.engine.telemetry import shutdown as shutdown_provider
from agentdeck.engine.workflows import get_workflow


class NothingToReplay(ValueError):
    """Resuming the thread in place would run nothing: its latest checkpoint has nothing left to run."""


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
    undelivered_spans: int = 0  # spans of the replay the collector did not accept (refused or unreachable)

    def to_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.result.thread_id,
            "trace_id": self.result.trace_id,
            "original_trace_id": self.original_trace_id,
            "checkpoint_id": self.checkpoint_id,
            "head_checkpoint_id": self.head_checkpoint_id,
            "outcome": self.result.outcome,
            "detail": self.result.detail,
            "undelivered_spans": self.undelivered_spans,
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
    headers: Mapping[str, str] | None = None,
    serve_recorded: bool = True,
    faults: FaultRates | None = None,
    on_span: Callable[[SpanFacts], None] | None = None,
    workflow: str | None = None,
) -> ReplayRun:
    """Replay and compare. `checkpoint_id=None` resumes the thread in place (only failed tasks re-run).
    `workflow` (a name or MODULE:ATTR) overrides the reference the thread's checkpoints record.

    Spans go to `export_target(endpoint, headers)` (with no endpoint: the OTEL_EXPORTER_OTLP_* variables)."""
    history = checkpoint_tree(checkpoint_db, thread_id, workflow)  # LookupError for an unknown thread
    if checkpoint_id is not None and checkpoint_id not in history.checkpoints:
        raise LookupError(
            f"thread {thread_id} has no checkpoint {checkpoint_id}; its checkpoints: "
            f"{', '.join(sorted(history.checkpoints))}"
        )
    start = history.checkpoints[checkpoint_id] if checkpoint_id else _latest(history)
    check_prompt_overrides(get_workflow(history.workflow), prompt_overrides or {})  # a typo first: it says more
    if checkpoint_id is None and not state_update and not start.next_nodes:
        raise NothingToReplay(
            f"thread {thread_id} has nothing left to run: its latest run went to the end of the workflow (no "
            "step failed there), so resuming it in place would run nothing and change nothing. To try a change, "
            "fork it from one of its checkpoints with an edited prompt or state"
        )
    capture = SpanCapture(on_span)
    tp = make_tracer_provider(endpoint, headers=headers, exporters=[capture])
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
            workflow=workflow,
        )
    finally:
        shutdown_provider(tp)
    lost = undelivered(tp)
    mine = [s for s in capture.spans if s.span_type != "workflow"]
    steps = steps_of(mine)
    after = checkpoint_tree(checkpoint_db, thread_id, workflow)
    written = after.for_trace(result.trace_id)
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
        lost,
    )


def _latest(history: Any) -> Any:
    return max(history.checkpoints.values(), key=lambda c: c.checkpoint_id)
