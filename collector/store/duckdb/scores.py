"""The scores table on DuckDB: created with the store's other tables, written in one transaction, read
newest first. Ids continue past the largest one held, so scores copied in by `agentdeck store copy`
keep theirs and new ones never collide with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import duckdb
import pyarrow as pa

from agentdeck.collector.store.duckdb.alert_state import next_id
from agentdeck.collector.store.scores import COLUMNS, NewScore

DDL: Final = (
    "CREATE SEQUENCE IF NOT EXISTS scores_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS scores (
    id BIGINT PRIMARY KEY DEFAULT nextval('scores_id_seq'),
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    name VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    comment VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    created_ns BIGINT NOT NULL
)""",
)


def ensure_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the scores table if missing (idempotent)."""
    for stmt in DDL:
        conn.execute(stmt)


def add_scores(conn: duckdb.DuckDBPyConnection, scores: Sequence[NewScore]) -> list[int]:
    """Insert the scores in one transaction; their ids."""
    ensure_table(conn)
    ids: list[int] = []
    conn.execute("BEGIN TRANSACTION")
    try:
        for s in scores:
            row = conn.execute(
                f"INSERT INTO scores (id, trace_id, span_id, name, value, comment, source, created_ns)"
                f" VALUES ({next_id('scores')}, $t, $s, $n, $v, $c, $src, $at) RETURNING id",
                {"t": s.trace_id, "s": s.span_id, "n": s.name, "v": s.value, "c": s.comment,
                 "src": s.source, "at": s.created_ns},
            ).fetchone()  # fmt: skip
            assert row is not None
            ids.append(int(row[0]))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ids


def _has_table(conn: duckdb.DuckDBPyConnection) -> bool:
    rows = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scores'").fetchall()
    return bool(rows[0][0])


def read_scores(
    conn: duckdb.DuckDBPyConnection,
    *,
    trace_id: str | None,
    name: str | None,
    source: str | None,
    since_ns: int | None,
    limit: int,
) -> pa.Table:
    """Scores, newest first, filtered by whichever of trace, name, source and time are given."""
    if not _has_table(conn):  # a file from before scores, opened read-only
        return pa.table({c: pa.array([], pa.string()) for c in COLUMNS})
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for key, value, cond in (
        ("trace_id", trace_id, "trace_id = $trace_id"),
        ("name", name, "name = $name"),
        ("source", source, "source = $source"),
        ("since", since_ns, "created_ns >= $since"),
    ):
        if value is not None:
            where.append(cond)
            params[key] = value
    sql = f"SELECT {', '.join(COLUMNS)} FROM scores"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.sql(sql + " ORDER BY created_ns DESC, id DESC LIMIT $limit", params=params).to_arrow_table()
