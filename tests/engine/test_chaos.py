"""--chaos: faults, tool failures and latency spikes; every task ends accounted for, none overspends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import Run

from agentdeck.engine import semconv as sc
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.providers.simulator import FaultRates


def test_with_chaos_validates_and_spreads_the_rate() -> None:
    base = FaultRates()
    assert base.with_chaos(0.0) == base
    c = base.with_chaos(0.5)
    calls_failing = c.rate_limit + c.server_error + c.timeout + c.malformed_json + c.schema_violation
    assert calls_failing == pytest.approx(0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        base.with_chaos(1.5)


@pytest.mark.parametrize("workflow", ["triage", "due_diligence", "incident"])
def test_every_task_is_accounted_for_under_chaos(run_workflow: Callable[..., Run], workflow: str) -> None:
    budget = 0.03
    n = 24
    run = run_workflow(workflow, n, seed=11, chaos=0.5, budget_usd=budget, concurrency=4, deterministic_ids=False)
    tasks = run.summary.tasks
    assert len(tasks) == n and len({t.task_id for t in tasks}) == n
    assert {t.outcome for t in tasks} <= {"success", "incomplete", "dead_letter"}
    biggest_call = max(s.attributes.get(sc.GEN_AI_USAGE_COST, 0.0) for s in run.spans)
    roots = [s for s in run.spans if s.parent is None]
    assert len(roots) == n
    for t in tasks:
        assert t.cost_usd <= budget + biggest_call
        (root,) = [r for r in roots if r.attributes[sc.AD_TASK_ID] == t.task_id]
        assert root.attributes[sc.AD_TASK_OUTCOME] == t.outcome
    ledger = Ledger(run.db)
    dead = {d.task_id for d in ledger.dead_letters() if d.agent is not None}
    ledger.close()
    assert dead == {t.task_id for t in tasks if t.outcome == "dead_letter"}
    kinds = {s.attributes.get(sc.ERROR_TYPE) for s in run.spans}
    assert {"rate_limit", "server_error", "malformed_output"} <= kinds
    if workflow != "due_diligence":  # the workflows with tools see tool failures
        assert any(s.name.startswith("execute_tool") and not s.status.is_ok for s in run.spans)


def test_no_task_runs_past_its_deadline_under_chaos(run_workflow: Callable[..., Run]) -> None:
    """Timeouts are cut to the time left, and a retry whose backoff would end past the deadline is
    not waited for: the task stops (incomplete, deadline) at its deadline, not one backoff later."""
    deadline_ms = 6_000.0  # tight: most tasks hit it amid rate limits, timeouts and their backoffs
    run = run_workflow("triage", 30, seed=42, chaos=0.5, deadline_ms=deadline_ms)
    roots = [s for s in run.spans if s.parent is None]
    assert len(roots) == 30
    halted = [t for t in run.summary.tasks if t.outcome == "incomplete" and t.detail == "deadline"]
    assert len(halted) >= 5, [(t.outcome, t.detail) for t in run.summary.tasks]
    for root in roots:
        assert root.end_time is not None and root.start_time is not None
        assert (root.end_time - root.start_time) / 1e6 <= deadline_ms * 1.001, root.attributes[sc.AD_TASK_ID]
