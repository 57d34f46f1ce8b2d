"""The human review queue: escalation rules (with near misses), the pause at a LangGraph interrupt,
and approve / edit / reject taken by the next run of the same tasks (a restart: new queue, ledger and
checkpointer objects on the same file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import Run
from opentelemetry.sdk.trace import ReadableSpan

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import ReviewRule
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.review import ReviewQueue, escalation_reason, resume_decided
from agentdeck.engine.workflows.triage import Classification


def _answer(confidence: float) -> Classification:
    return Classification(category="billing", priority="high", confidence=confidence)


def test_confidence_below_the_threshold_escalates_and_near_misses_do_not() -> None:
    rule = ReviewRule(confidence_below=0.5)
    assert escalation_reason(rule, _answer(0.49), 0.0) == "confidence 0.49 below 0.5"
    assert escalation_reason(rule, _answer(0.5), 0.0) is None
    assert escalation_reason(rule, _answer(0.51), 0.0) is None


def test_explicit_policy_and_the_90_percent_budget_rule_which_is_off_by_default() -> None:
    assert escalation_reason(ReviewRule(always=True), _answer(0.99), 0.0) == "policy"
    assert escalation_reason(ReviewRule(), _answer(0.99), 0.95) is None
    assert escalation_reason(ReviewRule(at_budget=True), _answer(0.99), 0.89) is None
    assert escalation_reason(ReviewRule(at_budget=True), _answer(0.99), 0.9) == "budget 90% spent"


def _roots(run: Run) -> dict[str, ReadableSpan]:
    return {str((s.attributes or {})[sc.AD_TASK_ID]): s for s in run.spans if s.name.startswith("invoke_workflow")}


def test_waiting_tasks_pause_then_take_approve_edit_and_reject_after_a_restart(
    run_workflow: Callable[..., Run], tmp_path: Path
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    first = run_workflow("support_mcp", 12, checkpoint_db=db)
    waiting = [t for t in first.summary.tasks if t.outcome == sc.STATUS_WAITING_REVIEW]
    assert len(waiting) >= 3
    roots = _roots(first)
    for t in waiting:
        attrs = roots[t.task_id].attributes or {}
        assert attrs[sc.AD_TASK_STATUS] == "waiting_review" and sc.AD_TASK_OUTCOME not in attrs
        (event,) = [e for e in roots[t.task_id].events if e.name == sc.EVENT_REVIEW_REQUESTED]
        assert str((event.attributes or {})[sc.AD_REVIEW_REASON]).startswith("confidence ")
    with Ledger(db) as ledger:
        assert all(ledger.task(t.task_id) is None for t in waiting)  # not finished: the next run resumes them

    with ReviewQueue(db) as queue:
        items = {i.task_id: i for i in queue.items()}
        assert set(items) == {t.task_id for t in waiting}
        approved, edited, rejected = (items[t.task_id] for t in waiting[:3])
        assert approved.inputs["ticket_id"] and approved.proposed["confidence"] < 0.5 and approved.age_s() >= 0
        with pytest.raises(ValueError, match="does not fit classifier's schema Classification: category"):
            queue.approve(edited.id, by="ana", output={**edited.proposed, "category": "weather"})
        queue.approve(approved.id, by="ana")
        new_category = "refund" if edited.proposed["category"] != "refund" else "billing"
        queue.approve(edited.id, by="bob", output={**edited.proposed, "category": new_category})
        queue.reject(rejected.id, by="cy", reason="spam, not a ticket")
        with pytest.raises(ValueError, match="already approved by ana"):
            queue.reject(approved.id, by="cy", reason="late")

    second = run_workflow("support_mcp", 12, checkpoint_db=db)
    outcomes = {t.task_id: t for t in second.summary.tasks}
    assert outcomes[rejected.task_id].outcome == "dead_letter"
    assert outcomes[rejected.task_id].detail == "classifier: rejected"
    for item in (approved, edited):
        assert outcomes[item.task_id].outcome not in ("waiting_review", "failed")
        assert outcomes[item.task_id].resumed
    for item in waiting[3:]:  # undecided: still waiting, and the model was not asked again
        assert outcomes[item.task_id].outcome == "waiting_review"

    reviews = {str((s.attributes or {})[sc.AD_TASK_ID]): s for s in second.spans if s.name == "review classifier"}
    assert set(reviews) == {approved.task_id, edited.task_id, rejected.task_id}
    decided = {t: (a[sc.AD_REVIEW_DECISION], a[sc.AD_REVIEW_BY]) for t, s in reviews.items() if (a := s.attributes)}
    assert decided == {
        approved.task_id: ("approved", "ana"),
        edited.task_id: ("edited", "bob"),
        rejected.task_id: ("rejected", "cy"),
    }
    edited_attrs = reviews[edited.task_id].attributes or {}
    assert json.loads(str(edited_attrs[sc.AD_REVIEW_OUTPUT]))["category"] == new_category
    # the resumed tasks took the decision instead of asking the model again, and research saw the edit
    second_trace = {t: second.trace(outcomes[t].trace_id) for t in (approved.task_id, edited.task_id)}
    for spans in second_trace.values():
        assert not [s for s in spans if s.name.startswith("invoke_agent classifier")]
    research_chat = next(
        s
        for s in second_trace[edited.task_id]
        if s.name.startswith("chat ") and "Research ticket" in str((s.attributes or {})[sc.GEN_AI_INPUT_MESSAGES])
    )
    assert f"({new_category}, " in str((research_chat.attributes or {})[sc.GEN_AI_INPUT_MESSAGES])
    with Ledger(db) as ledger:
        (dead,) = [d for d in ledger.dead_letters() if d.task_id == rejected.task_id]
        assert dead.error_type == "rejected" and dead.error == "rejected by cy: spam, not a ticket"


def test_resume_decided_runs_only_the_tasks_a_reviewer_decided(
    run_workflow: Callable[..., Run], tmp_path: Path
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    run_workflow("support_mcp", 12, checkpoint_db=db)
    with ReviewQueue(db) as queue:
        first, second, *rest = queue.items()
        queue.approve(first.id, by="ana")
    resumed = resume_decided(db, latency_scale=0.0)
    assert [t.task_id for t in resumed] == [first.task_id]
    assert resumed[0].resumed and resumed[0].outcome != "waiting_review"
    assert resume_decided(db, latency_scale=0.0) == []  # taken once
    with ReviewQueue(db) as queue:
        assert {i.id for i in queue.items()} == {second.id, *(i.id for i in rest)}
