"""The named queries the dashboard, the CLI and scripts read the span store with.

`run_query(conn, name, params)` parses the text parameters of a request, runs the query with bound
values only, and answers an Arrow table. Anything a caller got wrong raises `QueryError` with the
HTTP status to answer (404 unknown query, 400 bad parameter, 503 timed out, out of memory or the
store recovering). See docs/QUERY_API.md.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final

import duckdb
import pyarrow as pa

from agentdeck.collector.store.catalogue import DEFAULT_TIMEOUT_S, is_truncated, list_queries, mark_truncated
from agentdeck.collector.store.duckdb.queries import costs, facets, graph, metrics, timeseries, traces
from agentdeck.collector.store.duckdb.queries.spec import QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import Binder
from agentdeck.collector.store.query_params import QueryError, parse_params

__all__ = ["DEFAULT_TIMEOUT_S", "QUERIES", "QueryError", "is_truncated", "list_queries", "run_query"]

QUERIES: Final[dict[str, QuerySpec]] = {
    spec.name: spec for module in (traces, metrics, timeseries, costs, graph, facets) for spec in module.SPECS
}


def run_query(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, str],
    *,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> pa.Table:
    """Run the named query on `conn` (a connection or cursor) and answer its rows.

    The table carries `agentdeck.truncated` in its schema metadata when more rows matched than
    the query answers (see `is_truncated`). The key `format` is ignored (it belongs to the HTTP layer).
    """
    spec = QUERIES.get(name)
    if spec is None:
        raise QueryError(404, f"no query named {name[:80]!r}; the queries are: {', '.join(QUERIES)}")
    args = parse_params(name, spec.params, params)
    binder = Binder()
    sql = spec.build(args, binder)
    limit = spec.max_rows
    if spec.limit_param is not None:
        limit = min(args.integer(spec.limit_param), spec.max_rows)
    row_limit = binder.bind("row_limit", limit + 1)
    row_offset = binder.bind("row_offset", args.integer("offset") if "offset" in args.values else 0)
    if not spec.pages_in_sql:
        sql += f"\nLIMIT {row_limit} OFFSET {row_offset}"

    timer = threading.Timer(timeout_s, conn.interrupt) if timeout_s else None
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        table = conn.sql(sql, params=binder.values).to_arrow_table()
    except duckdb.InterruptException:
        raise QueryError(
            503, f"query {name!r} took longer than {timeout_s:g} s; narrow the time range or filters"
        ) from None
    except duckdb.OutOfMemoryException:
        raise QueryError(
            503, f"query {name!r} ran out of memory (memory_limit_mb); retry later or narrow the time range or filters"
        ) from None
    except (duckdb.FatalException, duckdb.ConnectionException):  # the store is reopening its file
        raise QueryError(503, f"the store is recovering from a failure; retry query {name!r} shortly") from None
    finally:
        if timer is not None:
            timer.cancel()
    truncated = table.num_rows > limit
    if truncated:
        table = table.slice(0, limit)
    return mark_truncated(table, truncated)
