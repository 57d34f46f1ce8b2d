"""Spend, trends and the agent graph in ClickHouse SQL: `cost_breakdown`, `cache_savings`, `timeseries`,
`transitions` (the DuckDB store's queries/costs.py, timeseries.py and graph.py, the same rows)."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.clickhouse.reference import (
    COST_GROUPS,
    END,
    SERIES_COLUMNS,
    START,
    Args,
    QueryError,
    bucket_width_ns,
)
from agentdeck.collector.store.clickhouse.sql import MODEL, Binder, filtered_spans, trace_workflows
from agentdeck.engine import semconv as sc

_COST_COLUMNS: Final = (
    "trace_id, span_id, parent_span_id, start_ns, span_type, agent_name, workflow_name, service_name, "
    "provider, request_model, response_model, attempt, input_tokens, output_tokens, cost_usd, usage_counted"
)


def build_cost_breakdown(args: Args, b: Binder) -> str:
    group_by = args.text("group_by")
    ctes = [filtered_spans(args, b, _COST_COLUMNS)]
    join = ""
    if group_by == "workflow":
        ctes.append(trace_workflows())
        join = " LEFT JOIN tw USING (trace_id)"
    # A call belongs to a retried attempt when it says so itself or its parent agent span does.
    ctes.append(
        """p AS (SELECT trace_id, span_id AS parent_span_id, attempt AS parent_attempt
      FROM s WHERE span_type = 'agent'),
u AS (SELECT c.*, coalesce(c.attempt, p.parent_attempt, 1) AS eff_attempt
      FROM s AS c LEFT JOIN p ON p.trace_id = c.trace_id AND p.parent_span_id = c.parent_span_id
      WHERE c.usage_counted AND (c.cost_usd IS NOT NULL OR c.input_tokens IS NOT NULL
                                 OR c.output_tokens IS NOT NULL))"""
    )
    grp = COST_GROUPS[group_by]
    return f"""
WITH {", ".join(ctes)}
SELECT * FROM (SELECT toString(coalesce({grp}, '(none)')) AS "group",
  toFloat64(coalesce(sum(u.cost_usd), 0.0)) AS cost_usd,
  toInt64(coalesce(sum(u.input_tokens), 0)) AS input_tokens,
  toInt64(coalesce(sum(u.output_tokens), 0)) AS output_tokens,
  toInt64(countIf(u.span_type = 'llm')) AS calls,
  toFloat64(coalesce(sumIf(u.cost_usd, u.eff_attempt > 1), 0.0)) AS retry_cost_usd
FROM u{join}
GROUP BY "group") ORDER BY cost_usd DESC, "group"
"""


_SPAN_GROUP: Final = {
    "none": "'all'",
    "workflow": "tw.wf",
    "agent": "s.agent_name",
    "model": MODEL,
    "service": "s.service_name",
}
_TRACE_GROUP: Final = {"none": "'all'", "workflow": "t.wf", "service": "t.svc"}
_SPAN_METRICS: Final = {
    "spend": ("toFloat64(coalesce(sum(cost_usd), 0.0))", "usage_counted AND cost_usd IS NOT NULL"),
    "tokens": ("toFloat64(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)))", "usage_counted"),
    "llm_calls": ("toFloat64(count())", "span_type = 'llm' AND usage_counted"),
    "errors": ("toFloat64(count())", "status_code = 'ERROR'"),
    "retry_rate": ("countIf(attempt > 1) / count()", "span_type = 'agent'"),
}
_TRACES: Final = """t AS (SELECT trace_id, min(start_ns) AS start_ns,
    (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
    argMinIfOrNull(workflow_name, start_ns, workflow_name IS NOT NULL) AS wf,
    coalesce(argMinIfOrNull(service_name, start_ns, parent_span_id IS NULL), argMin(service_name, start_ns)) AS svc
  FROM s GROUP BY trace_id)"""


def _raw(key: str) -> str:
    return f"JSONExtractRaw(attributes, '{key}')"


def build_cache_savings(args: Args, b: Binder) -> str:
    hit = f"JSONExtractString(attributes, '{sc.AD_CACHE_KIND}') = 'semantic'"
    saved_in = f"toInt64OrNull({_raw(sc.AD_CACHE_SAVED_INPUT_TOKENS)})"
    saved_out = f"toInt64OrNull({_raw(sc.AD_CACHE_SAVED_OUTPUT_TOKENS)})"
    saved_usd = f"toFloat64OrNull({_raw(sc.AD_CACHE_SAVED_USD)})"
    s = filtered_spans(args, b, "agent_name, attributes", extra_where=("span_type = 'llm'",))
    return f"""
WITH {s}
SELECT coalesce(agent_name, '(none)') AS agent,
  toInt64(count()) AS calls,
  toInt64(countIf({hit})) AS semantic_hits,
  toInt64(coalesce(sumIf({saved_in} + {saved_out}, {hit}), 0)) AS saved_tokens,
  toFloat64(coalesce(sumIf({saved_usd}, {hit}), 0.0)) AS saved_usd
FROM s
GROUP BY agent HAVING countIf({hit}) > 0 ORDER BY saved_usd DESC, agent"""


def build_timeseries(args: Args, b: Binder) -> str:
    metric = args.text("metric")
    group_by = args.text("group_by")
    ctes = [filtered_spans(args, b, SERIES_COLUMNS)]
    start = b.bind("start_ns", args.integer("start_ns"), "Int64")
    width = b.bind("width_ns", bucket_width_ns(args, args.integer("buckets")), "Int64")
    trace_level = metric in ("tasks", "latency_p95") and group_by in _TRACE_GROUP
    if trace_level:
        ctes.append(_TRACES)
        grp = _TRACE_GROUP[group_by]
        agg = "toFloat64(count())" if metric == "tasks" else "quantileExactInclusive(0.95)(t.duration_ms)"
        source, ts, where = "t", "t.start_ns", "true"
    elif metric == "tasks":
        ctes.append(_TRACES)
        grp = _SPAN_GROUP[group_by]
        agg, source, ts = "toFloat64(uniqExact(s.trace_id))", "s JOIN t USING (trace_id)", "t.start_ns"
        where = f"{grp} IS NOT NULL"
    elif metric == "latency_p95":
        grp = _SPAN_GROUP[group_by]
        kind = "agent" if group_by == "agent" else "llm"
        agg, source, ts = "quantileExactInclusive(0.95)(s.duration_ms)", "s", "s.start_ns"
        where = f"s.span_type = '{kind}'"
    else:
        if metric == "retry_rate" and group_by == "model":
            raise QueryError(400, "metric 'retry_rate' cannot be grouped by model (agent steps have no model)")
        agg, where = _SPAN_METRICS[metric]
        source, ts = "s", "s.start_ns"
        if group_by == "workflow":
            ctes.append(trace_workflows())
            source = "s LEFT JOIN tw USING (trace_id)"
        grp = _SPAN_GROUP[group_by]
    return f"""
WITH {", ".join(ctes)}
SELECT {start} + bucket * {width} AS bucket_start_ns, group_name AS "group", value FROM (
  SELECT intDiv({ts} - {start}, {width}) AS bucket, toString(coalesce({grp}, '(none)')) AS group_name,
         {agg} AS value
  FROM {source} WHERE {where} GROUP BY bucket, group_name
) ORDER BY bucket_start_ns, "group"
"""


def build_transitions(args: Args, b: Binder) -> str:
    spans = filtered_spans(
        args,
        b,
        "trace_id, span_id, start_ns, coalesce(agent_name, name) AS agent",
        extra_where=("span_type = 'agent'", "coalesce(attempt, 1) = 1"),
    )
    return f"""
WITH {spans},
seq AS (SELECT agent,
    lagInFrame(toNullable(agent)) OVER w AS prev,
    leadInFrame(toNullable(agent)) OVER w AS next
  FROM s WINDOW w AS (PARTITION BY trace_id ORDER BY start_ns, span_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
edges AS (
  SELECT toString(coalesce(prev, '{START}')) AS source, toString(agent) AS target FROM seq
  UNION ALL
  SELECT toString(agent) AS source, '{END}' AS target FROM seq WHERE next IS NULL)
SELECT source, target, toInt64(count()) AS count FROM edges GROUP BY source, target
ORDER BY count DESC, source, target"""
