"""Queries about whole traces in ClickHouse SQL: `traces` (the list), `trace` (one), `task_costs`,
and `facets` (the DuckDB store's queries/traces.py and facets.py, the same rows)."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.clickhouse.reference import (
    DIMENSIONS,
    ORDER_COLUMNS,
    PAYLOAD_COLUMNS,
    PER_DIMENSION,
    STATUS_FILTERS,
    Args,
    QueryError,
)
from agentdeck.collector.store.clickhouse.sql import (
    TRACE_LABELS,
    TRACE_NUMBER_COLUMNS,
    TRACE_NUMBERS,
    TRACE_STATUS,
    Binder,
    filtered_spans,
    span_filter,
)
from agentdeck.collector.store.schema import COLUMN_NAMES

LIST_COLUMNS: Final = (
    "trace_id, root_name, workflow_name, service_name, start_ns, end_ns, duration_ms, span_count, "
    "toInt64(length(agent_list)) AS agent_count, llm_calls, error_count, retries, status, outcome, input_tokens, "
    "output_tokens, cost_usd, thread_id, replay_of, arrayStringConcat(agent_list, ',') AS agents"
)
_TEXT_FIELDS: Final = ("name", "input_messages", "output_messages", "status_message")


def build_traces(args: Args, b: Binder) -> str:
    columns = TRACE_NUMBER_COLUMNS
    extra: list[str] = []
    where: list[str] = []
    agent = args.opt_text("agent")
    if agent is not None:
        columns += ", agent_name"
        extra.append(f"max(coalesce(agent_name = {b.bind('agent', agent, 'String')}, false)) AS has_agent")
        where.append("has_agent")
    model = args.opt_text("model")
    if model is not None:
        columns += ", request_model, response_model"
        m = b.bind("model", model, "String")
        extra.append(f"max(coalesce(request_model = {m} OR response_model = {m}, false)) AS has_model")
        where.append("has_model")
    q = args.opt_text("q")
    if q is not None:
        columns += ", " + ", ".join(_TEXT_FIELDS)
        needle = b.bind("q", q.lower(), "String")
        hits = " OR ".join(f"coalesce(position(lower({f}), {needle}) > 0, false)" for f in _TEXT_FIELDS)
        extra.append(f"max({hits}) AS has_text")
        where.append("has_text")
    status = args.opt_text("status")
    if status is not None:
        where.append(STATUS_FILTERS[status])
    for param, cond in (
        ("min_cost", "cost_usd >= {}"),
        ("max_cost", "cost_usd <= {}"),
        ("min_duration_ms", "duration_ms >= {}"),
    ):
        value = args.opt_number(param)
        if value is not None:
            where.append(cond.format(b.bind(param, value, "Float64")))
    if args.flag("replays_only"):
        where.append("is_replay")
    prefix = args.opt_text("trace_id")
    narrow = [f"startsWith(trace_id, {b.bind('trace_prefix', prefix, 'String')})"] if prefix else []
    thread = args.opt_text("thread")
    if thread is not None:
        narrow.append(
            f"trace_id IN (SELECT trace_id FROM spans FINAL WHERE thread_id = {b.bind('thread', thread, 'String')})"
        )
    order = f"{ORDER_COLUMNS[args.text('order_by')]} {'DESC' if args.flag('desc') else 'ASC'}, trace_id"
    extra_sql = "".join(f",\n    {e}" for e in extra)
    label_where = " AND ".join((span_filter(args, b), *narrow))
    return f"""
WITH {filtered_spans(args, b, columns, extra_where=tuple(narrow))},
t AS (SELECT {TRACE_NUMBERS}{extra_sql} FROM s GROUP BY trace_id),
f AS (SELECT *, {TRACE_STATUS} AS status FROM t),
page AS (SELECT *, toInt64(count() OVER ()) AS total_count FROM f WHERE {" AND ".join(where) or "true"}
  ORDER BY {order} LIMIT {{row_limit:UInt64}} OFFSET {{row_offset:UInt64}}),
l AS (SELECT {TRACE_LABELS} FROM spans FINAL
  WHERE {label_where} AND trace_id IN (SELECT trace_id FROM page) GROUP BY trace_id)
SELECT {LIST_COLUMNS}, total_count FROM page LEFT JOIN l USING (trace_id)
ORDER BY {order}"""


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


def build_task_costs(args: Args, b: Binder) -> str:
    return f"""
WITH {filtered_spans(args, b, TRACE_NUMBER_COLUMNS)},
t AS (SELECT {TRACE_NUMBERS} FROM s GROUP BY trace_id),
page AS (SELECT *, {TRACE_STATUS} AS status FROM t ORDER BY cost_usd DESC, trace_id
  LIMIT {{row_limit:UInt64}} OFFSET {{row_offset:UInt64}}),
l AS (SELECT {TRACE_LABELS} FROM spans FINAL
  WHERE {span_filter(args, b)} AND trace_id IN (SELECT trace_id FROM page) GROUP BY trace_id)
SELECT trace_id, workflow_name, cost_usd, duration_ms, outcome, status, start_ns
FROM page LEFT JOIN l USING (trace_id) ORDER BY cost_usd DESC, trace_id"""


def build_facets(args: Args, b: Binder) -> str:
    spans = filtered_spans(args, b, "workflow_name, service_name, agent_name, request_model, response_model")
    unions = "\n  UNION ALL ".join(
        f"SELECT '{dim}' AS dimension, toString({expr}) AS value, "
        f"toInt64(count()) AS spans FROM s WHERE {expr} IS NOT NULL GROUP BY value"
        for dim, expr in DIMENSIONS.items()
    )
    per = b.bind("per_dimension", PER_DIMENSION, "UInt64")
    return f"""
WITH {spans},
v AS ({unions}),
r AS (SELECT *, row_number() OVER (PARTITION BY dimension ORDER BY spans DESC, value) AS rank FROM v)
SELECT dimension, value, spans FROM r WHERE rank <= {per} ORDER BY dimension, spans DESC, value"""
