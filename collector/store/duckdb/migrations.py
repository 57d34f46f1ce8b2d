"""The span store's schema versions: creating a new file's tables and moving an older file forward,
one version at a time, each step inside the same transaction as the version it records."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

import duckdb

from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.duckdb.ddl import TRACE_RANGES_SQL, create_table_sql, trace_key_sql

# Migrations: MIGRATIONS[v] moves a file from schema version v to v + 1 (inside one transaction).
from agentdeck.collector.store.schema import SCHEMA_VERSION

# Migrations: MIGRATIONS[v] moves a file from schema version v to v + 1 (inside one transaction).
Migration = Callable[[duckdb.DuckDBPyConnection], None]


def append_trace_ranges(conn: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Record in `trace_ranges` where the traces of `rows` (a table or view of spans rows just
    appended to `spans`, or `spans` itself) sit, by their `received_ns`."""
    conn.execute(
        f"INSERT INTO trace_ranges SELECT {trace_key_sql('trace_id')} AS trace_key, min(received_ns), "
        f"max(received_ns) FROM {rows} GROUP BY trace_key ORDER BY 2"
    )


def _add_trace_ranges(conn: duckdb.DuckDBPyConnection) -> None:
    """Version 1 -> 2: the `trace_ranges` table, built from the stored spans (~1.5 s at 10M spans)."""
    conn.execute(TRACE_RANGES_SQL)
    append_trace_ranges(conn, "spans")


MIGRATIONS: dict[int, Migration] = {1: _add_trace_ranges}


def schema_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    has_meta = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchall()
    if not has_meta or not has_meta[0][0]:
        return None
    rows = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else None


def migrate(conn: duckdb.DuckDBPyConnection, path: str, migrations: Mapping[int, Migration] = MIGRATIONS) -> bool:
    """Create the tables (True: the file is new), or move an older file forward; refuse a newer one.
    Every file gets a random `store_id` in `meta` (see `ack_record`)."""
    version = schema_version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, newer than this agentdeck ({SCHEMA_VERSION}): "
            "upgrade agentdeck or point --db-path at another file"
        )
    created = version is None
    conn.execute("BEGIN")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        if version is None:
            conn.execute(create_table_sql("spans"))
            conn.execute(TRACE_RANGES_SQL)
            version = SCHEMA_VERSION
        while version < SCHEMA_VERSION:
            step = migrations.get(version)
            if step is None:
                raise StoreError(f"no migration from schema version {version} of {path}")
            step(conn)
            version += 1
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
        conn.execute(
            "INSERT INTO meta SELECT 'store_id', ? WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'store_id')",
            [uuid.uuid4().hex],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return created
