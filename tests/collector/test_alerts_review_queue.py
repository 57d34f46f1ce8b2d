"""`review_queue_age_s`: an alert on how long engine tasks have waited for human review, fed by the
workflow spans the engine emits (status waiting_review; a later run names it in resumed_from).
A waiting task is not finished, so it does not count against the completion rate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_spans import HOUR, MIN, T0, Store, new_trace_id, rules_toml, simple_task, span

from agentdeck.collector.alerts import evaluate, parse_rules
from agentdeck.engine import semconv as sc


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "spans.duckdb")
    yield s
    s.close()


def workflow_span(start_ns: int, attrs: dict[str, object], trace_id: str | None = None) -> object:
    return span(
        trace_id or new_trace_id(),
        start_ns,
        2000.0,
        name="invoke_workflow support_mcp",
        span_type="workflow",
        workflow_name="support_mcp",
        attrs={sc.GEN_AI_WORKFLOW_NAME: "support_mcp", **attrs},
    )


def test_the_oldest_waiting_task_fires_and_a_resumed_one_does_not(store: Store) -> None:
    old = workflow_span(T0, {sc.AD_TASK_STATUS: "waiting_review"})
    young = workflow_span(T0 + 20 * MIN, {sc.AD_TASK_STATUS: "waiting_review"})
    done = workflow_span(T0 - 10 * MIN, {sc.AD_TASK_STATUS: "waiting_review"})
    resume = workflow_span(T0 + 5 * MIN, {sc.AD_TASK_OUTCOME: "success", sc.AD_RESUMED_FROM: done.trace_id})  # type: ignore[attr-defined]
    store.add(old, young, done, resume)  # type: ignore[arg-type]
    rules = parse_rules(rules_toml("review_queue_age_s", 900, window="1d"))
    [change] = evaluate(store.s, rules, T0 + 30 * MIN)
    assert change.kind == "firing"
    assert change.alert.value == pytest.approx(30 * 60 - 2.0)  # since the oldest task paused
    assert change.alert.trace_ids == (old.trace_id,)  # type: ignore[attr-defined]
    store.add(workflow_span(T0 + 40 * MIN, {sc.AD_RESUMED_FROM: old.trace_id}))  # type: ignore[arg-type, attr-defined]
    [updated] = evaluate(store.s, rules, T0 + 41 * MIN)  # only `young` waits now, for 21 min
    assert updated.alert.value == pytest.approx(21 * 60 - 2.0)
    assert young.trace_id in updated.alert.trace_ids  # type: ignore[attr-defined]
    store.add(workflow_span(T0 + 42 * MIN, {sc.AD_RESUMED_FROM: young.trace_id}))  # type: ignore[arg-type, attr-defined]
    changes = evaluate(store.s, rules, T0 + 43 * MIN)
    assert [c.kind for c in changes] == ["resolved"]


def test_a_waiting_task_does_not_count_against_completion(store: Store) -> None:
    store.add(simple_task(T0), simple_task(T0 + MIN))
    store.add(workflow_span(T0 + 2 * MIN, {sc.AD_TASK_STATUS: "waiting_review"}))  # type: ignore[arg-type]
    rules = parse_rules(rules_toml("completion_rate", 0.95, "<", window="1h"))
    assert evaluate(store.s, rules, T0 + HOUR - MIN) == []  # 2 of 2 finished tasks completed
