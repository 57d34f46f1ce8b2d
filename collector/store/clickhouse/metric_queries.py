"""Headline and per-agent metrics in ClickHouse SQL: `overview`, `agent_metrics`, `agent_nodes`
(the DuckDB store's queries/metrics.py, the same rows)."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.clickhouse.reference import Args
from agentdeck.collector.store.clickhouse.sql import TRACE_COMPLETED, TRACE_FINISHED, TRACE_STATUS, Binder, span_filter
from agentdeck.collector.store.clickhouse.sql import quantile as _quantile
from agentdeck.engine.semconv import RETRY_REASONS


def build_overview(args: Args, b: Binder) -> str:
    # Rates and per-task figures count finished tasks only, as the alerts do; spend, tokens and calls
    # count every span in the range.
    return f"""
WITH s AS (SELECT trace_id, start_ns, end_ns, parent_span_id, outcome, status_code, span_type, attempt,
             input_tokens, output_tokens, cost_usd, usage_counted
           FROM spans FINAL WHERE {span_filter(args, b)}),
t AS (SELECT trace_id, (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms, max(outcome) AS outcome,
        max(parent_span_id IS NULL) AS has_root, max(parent_span_id IS NULL AND status_code = 'ERROR') AS root_error,
        countIf(status_code = 'ERROR') AS error_count, countIf(span_type = 'llm' AND usage_counted) AS llm_calls,
        sumIf(coalesce(input_tokens, 0), usage_counted) AS input_tokens,
        sumIf(coalesce(output_tokens, 0), usage_counted) AS output_tokens,
        sumIf(coalesce(cost_usd, 0), usage_counted) AS cost_usd
      FROM s GROUP BY trace_id),
f AS (SELECT *, {TRACE_STATUS} AS status, {TRACE_FINISHED} AS finished, {TRACE_COMPLETED} AS completed FROM t),
a AS (SELECT count() AS attempts, countIf(attempt > 1) AS retries FROM s WHERE span_type = 'agent')
SELECT
  toInt64(countIf(finished)) AS tasks,
  toInt64(countIf(completed)) AS completed,
  countIf(completed) / nullIf(countIf(finished), 0) AS completion_rate,
  toInt64(countIf(finished AND status = 'error')) AS errors,
  toInt64(countIf(NOT finished)) AS in_progress,
  toFloat64(coalesce(sum(cost_usd), 0)) AS spend_usd,
  if(countIf(finished) = 0, NULL, avgIf(cost_usd, finished)) AS cost_per_task_avg,
  {_quantile(0.5, "cost_usd", "finished")} AS cost_per_task_p50,
  {_quantile(0.95, "cost_usd", "finished")} AS cost_per_task_p95,
  {_quantile(0.99, "cost_usd", "finished")} AS cost_per_task_p99,
  {_quantile(0.5, "duration_ms", "finished")} AS latency_p50_ms,
  {_quantile(0.95, "duration_ms", "finished")} AS latency_p95_ms,
  toInt64(coalesce(sum(llm_calls), 0)) AS llm_calls,
  (SELECT retries / nullIf(attempts, 0) FROM a) AS retry_rate,
  toInt64(coalesce(sum(input_tokens), 0)) AS input_tokens,
  toInt64(coalesce(sum(output_tokens), 0)) AS output_tokens
FROM f"""


_FIRST: Final = "coalesce(attempt, 1) = 1"
_RETRY: Final = "attempt > 1"
_AGENT: Final = "coalesce(agent_name, if(span_type = 'agent', name, NULL))"
_COUNTS: Final = ("invocations", "attempts", "first_ok", "retries", "failed_attempts")


def _agent_aggregate(args: Args, b: Binder, *, by_workflow: bool) -> str:
    """CTEs ending in `g`: one row per agent (or workflow x agent), as the DuckDB store's."""
    where = span_filter(args, b)
    ctes: list[str] = []
    keys, wf, source = "agent", "", "spans FINAL"
    if by_workflow:
        ctes.append(
            "tw AS (SELECT trace_id, argMin(workflow_name, start_ns) AS wf FROM spans FINAL "
            f"WHERE {where} AND workflow_name IS NOT NULL GROUP BY trace_id)"
        )
        keys, wf, source = "wf, agent", "tw.wf AS wf, ", "spans AS sp FINAL LEFT JOIN tw USING (trace_id)"
    by_reason = "".join(f",\n    countIf({_RETRY} AND retry_reason = '{r}') AS retries_{r}" for r in RETRY_REASONS)
    ctes.append(f"""a AS (SELECT {wf}{_AGENT} AS agent,
    countIf({_FIRST}) AS invocations,
    count() AS attempts,
    countIf({_FIRST} AND status_code != 'ERROR') AS first_ok,
    countIf({_RETRY}) AS retries{by_reason},
    countIf(status_code = 'ERROR') AS failed_attempts,
    quantilesExactInclusive(0.5, 0.95, 0.99)(duration_ms) AS q_ms,
    uniqExact(trace_id) AS step_tasks
  FROM {source} WHERE {where} AND span_type = 'agent' GROUP BY {keys})""")
    # (ClickHouse resolves a name to a SELECT alias first: the sums get names no column has.)
    ctes.append(f"""u AS (SELECT {wf}agent_name AS agent,
    coalesce(sum(input_tokens), 0) AS u_input_tokens,
    coalesce(sum(output_tokens), 0) AS u_output_tokens,
    coalesce(sum(cost_usd), 0.0) AS u_cost_usd
  FROM {source} WHERE {where} AND usage_counted AND agent_name IS NOT NULL
    AND (cost_usd IS NOT NULL OR input_tokens IS NOT NULL OR output_tokens IS NOT NULL) GROUP BY {keys})""")
    ctes.append(f"""ut AS (SELECT {wf}agent_name AS agent, uniqExact(trace_id) AS usage_tasks
  FROM {source} WHERE {where} AND usage_counted AND agent_name IS NOT NULL
    AND agent_name NOT IN (SELECT agent FROM a WHERE agent IS NOT NULL) GROUP BY {keys})""")
    # The most frequent error type, ties by name (as the reference).
    ctes.append(f"""e0 AS (SELECT {wf}{_AGENT} AS agent, coalesce(error_type, 'error') AS et, count() AS n
  FROM {source} WHERE {where} AND status_code = 'ERROR' GROUP BY {keys}, et)""")
    ctes.append(f"""e AS (SELECT {keys}, et AS top_error_type FROM (
  SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY n DESC, et) AS rk FROM e0) WHERE rk = 1)""")
    counts = (*_COUNTS, *(f"retries_{r}" for r in RETRY_REASONS))
    zero = ", ".join(f"toInt64(coalesce({c}, 0)) AS {c}" for c in counts)
    ctes.append(f"""g AS (SELECT {keys}, {zero}, toInt64(coalesce(u_input_tokens, 0)) AS input_tokens,
    toInt64(coalesce(u_output_tokens, 0)) AS output_tokens, toFloat64(coalesce(u_cost_usd, 0)) AS cost_usd,
    q_ms[1] AS p50_ms, q_ms[2] AS p95_ms, q_ms[3] AS p99_ms,
    toInt64(coalesce(step_tasks, usage_tasks, 0)) AS tasks, top_error_type
  FROM a FULL JOIN u USING ({keys}) LEFT JOIN ut USING ({keys}) LEFT JOIN e USING ({keys})
  WHERE agent IS NOT NULL)""")
    return "WITH " + ",\n".join(ctes)


def build_agent_metrics(args: Args, b: Binder) -> str:
    by_workflow = args.flag("by_workflow")
    reasons = "".join(f"retries_{r}, " for r in RETRY_REASONS)
    return f"""{_agent_aggregate(args, b, by_workflow=by_workflow)}
SELECT {"wf AS workflow_name, " if by_workflow else ""}agent AS agent_name, invocations, attempts,
  first_ok / nullIf(invocations, 0) AS first_attempt_success_rate,
  retries / nullIf(attempts, 0) AS retry_rate, {reasons}
  failed_attempts / nullIf(attempts, 0) AS error_rate,
  p50_ms, p95_ms, p99_ms, input_tokens, output_tokens, cost_usd, tasks,
  cost_usd / nullIf(tasks, 0) AS cost_per_task, top_error_type
FROM g ORDER BY {"wf ASC NULLS LAST, " if by_workflow else ""}invocations DESC, cost_usd DESC, agent"""


# A step's success, as the reference's queries/metrics.py STEP_SUCCESS: its last attempt succeeded.
STEP_SUCCESS: Final = """least(1.0, greatest(
    (invocations - greatest(failed_attempts - retries, 0)) / nullIf(invocations, 0),
    first_ok / nullIf(invocations, 0)))"""


def build_agent_nodes(args: Args, b: Binder) -> str:
    return f"""{_agent_aggregate(args, b, by_workflow=False)}
SELECT agent AS agent_name, invocations, attempts,
  {STEP_SUCCESS} AS success_rate,
  first_ok / nullIf(invocations, 0) AS first_attempt_success_rate,
  p50_ms, p95_ms, cost_usd, cost_usd / nullIf(tasks, 0) AS cost_per_task,
  retries / nullIf(attempts, 0) AS retry_rate, tasks
FROM g WHERE attempts > 0 ORDER BY invocations DESC, agent"""
