"""The named queries in ClickHouse SQL: the same names, parameters, rows, columns and order as the
DuckDB store's (the conformance tests compare them on one fixture), over `spans FINAL`.

Dialect differences handled here: `argMin` for arg_min, `quantilesExactInclusive` for
quantile_cont (and NULL, not nan, over no rows), `{name:Type}` parameters for `$name`, `uniqExact`
for count(DISTINCT), `join_use_nulls=1` so outer joins give NULL like SQL, and counts cast to Int64.
Parameters are parsed by the shared query specs (`store.query.QUERIES`), so a bad one answers the
same 400 on every store. Queries not ported yet answer 501 naming the ones that are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from agentdeck.collector.store.queries.params import Args, QueryError, parse_params
from agentdeck.collector.store.queries.traces import PAYLOAD_COLUMNS
from agentdeck.collector.store.query import QUERIES, TRUNCATED_KEY
from agentdeck.collector.store.schema import COLUMN_NAMES
from agentdeck.engine.semconv import RETRY_REASONS

SETTINGS: Final[dict[str, object]] = {"join_use_nulls": 1}


@dataclass
class Binder:
    """Collects bound values; `bind` returns the `{name:Type}` placeholder to put in the SQL text."""

    values: dict[str, object] = field(default_factory=dict)

    def bind(self, name: str, value: object, typ: str) -> str:
        self.values[name] = value
        return f"{{{name}:{typ}}}"


def span_filter(args: Args, b: Binder) -> str:
    start = b.bind("start_ns", args.integer("start_ns"), "Int64")
    end = b.bind("end_ns", args.integer("end_ns"), "Int64")
    where = [f"start_ns >= {start}", f"start_ns < {end}"]
    service = args.opt_text("service")
    if service is not None:
        where.append(f"service_name = {b.bind('service', service, 'String')}")
    workflow = args.opt_text("workflow")
    if workflow is not None:
        wf = b.bind("workflow", workflow, "String")
        where.append(
            "trace_id IN (SELECT trace_id FROM spans FINAL "
            f"WHERE start_ns >= {start} AND start_ns < {end} AND workflow_name = {wf})"
        )
    return " AND ".join(where)


def _quantile(q: float, expr: str) -> str:
    return f"if(count() = 0, NULL, quantileExactInclusive({q})({expr}))"


TRACE_STATUS: Final = """multiIf(
    outcome IS NOT NULL, if(outcome IN ('success', 'incomplete'), 'ok', 'error'),
    root_error OR (NOT has_root AND error_count > 0), 'error',
    'ok')"""
TRACE_COMPLETED: Final = "(outcome = 'success' OR (outcome IS NULL AND status = 'ok'))"


def build_overview(args: Args, b: Binder) -> str:
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
f AS (SELECT *, {TRACE_STATUS} AS status FROM t),
a AS (SELECT count() AS attempts, countIf(attempt > 1) AS retries FROM s WHERE span_type = 'agent')
SELECT
  toInt64(count()) AS tasks,
  toInt64(countIf({TRACE_COMPLETED})) AS completed,
  countIf({TRACE_COMPLETED}) / nullIf(count(), 0) AS completion_rate,
  toInt64(countIf(status = 'error')) AS errors,
  toFloat64(coalesce(sum(cost_usd), 0)) AS spend_usd,
  if(count() = 0, NULL, avg(cost_usd)) AS cost_per_task_avg,
  {_quantile(0.5, "cost_usd")} AS cost_per_task_p50,
  {_quantile(0.95, "cost_usd")} AS cost_per_task_p95,
  {_quantile(0.99, "cost_usd")} AS cost_per_task_p99,
  {_quantile(0.5, "duration_ms")} AS latency_p50_ms,
  {_quantile(0.95, "duration_ms")} AS latency_p95_ms,
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
    ctes.append(f"""e AS (SELECT {wf}{_AGENT} AS agent, topK(1)(coalesce(error_type, 'error'))[1] AS top_error_type
  FROM {source} WHERE {where} AND status_code = 'ERROR' GROUP BY {keys})""")
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


def build_trace(args: Args, b: Binder) -> str:
    trace_id = args.text("trace_id")
    if len(trace_id) != 32:
        raise QueryError(400, f"parameter 'trace_id' got {trace_id!r}; it accepts 32 lowercase hex characters")
    skip = () if args.text("columns") == "all" else PAYLOAD_COLUMNS
    select = ", ".join(c for c in COLUMN_NAMES if c not in skip)
    tid = b.bind("trace_id", trace_id, "String")
    where = f"trace_id = {tid}"
    span_id = args.opt_text("span_id")
    if span_id is not None:
        if len(span_id) != 16:
            raise QueryError(400, f"parameter 'span_id' got {span_id!r}; it accepts 16 lowercase hex characters")
        where += f" AND span_id = {b.bind('span_id', span_id, 'String')}"
    # The trace index gives the trace's start_ns range: only the granules of its hours are read.
    return f"""WITH (SELECT (min(lo), max(hi)) FROM trace_index WHERE trace_id = {tid}) AS r
SELECT {select} FROM spans FINAL WHERE start_ns BETWEEN r.1 AND r.2 AND {where} ORDER BY start_ns, span_id"""


BUILDERS: Final[dict[str, Callable[[Args, Binder], str]]] = {
    "overview": build_overview,
    "agent_metrics": build_agent_metrics,
    "trace": build_trace,
}


def prepare(name: str, params: Mapping[str, str]) -> tuple[str, dict[str, object], int]:
    """The SQL (with LIMIT), its bound values, and how many rows the query answers at most."""
    spec = QUERIES.get(name)
    if spec is None:
        raise QueryError(404, f"no query named {name[:80]!r}; the queries are: {', '.join(QUERIES)}")
    build = BUILDERS.get(name)
    if build is None:
        raise QueryError(501, f"query {name!r} is not available on ClickHouse yet; these are: {', '.join(BUILDERS)}")
    args = parse_params(name, spec.params, params)
    binder = Binder()
    sql = build(args, binder)
    limit = spec.max_rows
    if spec.limit_param is not None:
        limit = min(args.integer(spec.limit_param), spec.max_rows)
    offset = args.integer("offset") if "offset" in args.values else 0
    sql += (
        f"\nLIMIT {binder.bind('row_limit', limit + 1, 'UInt64')} OFFSET {binder.bind('row_offset', offset, 'UInt64')}"
    )
    return sql, binder.values, limit


def plain(table: pa.Table, limit: int) -> pa.Table:
    """ClickHouse's answer in the store-neutral Arrow kinds (string, int64, float64, bool), cut to
    `limit` rows with the `agentdeck.truncated` flag."""
    columns = []
    for col in table.columns:
        typ = col.type
        if pa.types.is_dictionary(typ):
            col = col.cast(typ.value_type)
            typ = col.type
        if pa.types.is_large_string(typ) or pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            col = col.cast(pa.string())
        elif pa.types.is_integer(typ) and typ != pa.int64():
            col = col.cast(pa.int64())
        elif pa.types.is_floating(typ) and typ != pa.float64():
            col = col.cast(pa.float64())
        columns.append(col)
    out = pa.Table.from_arrays(columns, names=table.column_names)
    truncated = out.num_rows > limit
    if truncated:
        out = out.slice(0, limit)
    return out.replace_schema_metadata({TRUNCATED_KEY: b"true" if truncated else b"false"})
