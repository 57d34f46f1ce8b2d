"""`timeseries`: one metric over time, in equal buckets across the range, optionally per group.

Buckets without data are absent (the caller fills gaps). Task metrics (tasks, task latency) bucket a
trace by its first span; span metrics bucket each span by its own start.
"""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.queries.spec import MAX_BUCKETS, QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import MODEL, Binder, bucket_width_ns, filtered_spans, trace_workflows
from agentdeck.collector.store.query_params import COMMON, Args, Param, QueryError

METRICS: Final = ("tasks", "spend", "errors", "tokens", "latency_p95", "retry_rate", "llm_calls")
GROUPS: Final = ("none", "workflow", "agent", "model", "service")

_SPAN_GROUP: Final = {
    "none": "'all'",
    "workflow": "tw.wf",
    "agent": "s.agent_name",
    "model": MODEL,
    "service": "s.service_name",
}
_TRACE_GROUP: Final = {"none": "'all'", "workflow": "t.wf", "service": "t.svc"}
# Span metrics: (aggregate, row condition).
_SPAN_METRICS: Final = {
    "spend": ("coalesce(sum(cost_usd), 0.0)", "usage_counted AND cost_usd IS NOT NULL"),
    "tokens": ("sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))", "usage_counted"),
    "llm_calls": ("count(*)", "span_type = 'llm' AND usage_counted"),
    "errors": ("count(*)", "status_code = 'ERROR'"),
    "retry_rate": ("count(*) FILTER (WHERE attempt > 1) / count(*)", "span_type = 'agent'"),
}

_COLUMNS: Final = (
    "trace_id, parent_span_id, start_ns, end_ns, duration_ms, span_type, agent_name, workflow_name, "
    "service_name, request_model, response_model, status_code, attempt, input_tokens, output_tokens, "
    "cost_usd, usage_counted"
)
_TRACES: Final = """t AS (SELECT trace_id, min(start_ns) AS start_ns,
    (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
    arg_min(workflow_name, start_ns) FILTER (WHERE workflow_name IS NOT NULL) AS wf,
    coalesce(arg_min(service_name, start_ns) FILTER (WHERE parent_span_id IS NULL),
             arg_min(service_name, start_ns)) AS svc
  FROM s GROUP BY trace_id)"""

PARAMS: Final = (
    *COMMON,
    Param("metric", "enum", "what to measure", "tasks", allowed=METRICS),
    Param("group_by", "enum", "one series per value of", "none", allowed=GROUPS),
    Param("buckets", "int", "number of time buckets", 60, minimum=1, maximum=MAX_BUCKETS),
)


def build_timeseries(args: Args, b: Binder) -> str:
    metric = args.text("metric")
    group_by = args.text("group_by")
    ctes = [filtered_spans(args, b, _COLUMNS)]
    start = b.bind("start_ns", args.integer("start_ns"))
    width = b.bind("width_ns", bucket_width_ns(args, args.integer("buckets")))

    trace_level = metric in ("tasks", "latency_p95") and group_by in _TRACE_GROUP
    if trace_level:
        ctes.append(_TRACES)
        grp = _TRACE_GROUP[group_by]
        agg = "count(*)" if metric == "tasks" else "quantile_cont(t.duration_ms, 0.95)"
        source, ts, where = "t", "t.start_ns", "true"
    elif metric == "tasks":  # tasks touching each agent / model, bucketed by the trace's start
        ctes.append(_TRACES)
        grp = _SPAN_GROUP[group_by]
        agg, source, ts, where = (
            "count(DISTINCT s.trace_id)",
            "s JOIN t USING (trace_id)",
            "t.start_ns",
            f"{grp} IS NOT NULL",
        )
    elif metric == "latency_p95":  # agent steps per agent, LLM calls per model
        grp = _SPAN_GROUP[group_by]
        kind = "agent" if group_by == "agent" else "llm"
        agg, source, ts, where = "quantile_cont(s.duration_ms, 0.95)", "s", "s.start_ns", f"s.span_type = '{kind}'"
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
SELECT {start} + bucket * {width} AS bucket_start_ns, "group", value FROM (
  SELECT ({ts} - {start}) // {width} AS bucket, coalesce(CAST({grp} AS VARCHAR), '(none)') AS "group",
         {agg} AS value
  FROM {source} WHERE {where} GROUP BY ALL
) ORDER BY bucket_start_ns, "group\""""


SPECS: Final = (
    QuerySpec(
        "timeseries", "a metric over time, in buckets, optionally one series per group", PARAMS, build_timeseries
    ),
)
