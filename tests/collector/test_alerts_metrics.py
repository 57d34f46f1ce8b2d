"""Each alert metric fires on constructed spans that cross its threshold, with the value a person
would compute by hand, and resolves once the window has moved past those spans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_spans import HOUR, MIN, T0, Store, Task, list_alerts, rules_toml, simple_task

from agentdeck.collector.alerts import AlertChange, RuleSet, check, evaluate, parse_rules

DAY = 24 * HOUR


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "spans.duckdb")
    yield s
    s.close()


def fire(store: Store, rules_text: str, now_ns: int) -> dict[str, AlertChange]:
    """Evaluate once; the changes by group (every one must be a firing)."""
    changes = evaluate(store.s, parse_rules(rules_text), now_ns)
    assert all(c.kind == "firing" for c in changes), changes
    return {c.alert.group_value: c for c in changes}


def resolve(store: Store, rules: RuleSet | str, now_ns: int) -> list[AlertChange]:
    rs = parse_rules(rules) if isinstance(rules, str) else rules
    changes = evaluate(store.s, rs, now_ns)
    assert changes and all(c.kind == "resolved" for c in changes), changes
    still = set(list_alerts(store.s, state="firing").column("rule").to_pylist())
    assert not still & {r.name for r in rs.rules}
    return changes


def test_cost_per_task_averages_finished_tasks_and_counts_each_call_once(store: Store) -> None:
    cheap = [simple_task(T0 + i * MIN, cost_usd=0.2, sdk_duplicate=True) for i in range(2)]
    pricey = Task(T0 + 3 * MIN)
    for _ in range(5):
        pricey.agent("researcher", cost_usd=0.2, sdk_duplicate=True)
    pricey.finish()
    running = Task(T0 + 4 * MIN).agent("researcher", cost_usd=5.0)  # no root yet: not finished
    store.add(*cheap, pricey, running)
    text = rules_toml("cost_per_task", 0.5, scope="workflow")
    fired = fire(store, text, T0 + 10 * MIN)
    alert = fired["support_triage"].alert
    assert alert.value == pytest.approx((0.4 + 0.4 + 1.0) / 3)  # SDK duplicates not summed
    assert alert.trace_ids == (pricey.trace_id,)  # only the task above $0.50
    assert alert.state == "firing" and alert.scope == "each workflow"
    [most] = check(store.s, parse_rules(rules_toml("cost_per_task", 0.9, stat="max")), T0 + 10 * MIN).firing
    assert most.value == pytest.approx(1.0)
    resolve(store, text, T0 + 2 * HOUR)


def test_cost_per_task_below_threshold_stays_quiet(store: Store) -> None:
    store.add(*[simple_task(T0 + i * MIN, cost_usd=0.1) for i in range(3)])
    assert evaluate(store.s, parse_rules(rules_toml("cost_per_task", 0.5)), T0 + 10 * MIN) == []


def test_spend_per_hour_sums_llm_cost_in_the_window(store: Store) -> None:
    early = simple_task(T0, cost_usd=1.0)  # $2, will fall out of a 1h window first
    late = simple_task(T0 + 50 * MIN, cost_usd=2.0)  # $4
    store.add(early, late)
    text = rules_toml("spend", 5.0, window="1h")
    alert = fire(store, text, T0 + 55 * MIN)[""].alert
    assert alert.value == pytest.approx(6.0)
    assert alert.trace_ids == (late.trace_id, early.trace_id)  # the bigger spender first
    # 70 minutes in: the early task left the window, $4 < $5.
    [change] = resolve(store, text, T0 + 70 * MIN)
    assert change.alert.value == pytest.approx(4.0) and change.alert.resolved_ns == T0 + 70 * MIN


def test_budget_burn_projects_end_of_day_spend(store: Store) -> None:
    midnight = T0 - T0 % DAY
    store.add(simple_task(midnight + 1 * HOUR, cost_usd=1.0))  # $2 this morning
    store.add(simple_task(midnight + 11 * HOUR + 30 * MIN, cost_usd=0.5))  # $1 in the last hour
    text = rules_toml("budget_burn", 1.0, daily_budget_usd=10.0)
    alert = fire(store, text, midnight + 12 * HOUR)[""].alert
    # $3 so far + $1/h for the 12 hours left = $15 of a $10 budget.
    assert alert.value == pytest.approx(1.5)
    # Late evening, nothing spent in the last hour: $3 projected, 0.3 of the budget.
    [change] = resolve(store, text, midnight + 23 * HOUR)
    assert change.alert.value == pytest.approx(0.3)


def test_p95_latency_fires_for_the_slow_agent_only(store: Store) -> None:
    tasks = []
    for i in range(5):
        t = Task(T0 + i * MIN).agent("classifier", duration_ms=1_000).agent("responder", duration_ms=40_000)
        tasks.append(t.finish())
    store.add(*tasks)
    text = rules_toml("p95_latency_ms", 30_000, scope="agent", window="15m", min_samples=5)
    fired = fire(store, text, T0 + 10 * MIN)
    assert set(fired) == {"responder"}
    assert fired["responder"].alert.value == pytest.approx(40_000)
    assert len(fired["responder"].alert.trace_ids) == 5
    resolve(store, text, T0 + 30 * MIN)


def test_min_samples_keeps_a_single_slow_step_quiet(store: Store) -> None:
    store.add(Task(T0).agent("responder", duration_ms=60_000).finish())
    text = rules_toml("p95_latency_ms", 30_000, scope="agent", min_samples=5)
    assert evaluate(store.s, parse_rules(text), T0 + MIN) == []


def test_retry_rate_counts_attempts_after_the_first(store: Store) -> None:
    tasks = []
    for i in range(4):
        t = Task(T0 + i * MIN).agent("classifier").agent("responder", status="ERROR")
        t.agent("responder", attempt=2, retry_reason="validation")
        tasks.append(t.finish())
    store.add(*tasks)
    text = rules_toml("retry_rate", 0.15, scope="agent", scope_value="responder")
    fired = fire(store, text, T0 + 10 * MIN)
    assert fired["responder"].alert.value == pytest.approx(0.5)
    assert fired["responder"].alert.scope == "agent=responder"
    # Over all agents: 4 retries out of 12 attempts.
    [overall] = check(store.s, parse_rules(rules_toml("retry_rate", 0.15)), T0 + 10 * MIN).firing
    assert overall.value == pytest.approx(1 / 3)
    resolve(store, text, T0 + 2 * HOUR)


def test_error_rate_by_model_uses_llm_calls(store: Store) -> None:
    ok = [simple_task(T0 + i * MIN, model="claude-haiku-4-5") for i in range(3)]
    bad = Task(T0 + 5 * MIN).agent("writer", model="claude-sonnet-4-5", status="ERROR")
    store.add(*ok, bad.agent("writer", model="claude-sonnet-4-5", attempt=2).finish())
    text = rules_toml("error_rate", 0.1, scope="model")
    fired = fire(store, text, T0 + 10 * MIN)
    assert set(fired) == {"claude-sonnet-4-5"}
    assert fired["claude-sonnet-4-5"].alert.value == pytest.approx(0.5)
    assert fired["claude-sonnet-4-5"].alert.trace_ids == (bad.trace_id,)
    resolve(store, text, T0 + 2 * HOUR)


def test_completion_rate_below_95_percent(store: Store) -> None:
    good = [simple_task(T0 + i * MIN) for i in range(9)]
    failed = simple_task(T0 + 9 * MIN, outcome="failed")
    unfinished = Task(T0 + 9 * MIN).agent("classifier")  # still running: not in the rate
    store.add(*good, failed, unfinished)
    text = rules_toml("completion_rate", 0.95, "<", scope="workflow", min_samples=10)
    alert = fire(store, text, T0 + 20 * MIN)["support_triage"].alert
    assert alert.value == pytest.approx(0.9)
    assert alert.trace_ids == (failed.trace_id,)
    resolve(store, text, T0 + 2 * HOUR)


def test_messages_per_task_reads_the_workflow_span(store: Store) -> None:
    chatty = [Task(T0 + i * MIN).agent("critic").finish(messages=30) for i in range(2)]
    quiet = Task(T0 + 3 * MIN).agent("critic").finish(messages=6)
    store.add(*chatty, quiet)
    text = rules_toml("messages_per_task", 20)
    alert = fire(store, text, T0 + 10 * MIN)[""].alert
    assert alert.value == pytest.approx(22.0)
    assert set(alert.trace_ids) == {t.trace_id for t in chatty}
    resolve(store, text, T0 + 2 * HOUR)


def test_tokens_per_task_against_the_rolling_baseline(store: Store) -> None:
    baseline = [
        simple_task(T0 - 3 * DAY + i * HOUR, agents=("a",), input_tokens=500, output_tokens=100) for i in range(5)
    ]
    heavy = [simple_task(T0 + i * MIN, agents=("a",), input_tokens=1300, output_tokens=200) for i in range(5)]
    store.add(*baseline, *heavy)
    text = rules_toml("tokens_per_task_vs_baseline", 2.0, scope="workflow", baseline_window="7d", min_samples=5)
    alert = fire(store, text, T0 + 10 * MIN)["support_triage"].alert
    assert alert.value == pytest.approx(1500 / 600)
    assert set(alert.trace_ids) == {t.trace_id for t in heavy}  # the current tasks, not the baseline
    resolve(store, text, T0 + 2 * HOUR)


def test_tokens_vs_baseline_needs_a_baseline(store: Store) -> None:
    store.add(*[simple_task(T0 + i * MIN, input_tokens=5000) for i in range(5)])
    text = rules_toml("tokens_per_task_vs_baseline", 2.0, min_samples=5)
    assert evaluate(store.s, parse_rules(text), T0 + 10 * MIN) == []


def test_state_conflict_rate_is_conflicts_per_agent_step(store: Store) -> None:
    tasks = [Task(T0 + i * MIN).agent("a").agent("b").finish(conflicts=0) for i in range(3)]
    clash = Task(T0 + 4 * MIN).agent("a").agent("b").finish(conflicts=1)
    store.add(*tasks, clash)
    text = rules_toml("state_conflict_rate", 0.05)
    alert = fire(store, text, T0 + 10 * MIN)[""].alert
    assert alert.value == pytest.approx(1 / 8)
    assert alert.trace_ids == (clash.trace_id,)
    resolve(store, text, T0 + 2 * HOUR)


def test_task_budget_breach_names_the_task_and_the_spend(store: Store) -> None:
    over = Task(T0, budget_limit_usd=0.01)
    over.agent("researcher", cost_usd=0.006).agent("writer", cost_usd=0.006).finish("incomplete")
    under = Task(T0 + MIN, budget_limit_usd=0.05)
    under.agent("researcher", cost_usd=0.006).finish()
    store.add(over, under)
    text = rules_toml("task_budget_breach", 1.0, ">=")
    fired = fire(store, text, T0 + 5 * MIN)
    assert set(fired) == {""}  # one alert for the rule, listing the tasks over budget
    alert = fired[""].alert
    assert alert.value == pytest.approx(1.2)
    assert alert.trace_ids == (over.trace_id,)
    assert alert.detail == "spent $0.0120 of a $0.0100 task budget (outcome incomplete)"
    assert alert.target == "1 task"
    resolve(store, text, T0 + 2 * HOUR)


def test_a_task_the_engine_stopped_for_budget_is_a_breach(store: Store) -> None:
    # The engine reserves each call's worst case, so it stops a task just short of the limit.
    halted = Task(T0, budget_limit_usd=1.0).agent("researcher", cost_usd=0.6).agent("writer", cost_usd=0.33)
    halted.finish("incomplete", incomplete_reason="budget")
    slow = (
        Task(T0, budget_limit_usd=1.0)
        .agent("researcher", cost_usd=0.93)
        .finish("incomplete", incomplete_reason="deadline")
    )
    store.add(halted, slow)
    fired = fire(store, rules_toml("task_budget_breach", 1.0, ">="), T0 + 5 * MIN)
    alert = fired[""].alert
    assert alert.trace_ids == (halted.trace_id,)  # the deadline-stopped task at 0.93 is not listed
    assert alert.value == 1.0
    assert alert.detail == (
        "spent $0.9300 of a $1.0000 task budget; the engine stopped the task (budget) (outcome incomplete)"
    )


def test_budget_breach_fires_when_the_root_span_lands(store: Store) -> None:
    running = Task(T0, budget_limit_usd=0.01).agent("researcher", cost_usd=0.02)
    store.add(running)  # steps carry the spend; the limit is on the workflow span, not here yet
    text = rules_toml("task_budget_breach", 1.0, ">=")
    assert evaluate(store.s, parse_rules(text), T0 + MIN, trace_ids=[running.trace_id]) == []
    running.rows.clear()
    store.add(running.finish("incomplete", incomplete_reason="budget"))
    [change] = evaluate(store.s, parse_rules(text), T0 + MIN, trace_ids=[running.trace_id])
    assert change.kind == "firing" and change.alert.value == pytest.approx(2.0)


def test_runaway_loop_names_the_repeating_agent(store: Store) -> None:
    loop = Task(T0).agent("planner")
    for _ in range(10):
        loop.agent("researcher")
    normal = Task(T0 + MIN).agent("planner").agent("researcher").agent("researcher")
    store.add(loop, normal)  # still running: no workflow span yet, the check does not wait for it
    text = rules_toml("runaway_loop", 8)
    fired = fire(store, text, T0 + 5 * MIN)
    alert = fired[""].alert
    assert (alert.trace_ids, alert.value) == ((loop.trace_id,), 10)
    assert alert.detail == "agent researcher ran 10 times in one task"
    resolve(store, text, T0 + 2 * HOUR)


def test_repeated_tool_call_with_identical_arguments(store: Store) -> None:
    stuck = Task(T0).tool("web_search", {"q": "acme 10-K"}).tool("web_search", {"q": "acme 10-K"})
    varied = Task(T0 + MIN).tool("web_search", {"q": "acme"}).tool("web_search", {"q": "acme 10-Q"})
    store.add(stuck, varied)
    text = rules_toml("repeated_tool_call", 1)
    fired = fire(store, text, T0 + 5 * MIN)
    assert fired[""].alert.trace_ids == (stuck.trace_id,)
    assert fired[""].alert.detail == ('tool web_search called 2 times with the same arguments {"q": "acme 10-K"}')
    resolve(store, text, T0 + 2 * HOUR)


def test_scope_value_is_bound_not_interpolated(store: Store) -> None:
    store.add(simple_task(T0, cost_usd=1.0))
    hostile = "x' OR 1=1 --"
    text = rules_toml("spend", 0.5, scope="workflow", scope_value=hostile)
    assert evaluate(store.s, parse_rules(text), T0 + MIN) == []
    assert store.conn.execute("SELECT count(*) FROM spans").fetchone() == (5,)
