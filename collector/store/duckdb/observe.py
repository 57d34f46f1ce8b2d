"""Compute each rule's current value per scope group from the `spans` table (read-only SQL).

Every metric reduces to rows `x(grp, trace_id, num, den, badness, bad, cur, today, detail)`:
one row per unit (an agent attempt, an LLM call, a finished task, a task x agent ...), tagged with
its scope group. One shared aggregation turns them into a value per group plus the traces that
contributed most (`bad` rows ordered by `badness`). Only fixed text from this module is spliced
into SQL; thresholds, scope values, windows and trace ids are bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb

from agentdeck.collector.alerts.observation import DAY_NS, MAX_TASKS, MAX_TRACES, Observation
from agentdeck.collector.alerts.rules import Rule
from agentdeck.collector.store.duckdb.ddl import trace_range_sql
from agentdeck.collector.store.duckdb.trace_facts import TRACE_COMPLETED, TRACE_FACTS, TRACE_FINISHED
from agentdeck.engine.semconv import (
    AD_BUDGET_LIMIT_USD,
    AD_BUDGET_SPENT_USD,
    AD_MESSAGES,
    AD_RESUMED_FROM,
    AD_STATE_CONFLICTS,
    AD_TASK_INCOMPLETE_REASON,
    AD_TASK_STATUS,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    STATUS_WAITING_REVIEW,
)

_PARAM: Final = re.compile(r"\$([a-z_]+)")
_SQL_OPS: Final = {">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _attr_num(key: str) -> str:
    # Keys come from agentdeck.engine.semconv (fixed text), never from a rules file.
    return f"TRY_CAST(TRY(json_extract_string(attributes, '$.\"{key}\"')) AS DOUBLE)"


def _attr_text(key: str) -> str:
    return f"TRY(json_extract_string(attributes, '$.\"{key}\"'))"


_SPAN_COLUMNS: Final = (
    "trace_id, parent_span_id, start_ns, end_ns, duration_ms, status_code, span_type, attempt, agent_name, "
    "workflow_name, service_name, coalesce(response_model, request_model) AS model, tool_name, "
    "cost_usd, input_tokens, output_tokens, usage_counted, outcome, attributes"
)

_GROUP_EXPR: Final = {
    "all": "''",
    "workflow": "tw.wf",
    "agent": "s.agent_name",
    "model": "s.model",
    "service": "s.service_name",
}

# A workflow span of a task paused for human review: not finished (waiting_review is not an outcome),
# so a waiting task counts in no rate until a later run resumes it.
_WAITING: Final = f"({_attr_text(AD_TASK_STATUS)} = '{STATUS_WAITING_REVIEW}')"

# Per-trace aggregates over `s` (one row per trace): the shared facts (`trace_facts`), plus what
# only the alerts read.
_TRACES_CTE: Final = f"""t0 AS (SELECT trace_id,{TRACE_FACTS},
    coalesce(bool_or(parent_span_id IS NULL AND {_WAITING}), false) AS waiting,
    coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) FILTER (WHERE usage_counted), 0)
        AS tokens,
    max({_attr_num(AD_MESSAGES)}) FILTER (WHERE span_type = 'workflow') AS messages,
    max({_attr_num(AD_STATE_CONFLICTS)}) FILTER (WHERE span_type = 'workflow') AS conflicts,
    count(*) FILTER (WHERE span_type = 'agent') AS agent_steps,
    max({_attr_num(AD_BUDGET_LIMIT_USD)}) AS budget_limit,
    max({_attr_num(AD_BUDGET_SPENT_USD)}) AS budget_spent,
    coalesce(bool_or(starts_with({_attr_text(AD_TASK_INCOMPLETE_REASON)}, 'budget'))
        FILTER (WHERE span_type = 'workflow'), false) AS budget_halted
  FROM s GROUP BY trace_id),
t AS (SELECT *, cost_usd AS cost, {TRACE_FINISHED} AND NOT waiting AS finished,
    {TRACE_COMPLETED} AND NOT waiting AS completed FROM t0)"""

_COMPLETED: Final = "t.completed"


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one metric fills `x` and reduces it."""

    lookback_ns: int  # how far before now spans are read
    units_sql: str  # SELECT ... producing the columns of x (may use s, tw, t, tg)
    value_sql: str  # aggregate over x rows of one group (FILTER-ed by cur where it matters)
    samples_sql: str = "count(*) FILTER (WHERE cur)"
    having_extra: str = ""
    trace_badness: str = "max"
    max_traces: int = MAX_TRACES


def _units(
    rule: Rule,
    b: dict[str, object],
    *,
    per: str,
    num: str,
    badness: str,
    bad: str,
    where: str,
    den: str = "1.0",
    cur: str = "true",
    today: str = "false",
) -> str:
    """SELECT the rows of `x`: per finished task (`per="task"`, joined to its scope groups) or per
    span (`per="span"`, grouped by the span's own agent/model/service or its trace's workflow)."""
    cols = (
        f"{num} AS num, {den} AS den, {badness} AS badness, {bad} AS bad, {cur} AS cur, {today} AS today, "
        "NULL::VARCHAR AS detail"
    )
    if per == "task":
        return f"SELECT tg.grp, t.trace_id, {cols} FROM t JOIN tg USING (trace_id) WHERE {where}"
    grp = _GROUP_EXPR[rule.scope.kind]
    return (
        f"SELECT {grp} AS grp, s.trace_id, {cols} FROM s LEFT JOIN tw USING (trace_id) "
        f"WHERE {_scope_filter(rule, b)} AND ({where})"
    )


def _plan(rule: Rule, b: dict[str, object], now_ns: int) -> _Plan:
    m = rule.metric
    w = rule.window_ns
    op = _SQL_OPS[rule.comparison]
    b["threshold"] = rule.threshold
    per_task_stat = {"avg": "avg(num)", "p95": "quantile_cont(num, 0.95)", "max": "max(num)"}[rule.stat]
    steps = "s.span_type = 'llm'" if rule.scope.kind == "model" else "s.span_type = 'agent'"
    if m == "cost_per_task":
        units = _units(
            rule, b, per="task", num="t.cost", badness="t.cost", bad=f"t.cost {op} $threshold", where="t.finished"
        )
        return _Plan(w, units, per_task_stat)
    if m == "messages_per_task":
        units = _units(
            rule,
            b,
            per="task",
            num="t.messages",
            badness="t.messages",
            bad=f"t.messages {op} $threshold",
            where="t.messages IS NOT NULL",
        )
        return _Plan(w, units, per_task_stat)
    if m == "completion_rate":
        units = _units(
            rule,
            b,
            per="task",
            num=f"CASE WHEN {_COMPLETED} THEN 1.0 ELSE 0.0 END",
            badness="t.start_ns",
            bad=f"NOT {_COMPLETED}",
            where="t.finished",
        )
        return _Plan(w, units, "avg(num)")
    if m == "review_queue_age_s":
        b["now"] = now_ns
        resumed = f"json_extract_string(r.attributes, '$.\"{AD_RESUMED_FROM}\"')"
        still_waiting = (
            f"s.span_type = 'workflow' AND {_WAITING} "
            f"AND NOT EXISTS (SELECT 1 FROM s AS r WHERE r.span_type = 'workflow' AND {resumed} = s.trace_id)"
        )
        age = "($now - s.start_ns - s.duration_ms * 1e6) / 1e9"
        units = _units(rule, b, per="span", num=age, badness=age, bad=f"{age} {op} $threshold", where=still_waiting)
        return _Plan(w, units, "max(num)", samples_sql="count(*)")
    if m == "state_conflict_rate":
        conflicts = "coalesce(t.conflicts, 0)"
        units = _units(
            rule,
            b,
            per="task",
            num=conflicts,
            den="t.agent_steps",
            badness=conflicts,
            bad=f"{conflicts} > 0",
            where="(t.outcome IS NOT NULL OR t.conflicts IS NOT NULL) AND t.agent_steps > 0",
        )
        return _Plan(w, units, "sum(num) / sum(den)")
    if m == "tokens_per_task_vs_baseline":
        b["cur_from"] = now_ns - w
        units = _units(
            rule,
            b,
            per="task",
            num="t.tokens",
            badness="t.tokens",
            bad="t.start_ns > $cur_from",
            cur="t.start_ns > $cur_from",
            where="t.finished",
        )
        return _Plan(
            w + rule.baseline_window_ns,
            units,
            "avg(num) FILTER (WHERE cur) / nullif(avg(num) FILTER (WHERE NOT cur), 0)",
            having_extra="AND count(*) FILTER (WHERE NOT cur) >= $min_samples",
        )
    if m == "p95_latency_ms":
        units = _units(
            rule,
            b,
            per="span",
            num="s.duration_ms",
            badness="s.duration_ms",
            bad=f"s.duration_ms {op} $threshold",
            where=steps,
        )
        return _Plan(w, units, "quantile_cont(num, 0.95)")
    if m == "retry_rate":
        units = _units(
            rule,
            b,
            per="span",
            num="CASE WHEN s.attempt > 1 THEN 1.0 ELSE 0.0 END",
            badness="s.attempt",
            bad="coalesce(s.attempt > 1, false)",
            where=steps,
        )
        return _Plan(w, units, "avg(num)")
    if m == "error_rate":
        units = _units(
            rule,
            b,
            per="span",
            num="CASE WHEN s.status_code = 'ERROR' THEN 1.0 ELSE 0.0 END",
            badness="s.start_ns",
            bad="s.status_code = 'ERROR'",
            where=steps,
        )
        return _Plan(w, units, "avg(num)")
    priced = "s.usage_counted AND s.cost_usd IS NOT NULL"
    if m == "spend":
        units = _units(rule, b, per="span", num="s.cost_usd", badness="s.cost_usd", bad="true", where=priced)
        return _Plan(w, units, "sum(num)", trace_badness="sum")
    if m == "budget_burn":
        assert rule.daily_budget_usd is not None
        midnight = now_ns - now_ns % DAY_NS  # UTC day
        b.update(
            cur_from=now_ns - w,
            midnight=midnight,
            left_ns=midnight + DAY_NS - now_ns,
            window_ns=w,
            budget=rule.daily_budget_usd,
        )
        units = _units(
            rule,
            b,
            per="span",
            num="s.cost_usd",
            badness="s.cost_usd",
            bad="s.start_ns >= $midnight",
            cur="s.start_ns > $cur_from",
            today="s.start_ns >= $midnight",
            where=priced,
        )
        # Spent today, plus the window's rate (USD per ns) times what is left of the day, over the budget.
        value = (
            "(coalesce(sum(num) FILTER (WHERE today), 0) "
            "+ coalesce(sum(num) FILTER (WHERE cur), 0) * $left_ns / $window_ns) / $budget"
        )
        return _Plan(max(w, now_ns - midnight), units, value, samples_sql="count(*)", trace_badness="sum")
    return _task_check_plan(rule)


def _task_check_plan(rule: Rule) -> _Plan:
    """Per-task checks: each task is judged alone, and the offending tasks of one scope group make one
    alert (worst task first). The group's value is its worst task's; `bad` marks the tasks that breach."""
    m = rule.metric
    op = _SQL_OPS[rule.comparison]
    common = "true AS cur, false AS today"
    if m == "task_budget_breach":
        # The engine reserves each call's worst case and stops a task that cannot afford the next one
        # (outcome incomplete, reason budget), so its spend can stay just under the limit: that task
        # used up its budget, and counts as at least 1.0.
        spent = "greatest(coalesce(t.budget_spent, 0), t.cost)"
        ratio = f"greatest({spent} / t.budget_limit, CASE WHEN t.budget_halted THEN 1.0 ELSE 0.0 END)"
        units = (
            f"SELECT tg.grp, t.trace_id, {ratio} AS num, 1.0 AS den, {ratio} AS badness, "
            f"{ratio} {op} $threshold AS bad, {common}, "
            f"printf('spent $%.4f of a $%.4f task budget', {spent}, t.budget_limit) || "
            "CASE WHEN t.budget_halted THEN '; the engine stopped the task (budget)' ELSE '' END || "
            "coalesce(' (outcome ' || t.outcome || ')', '') AS detail "
            "FROM t JOIN tg USING (trace_id) WHERE t.budget_limit > 0"
        )
    elif m == "runaway_loop":
        units = (
            "SELECT tg.grp, s.trace_id, count(*) AS num, 1.0 AS den, count(*) AS badness, "
            f"count(*) {op} $threshold AS bad, {common}, "
            "printf('agent %s ran %d times in one task', s.agent_name, count(*)) AS detail "
            "FROM s JOIN tg USING (trace_id) WHERE s.span_type = 'agent' AND s.agent_name IS NOT NULL "
            "GROUP BY tg.grp, s.trace_id, s.agent_name"
        )
    elif m == "repeated_tool_call":
        args = _attr_text(GEN_AI_TOOL_CALL_ARGUMENTS).replace("attributes", "s.attributes")
        units = (
            "SELECT tg.grp, s.trace_id, count(*) AS num, 1.0 AS den, count(*) AS badness, "
            f"count(*) {op} $threshold AS bad, {common}, "
            f"printf('tool %s called %d times with the same arguments %s', s.tool_name, count(*), "
            f"left({args}, 200)) AS detail "
            "FROM s JOIN tg USING (trace_id) "
            f"WHERE s.span_type = 'tool' AND s.tool_name IS NOT NULL AND {args} IS NOT NULL "
            f"GROUP BY tg.grp, s.trace_id, s.tool_name, {args}"
        )
    else:
        raise ValueError(f"no SQL for metric {m!r}")
    worst = "max(num)" if op in (">", ">=") else "min(num)"
    return _Plan(rule.window_ns, units, worst, samples_sql="count(DISTINCT trace_id)", max_traces=MAX_TASKS)


def _scope_filter(rule: Rule, b: dict[str, object]) -> str:
    grp = _GROUP_EXPR[rule.scope.kind]
    if rule.scope.value is None:
        return f"{grp} IS NOT NULL"
    b["scope_value"] = rule.scope.value
    return f"{grp} = $scope_value"


def _build(rule: Rule, now_ns: int, trace_ids: Sequence[str] | None) -> tuple[str, dict[str, object]]:
    b: dict[str, object] = {"hi": now_ns, "min_samples": rule.min_samples}
    plan = _plan(rule, b, now_ns)
    b["max_traces"] = plan.max_traces
    b["lo"] = now_ns - plan.lookback_ns
    where = ["start_ns > $lo", "start_ns <= $hi"]
    source = "spans"
    if trace_ids is not None:
        b["trace_ids"] = list(trace_ids)
        where.append("trace_id IN (SELECT unnest($trace_ids))")
        # Only the row groups holding these traces (trace_ranges), not the whole window's spans.
        source = f"spans, ({trace_range_sql('SELECT unnest($trace_ids) AS trace_id')}) r"
        where.append("received_ns BETWEEN r.lo AND r.hi")
    grp = _GROUP_EXPR[rule.scope.kind]
    scope_filter = _scope_filter(rule, b)
    badness_agg = "sum(badness)" if plan.trace_badness == "sum" else "max(badness)"
    sql = f"""WITH s AS (SELECT {_SPAN_COLUMNS} FROM {source} WHERE {" AND ".join(where)}),
tw AS (SELECT trace_id, arg_min(workflow_name, start_ns) AS wf FROM s
       WHERE workflow_name IS NOT NULL GROUP BY trace_id),
tg AS (SELECT DISTINCT s.trace_id, {grp} AS grp FROM s LEFT JOIN tw USING (trace_id) WHERE {scope_filter}),
{_TRACES_CTE},
x AS ({plan.units_sql}),
xs AS (SELECT * FROM x WHERE num IS NOT NULL AND grp IS NOT NULL),
v AS (SELECT grp, {plan.value_sql} AS value, {plan.samples_sql} AS samples, arg_max(detail, badness) AS detail
      FROM xs GROUP BY grp HAVING {plan.samples_sql} >= $min_samples {plan.having_extra}),
tr AS (SELECT grp, trace_id, {badness_agg} AS badness FROM xs WHERE bad GROUP BY grp, trace_id),
tl AS (SELECT grp, list(trace_id ORDER BY badness DESC, trace_id)[1:$max_traces] AS traces FROM tr GROUP BY grp)
SELECT v.grp, v.value, v.samples, coalesce(tl.traces, []::VARCHAR[]) AS traces, v.detail
FROM v LEFT JOIN tl USING (grp) WHERE v.value IS NOT NULL ORDER BY v.grp"""
    used = set(_PARAM.findall(sql))  # DuckDB rejects bound values the text does not use
    return sql, {k: v for k, v in b.items() if k in used}


def observe_rule(
    conn: duckdb.DuckDBPyConnection, rule: Rule, now_ns: int, trace_ids: Sequence[str] | None = None
) -> list[Observation]:
    """The rule's value for each scope group that has data; `trace_ids` limits a per-task check."""
    sql, params = _build(rule, now_ns, trace_ids)
    rows = conn.execute(sql, params).fetchall()
    return [
        Observation(
            rule=rule.name,
            group=str(grp),
            value=float(value),
            samples=int(samples),
            breached=rule.breaches(float(value)),
            trace_ids=tuple(traces),
            detail=detail,
        )
        for grp, value, samples, traces, detail in rows
    ]
