"""Alert state over time: for-duration, dedupe, resolution, acknowledge/silence, the fast per-task
path, rule failures, and the one-shot check the CLI runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from alerts_spans import HOUR, MIN, T0, Store, Task, list_alerts, rules_toml, simple_task

from agentdeck.collector.alerts import (
    Rule,
    RuleSet,
    Scope,
    check,
    evaluate,
    evaluate_all,
    parse_rules,
)
from agentdeck.collector.store.duckdb.session import open_read_only


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "spans.duckdb")
    yield s
    s.close()


def slow_tasks(start_ns: int, n: int = 3) -> list[Task]:
    return [Task(start_ns + i * MIN).agent("responder", duration_ms=45_000).finish() for i in range(n)]


def test_for_duration_goes_pending_then_firing(store: Store) -> None:
    store.add(*slow_tasks(T0))
    rules = parse_rules(rules_toml("p95_latency_ms", 30_000, scope="agent", window="30m", for_="5m"))
    [first] = evaluate(store.s, rules, T0 + 5 * MIN)
    assert first.kind == "pending" and not first.notifies
    assert first.alert.state == "pending" and first.alert.fired_ns is None
    assert evaluate(store.s, rules, T0 + 8 * MIN) == []  # still within the 5 minutes: nothing to say
    [fired] = evaluate(store.s, rules, T0 + 10 * MIN)
    assert fired.kind == "firing" and fired.notifies
    assert fired.alert.id == first.alert.id  # the same alert moved on, not a new one
    assert (fired.alert.first_seen_ns, fired.alert.fired_ns) == (T0 + 5 * MIN, T0 + 10 * MIN)


def test_pending_that_clears_before_for_never_fires(store: Store) -> None:
    store.add(*slow_tasks(T0))
    rules = parse_rules(rules_toml("p95_latency_ms", 30_000, window="10m", for_="15m"))
    assert [c.kind for c in evaluate(store.s, rules, T0 + 5 * MIN)] == ["pending"]
    assert evaluate(store.s, rules, T0 + 30 * MIN) == []  # data left the window: dropped silently
    assert list_alerts(store.s).num_rows == 0


def test_repeated_firings_update_one_alert(store: Store) -> None:
    store.add(*slow_tasks(T0))
    rules = parse_rules(rules_toml("p95_latency_ms", 30_000, window="1h"))
    [fired] = evaluate(store.s, rules, T0 + 5 * MIN)
    more = Task(T0 + 10 * MIN).agent("responder", duration_ms=90_000).finish()
    store.add(more)
    [again] = evaluate(store.s, rules, T0 + 12 * MIN)
    assert again.kind == "updated" and not again.notifies
    assert again.alert.id == fired.alert.id
    assert again.alert.last_seen_ns == T0 + 12 * MIN and again.alert.first_seen_ns == T0 + 5 * MIN
    assert again.alert.value > fired.alert.value
    assert again.alert.trace_ids[0] == more.trace_id  # the slowest task leads
    table = list_alerts(store.s)
    assert table.num_rows == 1 and table.column("state").to_pylist() == ["firing"]


def test_a_resolved_alert_that_breaches_again_is_a_new_alert(store: Store) -> None:
    rules = parse_rules(rules_toml("spend", 1.0, window="1h"))
    store.add(simple_task(T0, cost_usd=1.0))
    [a] = evaluate(store.s, rules, T0 + MIN)
    [r] = evaluate(store.s, rules, T0 + 2 * HOUR)
    assert r.kind == "resolved" and r.alert.id == a.alert.id and r.alert.resolved_ns == T0 + 2 * HOUR
    store.add(simple_task(T0 + 3 * HOUR, cost_usd=1.0))
    [b] = evaluate(store.s, rules, T0 + 3 * HOUR + MIN)
    assert b.kind == "firing" and b.alert.id != a.alert.id
    states = dict(
        zip(
            list_alerts(store.s).column("id").to_pylist(),
            list_alerts(store.s).column("state").to_pylist(),
            strict=True,
        )
    )
    assert states == {b.alert.id: "firing", a.alert.id: "resolved"}


def test_each_scope_group_is_its_own_alert(store: Store) -> None:
    store.add(simple_task(T0, workflow="triage", cost_usd=1.0), simple_task(T0, workflow="diligence", cost_usd=2.0))
    rules = parse_rules(rules_toml("spend", 1.0, scope="workflow"))
    changes = evaluate(store.s, rules, T0 + MIN)
    assert {c.alert.group_value: c.alert.value for c in changes} == {"triage": 2.0, "diligence": 4.0}
    assert {c.alert.target for c in changes} == {"workflow=triage", "workflow=diligence"}


def test_acknowledge_and_silence(store: Store) -> None:
    store.add(simple_task(T0, cost_usd=1.0))
    [c] = evaluate(store.s, parse_rules(rules_toml("spend", 1.0)), T0 + MIN)
    assert store.s.acknowledge(c.alert.id) and store.s.silence(c.alert.id, T0 + HOUR)
    stored = store.s.get_alert(c.alert.id)
    assert stored is not None and stored.acknowledged and stored.silenced_until_ns == T0 + HOUR
    assert stored.silenced_at(T0 + 30 * MIN) and not stored.silenced_at(T0 + 2 * HOUR)
    assert not store.s.acknowledge(999_999) and not store.s.silence(999_999, T0)


def test_list_alerts_puts_firing_and_critical_first(store: Store) -> None:
    store.add(simple_task(T0, cost_usd=1.0))
    text = (
        rules_toml("spend", 1.0, name="old", severity="info", window="5m")
        + rules_toml("spend", 1.0, name="warn", severity="warning", window="1d")
        + rules_toml("spend", 1.0, name="crit", severity="critical", window="1d")
    )
    assert len(evaluate(store.s, parse_rules(text), T0 + MIN)) == 3
    later = evaluate(store.s, parse_rules(text), T0 + 10 * MIN)
    assert [c.alert.rule for c in later if c.kind == "resolved"] == ["old"]
    table = list_alerts(store.s)
    assert table.column("rule").to_pylist() == ["crit", "warn", "old"]
    assert list_alerts(store.s, state="resolved").column("rule").to_pylist() == ["old"]
    assert table.column("trace_ids")[0].as_py() and "silenced_until_ns" in table.column_names
    with pytest.raises(ValueError, match="unknown alert state 'open'"):
        list_alerts(store.s, state="open")


def test_fast_path_checks_only_the_named_tasks_and_never_resolves(store: Store) -> None:
    text = rules_toml("runaway_loop", 3) + rules_toml("spend", 0.0001, name="spend")
    rules = parse_rules(text)
    first = Task(T0)
    for _ in range(5):
        first.agent("researcher")
    store.add(first)
    changes = evaluate(store.s, rules, T0 + MIN, trace_ids=[first.trace_id])
    assert [(c.kind, c.alert.rule) for c in changes] == [("firing", "runaway_loop")]  # spend waits
    other = Task(T0 + MIN)
    for _ in range(5):
        other.agent("researcher")
    store.add(other)
    # The fast path for `other` alone: it joins the rule's one alert; `first` stays listed, not resolved.
    [c] = evaluate(store.s, rules, T0 + 2 * MIN, trace_ids=[other.trace_id])
    assert (c.kind, c.alert.trace_ids, c.alert.target) == ("updated", (other.trace_id, first.trace_id), "2 tasks")
    later = evaluate(store.s, rules, T0 + 3 * HOUR, trace_ids=[other.trace_id])
    assert later == []
    assert list_alerts(store.s, state="firing").num_rows == 1


def loop_task(start_ns: int, steps: int) -> Task:
    task = Task(start_ns)
    for _ in range(steps):
        task.agent("researcher")
    return task.finish()


def test_a_per_task_check_raises_one_alert_per_rule_listing_its_tasks_worst_first(store: Store) -> None:
    rules = parse_rules(rules_toml("runaway_loop", 3))
    tasks = [loop_task(T0 + i * MIN, steps) for i, steps in enumerate((4, 9, 2, 6))]
    for task in tasks:
        store.add(task)
    [c] = evaluate(store.s, rules, T0 + 10 * MIN)
    assert (c.kind, c.alert.group_value, c.alert.value) == ("firing", "", 9.0)
    # the three tasks past the threshold, worst first; the quiet one (2 steps) is not listed
    assert c.alert.trace_ids == (tasks[1].trace_id, tasks[3].trace_id, tasks[0].trace_id)
    assert c.alert.target == "3 tasks" and c.alert.detail == "agent researcher ran 9 times in one task"
    assert list_alerts(store.s, state="firing").num_rows == 1
    # a full evaluation lists the tasks breaching in the window now: the first two have left it
    [c] = evaluate(store.s, rules, T0 + HOUR + 2 * MIN)
    assert (c.kind, c.alert.trace_ids, c.alert.value) == ("updated", (tasks[3].trace_id,), 6.0)


def test_per_task_checks_group_by_the_rules_scope(store: Store) -> None:
    rules = parse_rules(rules_toml("runaway_loop", 3, scope="workflow"))
    a = Task(T0, workflow="triage")
    b = Task(T0 + MIN, workflow="diligence")
    for task in (a, b):
        for _ in range(5):
            task.agent("researcher")
        store.add(task.finish())
    changes = evaluate(store.s, rules, T0 + 10 * MIN)
    assert sorted((c.alert.group_value, c.alert.target) for c in changes) == [
        ("diligence", "1 task (workflow=diligence)"),
        ("triage", "1 task (workflow=triage)"),
    ]


def test_acknowledged_and_silenced_alerts_no_longer_need_attention(store: Store) -> None:
    rules = parse_rules(rules_toml("runaway_loop", 3) + rules_toml("spend", 0.0001, name="spend"))
    store.add(loop_task(T0, 5))
    store.add(simple_task(T0, cost_usd=1.0))
    loop, spend = sorted((c.alert for c in evaluate(store.s, rules, T0 + MIN)), key=lambda a: a.rule)
    now = T0 + 2 * MIN
    assert loop.needs_attention(now) and spend.needs_attention(now)
    store.s.acknowledge(loop.id)
    store.s.silence(spend.id, now + HOUR)
    after = {a.rule: a for a in (store.s.get_alert(loop.id), store.s.get_alert(spend.id)) if a}
    assert not after["runaway_loop"].needs_attention(now) and not after["spend"].needs_attention(now)
    assert after["spend"].needs_attention(now + 2 * HOUR)  # the silence is over


def test_a_failing_rule_does_not_stop_the_others(store: Store) -> None:
    store.add(simple_task(T0, cost_usd=1.0))
    good = parse_rules(rules_toml("spend", 1.0, name="spend"))
    broken = Rule(
        name="broken",
        metric="no_such_metric",
        scope=Scope("all"),
        window_ns=HOUR,
        threshold=1.0,
        comparison=">",
        severity="warning",
        for_ns=0,
        channels=(),
    )
    rules = RuleSet(rules=(broken, *good.rules), channels={})
    result = evaluate_all(store.s, rules, T0 + MIN)
    assert [c.alert.rule for c in result.changes] == ["spend"]
    assert [f.rule for f in result.failures] == ["broken"] and "no_such_metric" in result.failures[0].error
    status = {r["rule"]: r for r in store.s.list_rule_status().to_pylist()}
    assert status["spend"]["error"] is None and status["spend"]["groups"] == 1
    assert "no_such_metric" in status["broken"]["error"]


def test_check_is_read_only_and_reports_what_fires(store: Store, tmp_path: Path) -> None:
    loop = Task(T0)
    for _ in range(12):
        loop.agent("researcher")
    store.add(loop, simple_task(T0, cost_usd=0.01))
    store.close()
    text = rules_toml("runaway_loop", 8) + rules_toml("spend", 100.0, name="spend", for_="10m")
    ro = open_read_only(str(store.path))
    try:
        result = check(ro, parse_rules(text), T0 + MIN)
    finally:
        ro.close()
    assert result.exit_code == 1 and result.errors == []
    [item] = result.firing
    assert (item.rule, item.group, item.value, item.trace_ids) == ("runaway_loop", "", 12.0, [loop.trace_id])
    payload = json.loads(result.to_json())
    assert payload["firing"][0]["detail"] == "agent researcher ran 12 times in one task"
    ro = open_read_only(str(store.path))
    quiet = check(ro, parse_rules(rules_toml("spend", 100.0)), T0 + MIN)
    ro.close()
    assert quiet.exit_code == 0 and quiet.firing == [] and quiet.errors == []


def test_check_reports_a_store_without_spans_as_errors(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    empty = open_read_only(str(tmp_path / "empty.duckdb"))
    result = check(empty, parse_rules(rules_toml("spend", 1.0)), T0)
    assert result.exit_code == 2 and result.firing == [] and "spans" in result.errors[0].error


def test_alerts_of_a_removed_rule_resolve(store: Store) -> None:
    store.add(simple_task(T0, cost_usd=1.0))
    both = parse_rules(rules_toml("spend", 1.0, name="kept") + rules_toml("spend", 1.0, name="dropped"))
    assert len(evaluate(store.s, both, T0 + MIN)) == 2
    changes = evaluate(store.s, parse_rules(rules_toml("spend", 1.0, name="kept")), T0 + 2 * MIN)
    assert [(c.kind, c.alert.rule) for c in changes] == [("updated", "kept"), ("resolved", "dropped")]
    assert store.s.list_rule_status().column("rule").to_pylist() == ["kept"]
