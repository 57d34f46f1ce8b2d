"""Which span the trace page opens on (issue 13 item 7): the one a link names with `span_id` (alert links),
else the step that stopped the task (a budget stop, what a budget alert is about), else the first
failed step. Through AppTest against a real collector."""

from __future__ import annotations

import time

from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import MS, TraceBuilder, post

STOPPED = "7" * 32
FIRST_FAILURE = STOPPED[:8] + f"{2:08x}"


def budget_stopped_trace() -> TraceBuilder:
    """A task whose classifier fails validation once, then a later step is stopped by the budget."""
    t = TraceBuilder(STOPPED, time.time_ns() - 30_000 * MS)
    w = t.workflow("support_triage", 1000, "incomplete")
    t.agent(w, "classifier", 0, 100, error="1 validation error", error_type="ValidationError")
    t.agent(w, "classifier", 100, 100, attempt=2, reason="validation")
    t.agent(w, "responder", 300, 10, error="task budget of $0.01 spent", error_type="budget_exhausted")
    return t


def _panel_heading(at: object) -> list[str]:
    return [h.value for h in at.subheader]  # type: ignore[attr-defined]


def test_a_budget_stopped_trace_opens_on_the_budget_stop(app: AppRunner, seeded_collector: str) -> None:
    post(seeded_collector, [budget_stopped_trace()])
    at = app("traces", trace_id=STOPPED)
    assert "invoke\\_agent responder" in _panel_heading(at)
    assert any("budget\\_exhausted" in e.value and "budget of" in e.value for e in at.error)


def test_a_span_id_link_wins_and_a_foreign_one_is_said(app: AppRunner, seeded_collector: str) -> None:
    post(seeded_collector, [budget_stopped_trace()])
    at = app("traces", trace_id=STOPPED, span_id=FIRST_FAILURE)
    assert "invoke\\_agent classifier" in _panel_heading(at)
    at = app("traces", trace_id=STOPPED, span_id="f" * 16)
    assert any("is not in this trace" in w.value for w in at.warning)
    assert "invoke\\_agent responder" in _panel_heading(at)
