"""Replay from a checkpoint with an edited prompt: the weak-prompt failure really gets fixed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from engine_helpers import Run
from langgraph.checkpoint.sqlite import SqliteSaver
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine import semconv as sc
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.replay.fork import replay
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED


def test_replay_fixes_a_dead_lettered_task_and_links_to_the_original(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 30, seed=1, faults=FaultRates())
    dead = next(t for t in run.summary.tasks if t.outcome == "dead_letter" and t.detail.startswith("classifier"))
    original_root = run.trace(dead.trace_id)[0]
    exporter = InMemorySpanExporter()
    tp = make_tracer_provider(exporters=[exporter])

    ledger = Ledger(run.db)
    (letter,) = ledger.dead_letters(dead.task_id)
    ledger.close()
    at = letter.checkpoint_id  # the checkpoint the failing step ran from
    same = replay(dead.thread_id, checkpoint_db=run.db, checkpoint_id=at, tracer_provider=tp, faults=FaultRates())
    assert same.outcome == "dead_letter"  # the same prompt fails the same way: deterministic

    fixed = replay(
        dead.thread_id,
        checkpoint_db=run.db,
        checkpoint_id=at,
        tracer_provider=tp,
        faults=FaultRates(),
        prompt_overrides={"classifier": CLASSIFIER_PROMPT_FIXED},
    )
    assert fixed.outcome == "success" and fixed.result["order_id"].startswith("ORD-")
    assert fixed.task_id == dead.task_id and fixed.trace_id not in (dead.trace_id, same.trace_id)
    spans = [s for s in exporter.get_finished_spans() if format(s.context.trace_id, "032x") == fixed.trace_id]
    root = next(s for s in spans if s.parent is None)
    assert root.attributes[sc.AD_REPLAY_OF] == dead.trace_id
    assert root.attributes[sc.AD_REPLAY_OF_CHECKPOINT] == at
    (link,) = root.links
    assert link.context.trace_id == original_root.context.trace_id
    assert link.context.span_id == original_root.context.span_id
    classifier = next(s for s in spans if s.name == "invoke_agent classifier")
    assert classifier.attributes[sc.AD_PROMPT_TEMPLATE] == CLASSIFIER_PROMPT_FIXED
    # the replay branch is in the checkpoints, under the replay's trace id; the original is kept
    conn = sqlite3.connect(run.db, check_same_thread=False)
    saver = SqliteSaver(conn)
    traces = {c.metadata.get("agentdeck_trace_id") for c in saver.list({"configurable": {"thread_id": dead.thread_id}})}
    conn.close()
    assert {dead.trace_id, fixed.trace_id} <= traces


def test_replay_from_an_earlier_checkpoint_with_a_state_edit(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 3, seed=2, faults=FaultRates())
    ok = next(t for t in run.summary.tasks if t.outcome == "success")
    conn = sqlite3.connect(run.db, check_same_thread=False)
    history = list(SqliteSaver(conn).list({"configurable": {"thread_id": ok.thread_id}}))
    conn.close()
    exporter = InMemorySpanExporter()
    tp = make_tracer_provider(exporters=[exporter])
    before_respond = next(c for c in history if c.metadata.get("step") == 2)  # research done, respond next
    result = replay(
        ok.thread_id,
        checkpoint_db=run.db,
        checkpoint_id=before_respond.config["configurable"]["checkpoint_id"],
        state_update={
            "research": {"order_id": "ORD-999999", "findings": ["edited finding"], "order_status": "lost in transit"}
        },
        as_node="research",
        faults=FaultRates(),
        tracer_provider=tp,
    )
    assert result.outcome == "success"
    spans = [s for s in exporter.get_finished_spans() if format(s.context.trace_id, "032x") == result.trace_id]
    agents = [s.attributes[sc.GEN_AI_AGENT_NAME] for s in spans if s.name.startswith("invoke_agent")]
    assert agents[0] == "response" and "classifier" not in agents  # only the steps after the fork ran
    prompt = next(s for s in spans if s.name.startswith("chat ")).attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "edited finding" in prompt and "lost in transit" in prompt  # the edited state flowed in


def test_replay_of_an_unknown_thread_is_a_clear_error(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 1, seed=2, faults=FaultRates())
    with pytest.raises(LookupError, match="no thread nope"):
        replay("nope", checkpoint_db=run.db)


def test_unchanged_steps_are_served_from_the_record_at_zero_tokens(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 4, seed=2, faults=FaultRates())
    ok = next(t for t in run.summary.tasks if t.outcome == "success")
    conn = sqlite3.connect(run.db, check_same_thread=False)
    before_respond = next(
        c for c in SqliteSaver(conn).list({"configurable": {"thread_id": ok.thread_id}}) if c.metadata.get("step") == 2
    )
    conn.close()
    exporter = InMemorySpanExporter()
    tp = make_tracer_provider(exporters=[exporter])
    at = before_respond.config["configurable"]["checkpoint_id"]
    same = replay(ok.thread_id, checkpoint_db=run.db, checkpoint_id=at, tracer_provider=tp, faults=FaultRates())
    assert same.outcome == "success" and same.cost_usd == 0.0 and same.result == ok.result
    chats = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    assert chats and all(s.attributes[sc.AD_REPLAY_SERVED_FROM_RECORD] for s in chats)
    assert all(s.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 0 for s in chats)
    fresh = replay(ok.thread_id, checkpoint_db=run.db, checkpoint_id=at, faults=FaultRates(), serve_recorded=False)
    assert fresh.result == ok.result and fresh.cost_usd > 0  # same answers, paid for again
