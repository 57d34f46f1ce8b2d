"""DuckDB's statements for the span table and its `trace_ranges` index (the columns are `schema.COLUMNS`)."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.schema import COLUMNS


def create_table_sql(table: str = "spans") -> str:
    cols = ",\n    ".join(f"{name} {typ}" for name, typ in COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols}\n)"


# `trace_ranges`: where each trace's spans sit in the file. One row per (trace, committed batch): the
# trace's key and the range of `received_ns` of its rows in that batch. Rows are appended in arrival
# order, so a lookup by trace id reads this table (about a tenth of the rows, one BIGINT column to
# compare), then only the row groups of `spans` whose `received_ns` zonemap overlaps the range,
# instead of comparing every stored trace_id (35 ms -> 7 ms for one trace at 10M spans).
# The key is the first 60 bits of the hex trace id: a collision only widens the range, because
# every reader still filters `spans` on the full trace_id.
TRACE_RANGES_SQL: Final = """CREATE TABLE IF NOT EXISTS trace_ranges (
    trace_key BIGINT,
    first_received_ns BIGINT,
    last_received_ns BIGINT
)"""


def trace_key_sql(expr: str) -> str:
    """SQL for the `trace_ranges.trace_key` of the hex trace id `expr` (a column or a bound value)."""
    return f"TRY_CAST('0x' || left({expr}, 15) AS BIGINT)"


def trace_range_sql(trace_ids: str, *, one: bool = False) -> str:
    """SQL of one row `(lo, hi)`: the `received_ns` range holding every stored span of the traces
    named by `trace_ids` (a query with a `trace_id` column, or with `one=True` a SQL expression of
    one trace id); NULLs when none is stored. Join it to `spans` with `received_ns BETWEEN lo AND
    hi`: DuckDB then reads only the row groups whose zonemap overlaps the range."""
    keys = f"= {trace_key_sql(trace_ids)}" if one else f"IN (SELECT {trace_key_sql('trace_id')} FROM ({trace_ids}))"
    return f"SELECT min(first_received_ns) AS lo, max(last_received_ns) AS hi FROM trace_ranges WHERE trace_key {keys}"
