"""Each workflow pattern's span tree and its pattern-specific behaviour (fixed seeds, in-memory spans)."""

from __future__ import annotations

import json
from collections.abc import Callable

from engine_helpers import Run, tree

from agentdeck.engine import semconv as sc
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.workflows import WORKFLOWS
from agentdeck.engine.workflows.code_review import MAX_CYCLES
from agentdeck.engine.workflows.content import MAX_ROUNDS

NO_FAULTS = FaultRates()


def test_registry_has_the_six_patterns() -> None:
    assert {w.pattern for w in WORKFLOWS.values()} == {
        "sequential",
        "fan_out",
        "supervisor",
        "graph",
        "critique",
        "event_driven",
    }


def test_due_diligence_fans_out_and_the_memo_survives_a_specialist_timeout(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("due_diligence", 12, seed=1, faults=NO_FAULTS)
    assert run.summary.counts == {"success": 12}
    missing = [t for t in run.summary.tasks if t.result["missing_areas"]]
    assert missing, "long filings should time the legal specialist out"
    task = missing[0]
    assert task.result["missing_areas"] == ["legal"]
    spans = run.trace(task.trace_id)
    root = spans[0]
    specialists = [s for s in spans if s.name.startswith("invoke_agent") and s.name.endswith("_analyst")]
    assert {s.attributes[sc.LANGGRAPH_STEP] for s in specialists} == {1}  # one superstep: parallel
    assert all(s.parent.span_id == root.context.span_id for s in specialists)
    legal = [s for s in specialists if s.name == "invoke_agent legal_analyst"]
    assert [s.attributes[sc.ERROR_TYPE] for s in legal] == ["timeout", "timeout"]  # one retry, then dropped
    assert legal[1].attributes[sc.AD_RETRY_REASON] == "timeout"
    synth = next(s for s in spans if s.name == "invoke_agent synthesis")
    assert synth.start_time >= max(s.end_time for s in specialists)
    prompt = json.loads(
        next(s for s in spans if s.parent and s.parent.span_id == synth.context.span_id).attributes[
            sc.GEN_AI_INPUT_MESSAGES
        ]
    )[0]["parts"][0]["content"]
    assert "Missing areas (no finding): legal" in prompt
    assert root.attributes[sc.AD_TASK_OUTCOME] == "success"


def test_earnings_supervisor_redelegates_and_stops_at_the_depth_limit(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("earnings", 10, seed=2, faults=NO_FAULTS)
    redelegated = [
        t for t in run.summary.tasks if any(e.name == sc.EVENT_DELEGATION for e in run.trace(t.trace_id)[0].events)
    ]
    assert redelegated
    spans = run.trace(redelegated[0].trace_id)
    ev = next(e for e in spans[0].events if e.name == sc.EVENT_DELEGATION)
    topic_agent = ev.attributes[sc.GEN_AI_AGENT_NAME]
    runs = [s for s in spans if s.name == f"invoke_agent {topic_agent}" and s.status.is_ok]
    assert [s.attributes[sc.AD_MODEL_TIER] for s in runs][:2] == ["fast", "balanced"]  # re-delegated one tier up
    assert [s.attributes[sc.AD_DELEGATION_DEPTH] for s in runs][:2] == [0, 1]
    assert tree(spans)[-2:] == ["  invoke_agent report_writer", "    chat claude-opus-4-5"]

    limited = run_workflow("earnings", 10, seed=2, faults=NO_FAULTS, delegation_limit=1)
    stopped = [t for t in limited.summary.tasks if t.outcome == "incomplete"]
    assert stopped and all(t.detail == "delegation_limit" for t in stopped)
    assert {t.task_id for t in stopped} == {t.task_id for t in redelegated}
    assert all(t.result is not None for t in stopped)  # the report is still written


def test_code_review_routes_and_caps_fix_cycles(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("code_review", 30, seed=1, faults=NO_FAULTS)
    by_outcome = run.summary.counts
    assert by_outcome.get("incomplete", 0) >= 1
    for t in run.summary.tasks:
        spans = run.trace(t.trace_id)
        nodes = [
            s.attributes[sc.LANGGRAPH_NODE]
            for s in spans
            if s.name.startswith("invoke_agent") and s.attributes.get(sc.AD_ATTEMPT) == 1
        ]
        reviews, fixes = nodes.count("review"), nodes.count("fix")
        assert 1 <= reviews <= MAX_CYCLES
        cycles = [
            s.attributes[sc.AD_ITERATION]
            for s in spans
            if s.name == "invoke_agent reviewer" and s.attributes.get(sc.AD_ATTEMPT) == 1
        ]
        assert cycles == list(range(1, reviews + 1))
        if t.outcome in ("success", "incomplete"):
            assert fixes == reviews - 1  # every fix is re-reviewed: the retry cycle
        if t.outcome == "incomplete":
            assert t.detail == "review_cycles_exhausted" and reviews == MAX_CYCLES
            assert t.result["verdicts"][-1] == "request_changes"
        if "security" in nodes:
            assert t.result is None or "escalate" in t.result["verdicts"]


def test_content_critique_rounds_cap_and_tiebreaker(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("content", 40, seed=1, faults=NO_FAULTS)
    finals = [t.result for t in run.summary.tasks if t.result]
    tie = [f for f in finals if f["decided_by"] == "tiebreaker"]
    assert tie and any(f["decided_by"] == "approval" for f in finals)
    for t in run.summary.tasks:
        spans = run.trace(t.trace_id)
        writes = [s for s in spans if s.name == "invoke_agent writer" and s.status.is_ok]
        assert 1 <= len(writes) <= MAX_ROUNDS
        assert [s.attributes[sc.AD_ITERATION] for s in writes] == list(range(1, len(writes) + 1))
        if t.result and t.result["decided_by"] == "tiebreaker":
            assert len(writes) == MAX_ROUNDS
            scores: dict[int, int] = {}
            for s in spans:
                if s.name in ("invoke_agent editor", "invoke_agent seo") and s.status.is_ok:
                    out = json.loads(
                        json.loads(
                            next(
                                c
                                for c in spans
                                if c.parent and c.parent.span_id == s.context.span_id and c.name.startswith("chat")
                            ).attributes[sc.GEN_AI_OUTPUT_MESSAGES]
                        )[0]["parts"][0]["content"]
                    )
                    rnd = (s.attributes[sc.LANGGRAPH_STEP] - 2) // 3
                    scores[rnd] = scores.get(rnd, 0) + out["score"]
            best = max(scores.values())
            assert t.result["round"] == min(r for r, v in scores.items() if v == best)


def test_incident_bus_dead_letters_unhandled_events(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("incident", 20, seed=1, faults=NO_FAULTS)
    ledger = Ledger(run.db)
    letters = [d for d in ledger.dead_letters() if d.error_type == "unhandled_event"]
    ledger.close()
    assert letters
    for d in letters:
        task = next(t for t in run.summary.tasks if t.task_id == d.task_id)
        assert d.trace_id == task.trace_id and d.agent is None
        assert json.loads(d.failing_input)["type"] in (
            "metrics.heartbeat_missing",
            "diagnose.network",
            "diagnose.certificate",
        )
        assert d.state_snapshot["incident"]["service"].startswith("svc-")
        root = run.trace(task.trace_id)[0]
        assert any(
            e.name == sc.AD_DEAD_LETTER and e.attributes[sc.ERROR_TYPE] == "unhandled_event" for e in root.events
        )
    ok = next(t for t in run.summary.tasks if t.outcome == "success")
    names = tree(run.trace(ok.trace_id))
    assert names[:3] == ["invoke_workflow incident", "  invoke_agent triager", "    chat claude-haiku-4-5"]
    assert "    execute_tool query_metrics" in names and names[-2] == "  invoke_agent postmortem"


def test_due_diligence_counts_shared_state_conflicts_consistently(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("due_diligence", 8, seed=4, faults=NO_FAULTS, concurrency=4, deterministic_ids=False)
    for t in run.summary.tasks:
        root = run.trace(t.trace_id)[0]
        from_events = sum(e.attributes[sc.AD_STATE_CONFLICTS] for e in root.events if e.name == sc.EVENT_STATE_CONFLICT)
        assert root.attributes[sc.AD_STATE_CONFLICTS] == from_events


def test_due_diligence_dossier_conflicts_when_specialists_finish_together(run_workflow: Callable[..., Run]) -> None:
    from agentdeck.engine.workflows.due_diligence import MERGE_MS

    run = run_workflow("due_diligence", 12, seed=1, faults=NO_FAULTS)
    conflicted = 0
    for t in run.summary.tasks:
        spans = run.trace(t.trace_id)
        root = spans[0]
        events = [e for e in root.events if e.name == sc.EVENT_STATE_CONFLICT]
        assert root.attributes[sc.AD_STATE_CONFLICTS] == sum(e.attributes[sc.AD_STATE_CONFLICTS] for e in events)
        ends = {
            s.attributes[sc.GEN_AI_AGENT_NAME]: s.end_time
            for s in spans
            if s.name.endswith("_analyst") and s.parent and s.parent.span_id == root.context.span_id
        }
        for e in events:  # a conflict needs another specialist merging at the same time
            mine = ends[e.attributes[sc.GEN_AI_AGENT_NAME]]
            assert any(
                abs(mine - other) < MERGE_MS * 1e6
                for name, other in ends.items()
                if name != e.attributes[sc.GEN_AI_AGENT_NAME]
            )
        conflicted += bool(events)
    assert 0 < conflicted < len(run.summary.tasks)
