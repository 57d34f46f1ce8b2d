"""Queries about whole traces (tasks): the trace list, one trace, and cost per task."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.ddl import trace_range_sql
from agentdeck.collector.store.duckdb.queries.spec import OFFSET, QuerySpec, limit_param
from agentdeck.collector.store.duckdb.queries.sql import (
    TRACE_LABELS,
    TRACE_NUMBER_COLUMNS,
    TRACE_NUMBERS,
    Binder,
    filtered_spans,
    span_filter,
)
from agentdeck.collector.store.duckdb.trace_facts import TRACE_STATUS
from agentdeck.collector.store.query_params import COMMON, Args, Param, QueryError

TRACE_MAX_ROWS: Final = 20_000

ORDER_COLUMNS: Final = {
    "start": "start_ns",
    "duration": "duration_ms",
    "cost": "cost_usd",
    "tokens": "(input_tokens + output_tokens)",
    "spans": "span_count",
}
STATUS_FILTERS: Final = {
    "ok": "status = 'ok'",
    "error": "status = 'error'",
    "incomplete": "outcome = 'incomplete'",
    "dead_letter": "outcome = 'dead_letter'",
}
LIST_COLUMNS: Final = (
    "trace_id, root_name, workflow_name, service_name, start_ns, end_ns, duration_ms, span_count, "
    "len(agent_list) AS agent_count, llm_calls, error_count, retries, status, outcome, input_tokens, "
    "output_tokens, cost_usd, thread_id, replay_of, array_to_string(agent_list, ',') AS agents"
)
_TEXT_FIELDS: Final = ("name", "input_messages", "output_messages", "status_message")

TRACES_PARAMS: Final = (
    *COMMON,
    Param("agent", "str", "only traces in which this agent ran", None, max_length=200),
    Param("status", "enum", "task status", None, allowed=tuple(STATUS_FILTERS)),
    Param("model", "str", "only traces that called this model (requested or answered)", None, max_length=200),
    Param("min_cost", "float", "minimum task cost, USD", None, minimum=0),
    Param("max_cost", "float", "maximum task cost, USD", None, minimum=0),
    Param("min_duration_ms", "float", "minimum task duration, ms", None, minimum=0),
    Param("q", "str", "case-insensitive text in span names, messages and status messages", None, max_length=200),
    Param("replays_only", "bool", "only replayed runs", False),
    Param("trace_id", "hex", "trace id prefix", None, max_length=32),
    Param("thread", "str", "only traces of this thread (a span with this thread_id)", None, max_length=200),
    Param("order_by", "enum", "sort column", "start", allowed=tuple(ORDER_COLUMNS)),
    Param("desc", "bool", "sort descending", True),
    limit_param(100),
    OFFSET,
)


def build_traces(args: Args, b: Binder) -> str:
    columns = TRACE_NUMBER_COLUMNS
    extra: list[str] = []
    where: list[str] = []
    agent = args.opt_text("agent")
    if agent is not None:
        columns += ", agent_name"
        extra.append(f"bool_or(agent_name = {b.bind('agent', agent)}) AS has_agent")
        where.append("has_agent")
    model = args.opt_text("model")
    if model is not None:
        columns += ", request_model, response_model"
        m = b.bind("model", model)
        extra.append(f"bool_or(request_model = {m} OR response_model = {m}) AS has_model")
        where.append("has_model")
    q = args.opt_text("q")
    if q is not None:
        columns += ", " + ", ".join(_TEXT_FIELDS)
        needle = b.bind("q", q.lower())
        hits = " OR ".join(f"contains(lower({f}), {needle})" for f in _TEXT_FIELDS)
        extra.append(f"coalesce(bool_or({hits}), false) AS has_text")
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
            where.append(cond.format(b.bind(param, value)))
    if args.flag("replays_only"):
        where.append("is_replay")
    prefix = args.opt_text("trace_id")
    narrow = [f"starts_with(trace_id, {b.bind('trace_prefix', prefix)})"] if prefix else []
    thread = args.opt_text("thread")
    if thread is not None:
        narrow.append(f"trace_id IN (SELECT trace_id FROM spans WHERE thread_id = {b.bind('thread', thread)})")

    order = f"{ORDER_COLUMNS[args.text('order_by')]} {'DESC' if args.flag('desc') else 'ASC'}, trace_id"
    extra_sql = "".join(f",\n    {e}" for e in extra)
    return f"""
WITH {filtered_spans(args, b, columns, extra_where=narrow)},
t AS (SELECT {TRACE_NUMBERS}{extra_sql} FROM s GROUP BY trace_id),
f AS (SELECT *, {TRACE_STATUS} AS status FROM t),
page AS (SELECT *, count(*) OVER () AS total_count FROM f WHERE {" AND ".join(where) or "true"}
  ORDER BY {order} LIMIT $row_limit OFFSET $row_offset),
l AS (SELECT {TRACE_LABELS} FROM spans
  WHERE {span_filter(args, b, narrow)} AND trace_id IN (SELECT trace_id FROM page) GROUP BY trace_id)
SELECT {LIST_COLUMNS}, total_count FROM page LEFT JOIN l USING (trace_id)
ORDER BY {order}"""


# The large text columns a span list (waterfall, tree) does not need; `columns=light` leaves them out.
PAYLOAD_COLUMNS: Final = ("input_messages", "output_messages", "attributes", "resource_attributes", "events", "links")


def build_trace(args: Args, b: Binder) -> str:
    trace_id = args.text("trace_id")
    if len(trace_id) != 32:
        raise QueryError(400, f"parameter 'trace_id' got {trace_id!r}; it accepts 32 lowercase hex characters")
    select = "spans.*" if args.text("columns") == "all" else f"spans.* EXCLUDE ({', '.join(PAYLOAD_COLUMNS)})"
    tid = b.bind("trace_id", trace_id)
    where = f"trace_id = {tid}"
    span_id = args.opt_text("span_id")
    if span_id is not None:
        if len(span_id) != 16:
            raise QueryError(400, f"parameter 'span_id' got {span_id!r}; it accepts 16 lowercase hex characters")
        where += f" AND span_id = {b.bind('span_id', span_id)}"
    # The trace's received_ns range (trace_ranges) lets DuckDB read only the row groups holding it.
    return f"""WITH r AS ({trace_range_sql(tid, one=True)})
SELECT {select} FROM spans, r WHERE received_ns BETWEEN r.lo AND r.hi AND {where} ORDER BY start_ns, span_id"""


def build_task_costs(args: Args, b: Binder) -> str:
    return f"""
WITH {filtered_spans(args, b, TRACE_NUMBER_COLUMNS)},
t AS (SELECT {TRACE_NUMBERS} FROM s GROUP BY trace_id),
page AS (SELECT *, {TRACE_STATUS} AS status FROM t ORDER BY cost_usd DESC, trace_id
  LIMIT $row_limit OFFSET $row_offset),
l AS (SELECT {TRACE_LABELS} FROM spans
  WHERE {span_filter(args, b)} AND trace_id IN (SELECT trace_id FROM page) GROUP BY trace_id)
SELECT trace_id, workflow_name, cost_usd, duration_ms, outcome, status, start_ns
FROM page LEFT JOIN l USING (trace_id) ORDER BY cost_usd DESC, trace_id"""


SPECS: Final = (
    QuerySpec(
        "traces",
        "the trace list: one row per trace (task), filtered, sorted and paged",
        TRACES_PARAMS,
        build_traces,
        limit_param="limit",
        pages_in_sql=True,
    ),
    QuerySpec(
        "trace",
        "every span of one trace, by start time",
        (
            Param("trace_id", "hex", "the trace id, 32 hex characters", None, required=True, max_length=32),
            Param("span_id", "hex", "only this span (16 hex characters)", None, max_length=16),
            Param(
                "columns",
                "enum",
                "all: every column; light: without the message/attribute/event text",
                "all",
                allowed=("all", "light"),
            ),
        ),
        build_trace,
        max_rows=TRACE_MAX_ROWS,
    ),
    QuerySpec(
        "task_costs",
        "cost per task, most expensive first (for distributions and the top tasks)",
        (*COMMON, limit_param(5_000), OFFSET),
        build_task_costs,
        limit_param="limit",
        pages_in_sql=True,
    ),
)
