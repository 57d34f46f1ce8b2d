"""Fork semantics, the branch tree, comparisons, cache hits and misses, resume in place, prompt versions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from engine_helpers import Run

from agentdeck.engine.agents import prompt_version_of
from agentdeck.engine.prompts import PromptStore
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.replay.compare import facts_from_sdk
from agentdeck.engine.replay.history import checkpoint_tree, failed_tasks, thread_of_trace
from agentdeck.engine.replay.session import ReplayRun, run_replay
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED, CLASSIFIER_PROMPT_WEAK


def _weak_failure(run_workflow: Callable[..., Run]) -> tuple[Run, object]:
    run = run_workflow("triage", 12, seed=1, faults=FaultRates())
    dead = next(t for t in run.summary.tasks if t.outcome == "dead_letter" and t.detail.startswith("classifier"))
    return run, dead


def _replay(run: Run, task: object, **kwargs: object) -> ReplayRun:
    original = [facts_from_sdk(s) for s in run.trace(task.trace_id)]  # type: ignore[attr-defined]
    return run_replay(
        task.thread_id,
        checkpoint_db=run.db,
        original=original,  # type: ignore[attr-defined]
        original_trace_id=task.trace_id,
        original_outcome=task.outcome,  # type: ignore[attr-defined]
        **kwargs,
    )  # type: ignore[arg-type]


def _rows(db: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(str(db))
    rows = conn.execute(
        "SELECT thread_id, checkpoint_id, parent_checkpoint_id, checkpoint, metadata FROM checkpoints"
        " ORDER BY checkpoint_id"
    ).fetchall()
    conn.close()
    return rows


def test_a_fixed_prompt_forks_a_new_branch_and_leaves_the_original_history_untouched(
    run_workflow: Callable[..., Run],
) -> None:
    run, dead = _weak_failure(run_workflow)
    before = checkpoint_tree(run.db, dead.thread_id)  # type: ignore[attr-defined]
    at = max(before.checkpoints.values(), key=lambda c: c.checkpoint_id)
    assert at.next_nodes == ("classify",) and at.trace_id == dead.trace_id  # type: ignore[attr-defined]
    rows_before = _rows(run.db)

    fixed = _replay(run, dead, checkpoint_id=at.checkpoint_id, prompt_overrides={"classifier": CLASSIFIER_PROMPT_FIXED})

    assert fixed.result.outcome == "success" and fixed.checkpoint_id == at.checkpoint_id
    rows_after = _rows(run.db)
    assert set(rows_before) <= set(rows_after)  # every original checkpoint row is byte-for-byte still there
    after = checkpoint_tree(run.db, dead.thread_id)  # type: ignore[attr-defined]
    branch = after.for_trace(fixed.result.trace_id)
    assert branch and branch[0].parent_id == at.checkpoint_id  # the new branch hangs off the chosen checkpoint
    assert all(c.prompt_overrides == {"classifier": CLASSIFIER_PROMPT_FIXED} for c in branch)
    assert after.prompts_at(branch[-1].checkpoint_id)["classifier"] == CLASSIFIER_PROMPT_FIXED
    assert after.prompts_at(at.checkpoint_id)["classifier"] == CLASSIFIER_PROMPT_WEAK
    assert [t for t, _ in after.runs()] == [dead.trace_id, fixed.result.trace_id]  # type: ignore[attr-defined]
    assert thread_of_trace(run.db, fixed.result.trace_id) == dead.thread_id  # type: ignore[attr-defined]

    c = fixed.comparison
    classify = next(p for p in c.pairs if p.node == "classify")
    assert classify.original is not None and classify.original.status == "failed"
    assert classify.replay is not None and classify.replay.status == "ok"
    assert '"category"' in classify.replay.output and "+" in classify.diff()
    assert [p.node for p in c.pairs] == ["classify", "research", "respond", "review"]
    assert c.original_outcome == "dead_letter" and c.replay_outcome == "success"
    assert c.deltas.steps_failed == -1
    assert c.deltas.cost_usd == pytest.approx(c.replay.cost_usd - c.original.cost_usd)
    assert c.replay.cost_usd == pytest.approx(fixed.result.cost_usd)
    as_json = fixed.to_json()
    assert as_json["trace_id"] == fixed.result.trace_id and as_json["totals"]["delta"]["steps_failed"] == -1


def test_a_second_identical_replay_is_served_from_the_record_tool_steps_included(
    run_workflow: Callable[..., Run],
) -> None:
    run, dead = _weak_failure(run_workflow)
    at = max(
        checkpoint_tree(run.db, dead.thread_id).checkpoints.values(),  # type: ignore[attr-defined]
        key=lambda c: c.checkpoint_id,
    ).checkpoint_id
    fix = {"classifier": CLASSIFIER_PROMPT_FIXED}
    first = _replay(run, dead, checkpoint_id=at, prompt_overrides=fix)
    second = _replay(run, dead, checkpoint_id=at, prompt_overrides=fix)
    fresh = _replay(run, dead, checkpoint_id=at, prompt_overrides=fix, serve_recorded=False)

    served = {s.node: s.served_from_record for s in second.steps}
    # research uses tools: its tool rounds are recorded and served too (the tools run again, unchanged)
    assert served == {"classify": True, "research": True, "respond": True, "review": True}
    assert second.result.cost_usd == 0
    assert all(s.tokens == 0 and s.cost_usd == 0 for s in second.steps if s.served_from_record)
    assert [s.output for s in second.steps] == [s.output for s in first.steps]  # same answers
    assert not any(s.served_from_record for s in first.steps)  # nothing recorded for the new prompt yet: misses
    assert not any(s.served_from_record for s in fresh.steps)  # switched off: every step paid for again
    assert fresh.result.cost_usd == pytest.approx(first.result.cost_usd)
    assert second.result.cost_usd < first.result.cost_usd


def test_resume_in_place_reruns_only_the_failed_step(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 12, seed=1, faults=FaultRates())
    dead = next(t for t in run.summary.tasks if t.detail.startswith("response_senior"))  # failed at step 3
    resumed = _replay(
        run,
        dead,
        checkpoint_id=None,
        prompt_overrides={
            "response": "Reply to {customer}. Cite the order id exactly: {order_id}.",
            "response_senior": "Reply to {customer}. Cite the order id exactly: {order_id}.",
        },
    )
    assert resumed.result.outcome == "success"
    assert [s.node for s in resumed.steps] == ["respond", "review"]  # classify and research were not re-run
    respond = next(p for p in resumed.comparison.pairs if p.node == "respond")
    assert respond.original is not None and respond.original.status == "failed" and respond.replay is not None
    assert respond.replay.status == "ok"


def test_bad_edits_are_refused_with_the_choices(run_workflow: Callable[..., Run]) -> None:
    run, dead = _weak_failure(run_workflow)
    rows = _rows(run.db)
    with pytest.raises(ValueError, match="no agent 'clasifier'; choose one of: classifier, research"):
        _replay(run, dead, prompt_overrides={"clasifier": "x"})
    with pytest.raises(LookupError, match="has no checkpoint nope; its checkpoints: "):
        _replay(run, dead, checkpoint_id="nope")
    with pytest.raises(LookupError, match="no thread missing-thread"):
        run_replay("missing-thread", checkpoint_db=run.db, original=[], original_trace_id="")
    at = max(
        checkpoint_tree(run.db, dead.thread_id).checkpoints.values(),  # type: ignore[attr-defined]
        key=lambda c: c.checkpoint_id,
    ).checkpoint_id
    with pytest.raises(ValueError, match="no field 'classfication'; its fields are: classification"):
        _replay(run, dead, checkpoint_id=at, state_update={"classfication": {}})
    with pytest.raises(ValueError, match="state field ticket: Input should be a valid dictionary"):
        _replay(run, dead, checkpoint_id=at, state_update={"ticket": "not a dict"})
    assert _rows(run.db) == rows  # nothing was written by the refused replays
    assert len(checkpoint_tree(run.db, dead.thread_id).runs()) == 1  # type: ignore[attr-defined]


def test_failed_tasks_lists_the_dead_letters_with_their_agent(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 12, seed=1, faults=FaultRates())
    failed = failed_tasks(run.db)
    expected = {t.task_id for t in run.summary.tasks if t.outcome != "success"}
    assert {f.task_id for f in failed} == expected and expected
    assert {f.dead_letter_agent for f in failed} == {"classifier", "response"}


def test_prompt_versions_are_saved_listed_and_used_by_a_replay(run_workflow: Callable[..., Run]) -> None:
    run, dead = _weak_failure(run_workflow)
    with PromptStore(run.db) as store:
        saved = store.save("triage", "classifier", CLASSIFIER_PROMPT_FIXED, author="ana", reason="use the list")
        with pytest.raises(ValueError, match="already classifier's version v2"):
            store.save("triage", "classifier", CLASSIFIER_PROMPT_FIXED, author="bo", reason="again")
        with pytest.raises(ValueError, match="already classifier's version v1"):
            store.save("triage", "classifier", CLASSIFIER_PROMPT_WEAK, author="bo", reason="revert")
        with pytest.raises(KeyError, match="no agent 'nobody'"):
            store.versions("triage", "nobody")
        versions = store.versions("triage", "classifier")
        assert [(v.version, v.author, v.reason) for v in versions] == [
            ("v1", "built-in", "the workflow's own prompt"),
            ("v2", "ana", "use the list"),
        ]
        overrides = store.overrides("triage", {"classifier": "v2"})
        with pytest.raises(KeyError, match="no prompt version 'v9'; choose one of: v1, v2"):
            store.overrides("triage", {"classifier": "v9"})
    assert saved.version == "v2" and saved.label == prompt_version_of(CLASSIFIER_PROMPT_FIXED)
    replayed = _replay(run, dead, checkpoint_id=None, prompt_overrides=overrides)
    assert replayed.result.outcome == "success"
    classify = next(s for s in replayed.steps if s.node == "classify")
    with PromptStore(run.db) as store:  # the version a run used leads back to the saved version
        used = store.by_label("triage", "classifier", classify.prompt_versions[0])
    assert used is not None and used.version == "v2" and used.author == "ana"
