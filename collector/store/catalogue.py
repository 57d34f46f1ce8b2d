"""The named queries as every store answers them: their names and parameters, the paging marker
and the errors (docs/QUERY_API.md). Dialect-free; each store writes its own SQL for each name
(DuckDB's, the reference, in `store/duckdb/queries/`).
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from agentdeck.collector.store.query_params import QueryError

__all__ = ["DEFAULT_TIMEOUT_S", "QueryError", "is_truncated", "list_queries", "mark_truncated"]

DEFAULT_TIMEOUT_S: Final = 10.0
TRUNCATED_KEY: Final = b"agentdeck.truncated"


def list_queries() -> list[dict[str, object]]:
    """Every named query with its description and parameters (type, default, allowed values)."""
    from agentdeck.collector.store.duckdb.query import QUERIES  # the reference catalogue

    return [spec.describe() for spec in QUERIES.values()]


def mark_truncated(table: pa.Table, truncated: bool) -> pa.Table:
    return table.replace_schema_metadata({TRUNCATED_KEY: b"true" if truncated else b"false"})


def is_truncated(table: pa.Table) -> bool:
    """True when a named query left rows out (the JSON answer's `truncated`)."""
    meta = table.schema.metadata or {}
    return meta.get(TRUNCATED_KEY) == b"true"
