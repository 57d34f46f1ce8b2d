"""The named queries in ClickHouse SQL: the same names, parameters, rows, columns and order as the
DuckDB store's (the conformance tests compare them on one fixture), over `spans FINAL`.

Dialect differences handled here: `argMin` for arg_min, `quantilesExactInclusive` for
quantile_cont (and NULL, not nan, over no rows), `{name:Type}` parameters for `$name`, `uniqExact`
for count(DISTINCT), `join_use_nulls=1` so outer joins give NULL like SQL, and counts cast to Int64.
Parameters are parsed by the shared query specs (`store.query.QUERIES`), so a bad one answers the
same 400 on every store. A query not ported answers 501 naming the ones that are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import pyarrow as pa

from agentdeck.collector.store.clickhouse import breakdown_queries, metric_queries, trace_queries
from agentdeck.collector.store.clickhouse.reference import QUERIES, TRUNCATED_KEY, Args, QueryError, parse_params
from agentdeck.collector.store.clickhouse.sql import Binder

# SQL semantics the DuckDB text assumes: outer joins give NULL, and a name in an expression is the column
# even where a SELECT alias has the same name (`max(end_ns) AS end_ns`).
SETTINGS: Final[dict[str, object]] = {
    "join_use_nulls": 1,
    "prefer_column_name_to_alias": 1,
    # A resend or fix-up of a span has its start_ns, so its partition (day): FINAL need not merge across days.
    "do_not_merge_across_partitions_select_final": 1,
}

BUILDERS: Final[dict[str, Callable[[Args, Binder], str]]] = {
    "overview": metric_queries.build_overview,
    "agent_metrics": metric_queries.build_agent_metrics,
    "agent_nodes": metric_queries.build_agent_nodes,
    "traces": trace_queries.build_traces,
    "trace": trace_queries.build_trace,
    "task_costs": trace_queries.build_task_costs,
    "facets": trace_queries.build_facets,
    "cost_breakdown": breakdown_queries.build_cost_breakdown,
    "cache_savings": breakdown_queries.build_cache_savings,
    "timeseries": breakdown_queries.build_timeseries,
    "transitions": breakdown_queries.build_transitions,
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
    row_limit = binder.bind("row_limit", limit + 1, "UInt64")
    row_offset = binder.bind("row_offset", offset, "UInt64")
    if not spec.pages_in_sql:
        sql += f"\nLIMIT {row_limit} OFFSET {row_offset}"
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
