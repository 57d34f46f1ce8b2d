"""Headline and per-agent metrics: `overview`, `agent_metrics`, `agent_nodes`.

An agent step is an agent span with attempt 1 (or no attempt); each retry is another agent span
with attempt > 1 and a retry_reason. Tokens and cost only count rows with usage_counted.
Success (`agent_nodes.success_rate`) is per step, retries included; first-attempt success is the share
of steps whose first attempt succeeded, so success is never below it.
"""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.queries.spec import QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import (
    TRACE_NUMBER_COLUMNS,
    TRACE_NUMBERS,
    Binder,
    filtered_spans,
    span_filter,
)
from agentdeck.collector.store.duckdb.trace_facts import TRACE_COMPLETED, TRACE_FINISHED, TRACE_STATUS
from agentdeck.collector.store.query_params import COMMON, END_NS, SERVICE, START_NS, Args, Param
from agentdeck.engine.semconv import RETRY_REASONS

WORKFLOW_REQUIRED: Final = Param("workflow", "str", "the workflow", None, required=True, max_length=200)


def build_overview(args: Args, b: Binder) -> str:
    # Rates and per-task figures count finished tasks only (trace_facts), as the alerts do; spend,
    # tokens and calls count every span in the range.
    return f"""
WITH {filtered_spans(args, b, TRACE_NUMBER_COLUMNS)},
t AS (SELECT {TRACE_NUMBERS} FROM s GROUP BY trace_id),
f AS (SELECT *, {TRACE_STATUS} AS status, {TRACE_FINISHED} AS finished, {TRACE_COMPLETED} AS completed FROM t),
a AS (SELECT count(*) AS attempts, count(*) FILTER (WHERE attempt > 1) AS retries
      FROM s WHERE span_type = 'agent')
SELECT
  count(*) FILTER (WHERE finished) AS tasks,
  count(*) FILTER (WHERE completed) AS completed,
  count(*) FILTER (WHERE completed) / nullif(count(*) FILTER (WHERE finished), 0) AS completion_rate,
  count(*) FILTER (WHERE finished AND status = 'error') AS errors,
  count(*) FILTER (WHERE NOT finished) AS in_progress,
  coalesce(sum(cost_usd), 0.0) AS spend_usd,
  avg(cost_usd) FILTER (WHERE finished) AS cost_per_task_avg,
  quantile_cont(cost_usd, 0.5) FILTER (WHERE finished) AS cost_per_task_p50,
  quantile_cont(cost_usd, 0.95) FILTER (WHERE finished) AS cost_per_task_p95,
  quantile_cont(cost_usd, 0.99) FILTER (WHERE finished) AS cost_per_task_p99,
  quantile_cont(duration_ms, 0.5) FILTER (WHERE finished) AS latency_p50_ms,
  quantile_cont(duration_ms, 0.95) FILTER (WHERE finished) AS latency_p95_ms,
  coalesce(sum(llm_calls), 0) AS llm_calls,
  any_value((SELECT retries / nullif(attempts, 0) FROM a)) AS retry_rate,
  coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens
FROM f"""


_FIRST: Final = "coalesce(attempt, 1) = 1"
_RETRY: Final = "attempt > 1"
_AGENT: Final = "coalesce(agent_name, CASE WHEN span_type = 'agent' THEN name END)"


def _agent_aggregate(args: Args, b: Binder, *, by_workflow: bool) -> str:
    """CTEs ending in `g`: one row per agent (or workflow x agent) with counts and sums.

    Agent steps, usage and errors are three narrow scans of `spans` (each filtered on the range
    first), joined per agent: cheaper than one scan computing everything under FILTERs.
    """
    where = span_filter(args, b)
    ctes: list[str] = []
    keys = "agent"
    wf = ""
    join = ""
    if by_workflow:
        ctes.append(
            "tw AS (SELECT trace_id, arg_min(workflow_name, start_ns) AS wf FROM spans "
            f"WHERE {where} AND workflow_name IS NOT NULL GROUP BY trace_id)"
        )
        keys, wf, join = "wf, agent", "tw.wf, ", " LEFT JOIN tw USING (trace_id)"
    by_reason = "".join(
        f",\n    count(*) FILTER (WHERE {_RETRY} AND retry_reason = '{r}') AS retries_{r}" for r in RETRY_REASONS
    )
    ctes.append(f"""a AS MATERIALIZED (SELECT {wf}{_AGENT} AS agent,
    count(*) FILTER (WHERE {_FIRST}) AS invocations,
    count(*) AS attempts,
    count(*) FILTER (WHERE {_FIRST} AND status_code <> 'ERROR') AS first_ok,
    count(*) FILTER (WHERE {_RETRY}) AS retries{by_reason},
    count(*) FILTER (WHERE status_code = 'ERROR') AS failed_attempts,
    quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS q_ms,
    count(DISTINCT hash(trace_id)) AS step_tasks
  FROM spans{join} WHERE {where} AND span_type = 'agent' GROUP BY ALL)""")
    ctes.append(f"""u AS (SELECT {wf}agent_name AS agent,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens,
    coalesce(sum(cost_usd), 0.0) AS cost_usd
  FROM spans{join} WHERE {where} AND usage_counted AND agent_name IS NOT NULL
    AND (cost_usd IS NOT NULL OR input_tokens IS NOT NULL OR output_tokens IS NOT NULL) GROUP BY ALL)""")
    # Agents known only from their LLM calls (no agent spans): count their tasks from those calls.
    ctes.append(f"""ut AS (SELECT {wf}agent_name AS agent, count(DISTINCT hash(trace_id)) AS usage_tasks
  FROM spans{join} WHERE {where} AND usage_counted AND agent_name IS NOT NULL
    AND agent_name NOT IN (SELECT agent FROM a WHERE agent IS NOT NULL) GROUP BY ALL)""")
    # The most frequent error type, ties by name: the same answer on every store (mode() breaks ties by scan order).
    ctes.append(f"""e0 AS (SELECT {wf}{_AGENT} AS agent, coalesce(error_type, 'error') AS et, count(*) AS n
  FROM spans{join} WHERE {where} AND status_code = 'ERROR' GROUP BY ALL)""")
    ctes.append(f"""e AS (SELECT {keys}, et AS top_error_type FROM (
  SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY n DESC, et) AS rk FROM e0) WHERE rk = 1)""")
    zero = ", ".join(
        f"coalesce({c}, 0) AS {c}"
        for c in (
            "invocations",
            "attempts",
            "first_ok",
            "retries",
            "failed_attempts",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            *(f"retries_{r}" for r in RETRY_REASONS),
        )
    )
    ctes.append(f"""g AS (SELECT {keys}, {zero}, q_ms[1] AS p50_ms, q_ms[2] AS p95_ms, q_ms[3] AS p99_ms,
    coalesce(step_tasks, usage_tasks, 0) AS tasks, top_error_type
  FROM a FULL JOIN u USING ({keys}) LEFT JOIN ut USING ({keys}) LEFT JOIN e USING ({keys})
  WHERE agent IS NOT NULL)""")
    return "WITH " + ",\n".join(ctes)


def build_agent_metrics(args: Args, b: Binder) -> str:
    by_workflow = args.flag("by_workflow")
    reasons = "".join(f"retries_{r}, " for r in RETRY_REASONS)
    return f"""{_agent_aggregate(args, b, by_workflow=by_workflow)}
SELECT {"wf AS workflow_name, " if by_workflow else ""}agent AS agent_name, invocations, attempts,
  first_ok / nullif(invocations, 0) AS first_attempt_success_rate,
  retries / nullif(attempts, 0) AS retry_rate, {reasons}
  failed_attempts / nullif(attempts, 0) AS error_rate,
  p50_ms, p95_ms, p99_ms, input_tokens, output_tokens, cost_usd, tasks,
  cost_usd / nullif(tasks, 0) AS cost_per_task, top_error_type
FROM g ORDER BY {"wf NULLS LAST, " if by_workflow else ""}invocations DESC, cost_usd DESC, agent"""


# A step's success: its last attempt succeeded. The engine retries only after a failed attempt, so the
# steps that failed in the end are the failed attempts that no retry followed (failed - retries), and
# success >= first-attempt success. Bounded by it, and by 1, for a range that cuts a step's attempts apart.
STEP_SUCCESS: Final = """least(1.0, greatest(
    (invocations - greatest(failed_attempts - retries, 0)) / nullif(invocations, 0),
    first_ok / nullif(invocations, 0)))"""


def build_agent_nodes(args: Args, b: Binder) -> str:
    return f"""{_agent_aggregate(args, b, by_workflow=False)}
SELECT agent AS agent_name, invocations, attempts,
  {STEP_SUCCESS} AS success_rate,
  first_ok / nullif(invocations, 0) AS first_attempt_success_rate,
  p50_ms, p95_ms, cost_usd, cost_usd / nullif(tasks, 0) AS cost_per_task,
  retries / nullif(attempts, 0) AS retry_rate, tasks
FROM g WHERE attempts > 0 ORDER BY invocations DESC, agent"""


SPECS: Final = (
    QuerySpec("overview", "headline numbers for the range (one row)", COMMON, build_overview, max_rows=1),
    QuerySpec(
        "agent_metrics",
        "per agent (or per workflow x agent): steps, attempts, success, retries by reason, latency, cost",
        (*COMMON, Param("by_workflow", "bool", "one row per workflow x agent", False)),
        build_agent_metrics,
    ),
    QuerySpec(
        "agent_nodes",
        "node metrics of a workflow's agent graph",
        (START_NS, END_NS, WORKFLOW_REQUIRED, SERVICE),
        build_agent_nodes,
    ),
)
