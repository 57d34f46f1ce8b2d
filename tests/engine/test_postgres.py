"""PostgresSaver against a real PostgreSQL server started by the test (Debian's postgresql package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_runs_checkpoint_to_postgres(postgres_url: str, tmp_path: Path) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    summary = run_tasks(
        "triage",
        4,
        seed=3,
        concurrency=2,
        checkpoint_db=postgres_url,
        dead_letter_db=tmp_path / "dlq.sqlite",
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    assert len(summary.tasks) == 4
    with PostgresSaver.from_conn_string(postgres_url) as saver:
        for t in summary.tasks:
            metas = [c.metadata for c in saver.list({"configurable": {"thread_id": t.thread_id}})]
            assert metas and all(m["agentdeck_trace_id"] == t.trace_id for m in metas)
    again = run_tasks(
        "triage",
        4,
        seed=3,
        checkpoint_db=postgres_url,
        dead_letter_db=tmp_path / "dlq.sqlite",
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    assert all(t.from_ledger for t in again.tasks)  # finished tasks are not run twice


def test_postgres_holds_ledger_budget_and_prompts(postgres_url: str) -> None:
    """With only a postgres URL, the task outcomes, budget state and prompt versions live there too."""
    from agentdeck.engine.ledger import Ledger
    from agentdeck.engine.prompts import PromptStore

    summary = run_tasks(
        "triage",
        3,
        seed=4,
        checkpoint_db=postgres_url,
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    with Ledger(postgres_url) as ledger:
        recorded = {r.task_id: r.outcome for r in ledger.tasks()}
        assert recorded == {t.task_id: t.outcome for t in summary.tasks}
        for t in summary.tasks:
            assert ledger.budget_spent(t.task_id) == pytest.approx(t.cost_usd)
            assert t.cost_usd > 0
    with PromptStore(postgres_url) as store:
        saved = store.save("triage", "classifier", "Classify: {ticket}", author="ana", reason="test")
    with PromptStore(postgres_url) as other:  # another process's view: the same version
        assert other.get("triage", "classifier", saved.version).template == "Classify: {ticket}"


def test_budget_state_carries_over_to_the_next_run(postgres_url: str) -> None:
    """A task that already spent its budget in an earlier run (on a worker that died) does not get a
    fresh budget when it runs again: it stops at once as incomplete (budget)."""
    from agentdeck.engine.ledger import Ledger

    with Ledger(postgres_url) as ledger:
        ledger.record_budget("triage-s5-00001", 0.05)
    summary = run_tasks(
        "triage",
        3,
        seed=5,
        budget_usd=0.05,
        checkpoint_db=postgres_url,
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    by_id = {t.task_id: t for t in summary.tasks}
    spent = by_id["triage-s5-00001"]
    assert (spent.outcome, spent.detail) == ("incomplete", "budget")
    assert spent.cost_usd == pytest.approx(0.05)  # what it had spent, nothing more
    assert all(t.outcome != "incomplete" or t.detail != "budget" for i, t in by_id.items() if i != spent.task_id)
