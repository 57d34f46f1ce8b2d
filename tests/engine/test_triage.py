from __future__ import annotations

import json
from collections.abc import Callable

from engine_helpers import Run, snapshot, tree

from agentdeck.engine import semconv as sc
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import task_id_for
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED, RESPONSE_PROMPT_FIXED

NO_FAULTS = FaultRates()


def test_successful_task_has_the_full_span_tree(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 12, seed=1, faults=NO_FAULTS)
    ok = run.task("success")
    spans = run.trace(ok.trace_id)
    names = tree(spans)
    assert names[0] == "invoke_workflow triage"
    agents = list(dict.fromkeys(n.strip() for n in names if n.startswith("  invoke_agent")))
    assert agents == [
        "invoke_agent classifier",
        "invoke_agent research",
        "invoke_agent response",
        "invoke_agent quality",
    ]
    assert "    execute_tool lookup_order" in names and "    execute_tool search_kb" in names
    root = spans[0]
    assert root.attributes[sc.AD_TASK_OUTCOME] == "success"
    assert root.attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert root.attributes[sc.LANGGRAPH_THREAD_ID] == ok.thread_id
    assert root.attributes[sc.AD_MESSAGES] == ok.messages > 4
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert abs(sum(s.attributes[sc.GEN_AI_USAGE_COST] for s in chats) - ok.cost_usd) < 1e-6
    for chat in chats:
        assert chat.attributes[sc.GEN_AI_PROVIDER_NAME] == "simulated"
        msgs = json.loads(chat.attributes[sc.GEN_AI_INPUT_MESSAGES])
        assert msgs[0]["role"] == "user" and msgs[0]["parts"][0]["type"] == "text"
        assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] >= chat.attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]
    agent = next(s for s in spans if s.name == "invoke_agent research")
    assert agent.attributes[sc.LANGGRAPH_NODE] == "research"
    assert agent.attributes[sc.LANGGRAPH_STEP] == 2
    assert agent.attributes[sc.LANGGRAPH_CHECKPOINT_ID]
    assert agent.attributes[sc.AD_PROMPT_VERSION] == "v3"
    assert agent.attributes[sc.AD_MODEL_TIER] == "balanced"
    # every span ends after it starts and inside its parent
    by_id = {s.context.span_id: s for s in spans}
    for s in spans:
        assert s.end_time >= s.start_time
        if s.parent:
            p = by_id[s.parent.span_id]
            assert p.start_time <= s.start_time and s.end_time <= p.end_time


def test_same_seed_gives_same_ids_and_timestamps(run_workflow: Callable[..., Run]) -> None:
    a = run_workflow("triage", 6, seed=3)
    b = run_workflow("triage", 6, seed=3)

    def key(run: Run) -> list[tuple[object, ...]]:
        return sorted(
            (
                s.context.trace_id,
                s.context.span_id,
                s.name,
                s.start_time,
                s.end_time,
                s.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS),
            )
            for s in run.spans
        )

    assert key(a) == key(b)
    assert key(a) != key(run_workflow("triage", 6, seed=4))


def test_weak_prompt_dead_letters_and_the_fixed_prompt_succeeds(run_workflow: Callable[..., Run]) -> None:
    weak = run_workflow("triage", 30, seed=1, faults=NO_FAULTS)
    dead = [t for t in weak.summary.tasks if t.outcome == "dead_letter" and t.detail.startswith("classifier")]
    assert dead, "the weak classifier prompt should dead-letter some tickets"
    task = dead[0]
    spans = weak.trace(task.trace_id)
    attempts = [s for s in spans if s.name == "invoke_agent classifier"]
    assert [s.attributes[sc.AD_ATTEMPT] for s in attempts] == [1, 2, 3]
    assert [s.attributes.get(sc.AD_RETRY_REASON) for s in attempts] == [None, "validation", "validation"]
    assert all(s.attributes[sc.ERROR_TYPE] == "validation" for s in attempts)
    # the retry carries the failed answer and the validation error into the prompt
    retry_chat = next(s for s in spans if s.parent and s.parent.span_id == attempts[1].context.span_id)
    prompt = json.loads(retry_chat.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
    assert "previous answer was rejected" in prompt and "category" in prompt and "Input should be" in prompt
    first_answer = json.loads(
        next(s for s in spans if s.parent and s.parent.span_id == attempts[0].context.span_id).attributes[
            sc.GEN_AI_OUTPUT_MESSAGES
        ]
    )[0]["parts"][0]["content"]
    assert first_answer in prompt
    # dead letter: state snapshot, failing input, error, trace id
    ledger = Ledger(weak.db)
    (letter,) = ledger.dead_letters(task.task_id)
    ledger.close()
    assert letter.trace_id == task.trace_id and letter.agent == "classifier" and letter.attempts == 3
    assert letter.error_type == "validation" and "category" in letter.error
    assert json.loads(letter.failing_input)["ticket_id"].startswith("T-001-")
    assert letter.state_snapshot["ticket"]["order_id"] == json.loads(letter.failing_input)["order_id"]
    assert letter.checkpoint_id
    root = spans[0]
    assert root.attributes[sc.AD_TASK_OUTCOME] == "dead_letter"
    assert any(e.name == sc.AD_DEAD_LETTER for e in root.events)

    overrides = {"classifier": CLASSIFIER_PROMPT_FIXED}
    fixed = run_workflow("triage", 30, seed=1, faults=NO_FAULTS, prompt_overrides=overrides)
    by_id = {t.task_id: t for t in fixed.summary.tasks}
    indexes = {t.task_id: int(t.task_id.rsplit("-", 1)[1]) for t in weak.summary.tasks}
    again = {tid: by_id[task_id_for("triage", 1, i, overrides)] for tid, i in indexes.items()}
    assert all(again[t.task_id].outcome == "success" for t in dead)
    assert all(a.task_id.startswith(tid + "-p") for tid, a in again.items())  # other prompts, other tasks
    fixed_agent = next(s for s in fixed.trace(again[task.task_id].trace_id) if s.name == "invoke_agent classifier")
    assert fixed_agent.attributes[sc.AD_PROMPT_VERSION].startswith("override-")
    assert fixed_agent.attributes[sc.AD_PROMPT_TEMPLATE] == CLASSIFIER_PROMPT_FIXED


def test_trace_id_is_in_checkpoint_metadata(run_workflow: Callable[..., Run]) -> None:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    run = run_workflow("triage", 2, seed=2, faults=NO_FAULTS)
    conn = sqlite3.connect(run.db, check_same_thread=False)
    saver = SqliteSaver(conn)
    for t in run.summary.tasks:
        metas = [c.metadata for c in saver.list({"configurable": {"thread_id": t.thread_id}})]
        assert metas and all(m["agentdeck_trace_id"] == t.trace_id for m in metas)
    # and back: from a trace id to its checkpoints
    found = list(saver.list(None, filter={"agentdeck_trace_id": run.summary.tasks[0].trace_id}))
    assert {c.config["configurable"]["thread_id"] for c in found} == {run.summary.tasks[0].thread_id}
    conn.close()


def test_fallback_agent_rescues_a_failing_step(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 60, seed=1, faults=NO_FAULTS)
    rescued = [
        t
        for t in run.summary.tasks
        if t.outcome == "success" and any(s.name == "invoke_agent response_senior" for s in run.trace(t.trace_id))
    ]
    assert rescued
    spans = run.trace(rescued[0].trace_id)
    primary = [s for s in spans if s.name == "invoke_agent response"]
    assert [s.attributes[sc.ERROR_TYPE] for s in primary] == ["validation"] * 3
    (senior,) = [s for s in spans if s.name == "invoke_agent response_senior"]
    assert senior.status.is_ok and senior.attributes[sc.AD_FALLBACK_FOR] == "response"
    assert senior.attributes[sc.AD_MODEL_TIER] == "frontier" and senior.start_time >= primary[-1].end_time
    assert rescued[0].result["order_id"].startswith("ORD-")

    fixed = run_workflow("triage", 60, seed=1, faults=NO_FAULTS, prompt_overrides={"response": RESPONSE_PROMPT_FIXED})
    assert not any(s.name == "invoke_agent response_senior" for s in fixed.spans)


def test_span_tree_snapshot_with_rate_limit_validation_retries_and_fallback(run_workflow: Callable[..., Run]) -> None:
    """One ticket (seed 1, #3) with 20% rate limits: the weak response prompt fails validation three
    times (one retry interrupted by a 429), then the frontier fallback answers."""
    run = run_workflow("triage", 1, seed=1, first_task=3, faults=FaultRates(rate_limit=0.2))
    (task,) = run.summary.tasks
    assert task.outcome == "success"
    keys = (sc.AD_ATTEMPT, sc.AD_RETRY_REASON, sc.ERROR_TYPE, sc.AD_MODEL_TIER)
    assert snapshot(run.spans, *keys) == [
        ("invoke_workflow triage", "OK", None, None, None, None),
        ("  invoke_agent classifier", "OK", 1, None, None, "fast"),
        ("    chat claude-haiku-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent research", "OK", 1, None, None, "balanced"),
        ("    chat claude-sonnet-4-5", "UNSET", None, None, None, None),
        ("    execute_tool lookup_order", "UNSET", None, None, None, None),
        ("    execute_tool search_kb", "UNSET", None, None, None, None),
        ("    chat claude-sonnet-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent response", "ERROR", 1, None, "validation", "balanced"),
        ("    chat claude-sonnet-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent response", "ERROR", 2, "validation", "rate_limit", "balanced"),
        ("    chat claude-sonnet-4-5", "ERROR", None, None, "rate_limit", None),
        ("  invoke_agent response", "ERROR", 3, "rate_limit", "validation", "balanced"),
        ("    chat claude-sonnet-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent response", "ERROR", 4, "validation", "validation", "balanced"),
        ("    chat claude-sonnet-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent response_senior", "OK", 1, None, None, "frontier"),
        ("    chat claude-opus-4-5", "UNSET", None, None, None, None),
        ("  invoke_agent quality", "OK", 1, None, None, "fast"),
        ("    chat claude-haiku-4-5", "UNSET", None, None, None, None),
    ]
