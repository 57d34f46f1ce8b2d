"""`DuckDBStore`: the DuckDB file (`store.Store`) behind the `SpanStore` seam, plus what the seam
asks beyond ingest: health, per-thread sessions, retention and copying rows in and out.

Retention (`delete_before`) runs on the writer's thread between batches, so it never races a
write. DuckDB marks the deleted rows' blocks free at the next checkpoint and reuses them for new
spans: a file under retention stops growing, but does not shrink (measured: 63 MB -> 63 MB after
deleting 95%, 69 MB after writing as much again). To shrink one, copy it into a new file with
`agentdeck store copy`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agentdeck.collector.store.base import COPY_TABLES
from agentdeck.collector.store.duckdb.migrations import append_trace_ranges
from agentdeck.collector.store.duckdb.session import DuckDBSession
from agentdeck.collector.store.duckdb.store import Store

# How `scan` orders each table and which columns make a row "already present" for `append`.
_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "spans": ("trace_id", "span_id"),
    "alerts": ("id",),
    "alert_deliveries": ("id",),
    "alert_rule_status": ("rule",),
    "scores": ("id",),
}


class DuckDBStore(Store):
    def session(self) -> DuckDBSession:
        return DuckDBSession(self.reader())

    # --- retention (writer thread) ----------------------------------------------------------------
    def delete_before(self, cutoff_ns: int) -> int:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            row = conn.execute("DELETE FROM spans WHERE start_ns < ? RETURNING 0", [cutoff_ns]).fetchall()
            deleted = len(row)
            # Ranges wholly older than every span left point at nothing now.
            conn.execute(
                "DELETE FROM trace_ranges WHERE last_received_ns < (SELECT coalesce(min(received_ns), 0) FROM spans)"
            )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.execute("ROLLBACK")
            raise
        if deleted:
            self.acknowledged = max(0, self.acknowledged - deleted)
            self._write_record()
            conn.execute("CHECKPOINT")  # frees the deleted rows' blocks for reuse
        return deleted

    # --- copying (`agentdeck store copy`) -------------------------------------------------------
    def tables(self) -> tuple[str, ...]:
        rows = self.conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        present = {r[0] for r in rows}
        return tuple(t for t in COPY_TABLES if t in present)

    def scan(self, table: str, after: str | None, rows: int) -> tuple[pa.Table, str | None]:
        if table not in _KEYS:
            raise ValueError(f"no table {table!r} to copy")
        start = int(after) if after else -1
        with self.reader() as cur:
            got = cur.sql(
                f"SELECT rowid AS _pos, * FROM {table} WHERE rowid > $start ORDER BY rowid LIMIT $n",
                params={"start": start, "n": rows},
            ).to_arrow_table()
        if got.num_rows == 0:
            return got.drop_columns(["_pos"]), None
        last = got.column("_pos")[-1].as_py()
        return got.drop_columns(["_pos"]), (str(last) if got.num_rows == rows else None)

    def append(self, table: str, rows: pa.Table) -> int:
        if table not in _KEYS:
            raise ValueError(f"no table {table!r} to copy into")
        if rows.num_rows == 0:
            return 0
        keys = _KEYS[table]
        cols = ", ".join(rows.column_names)
        match = " AND ".join(f"t.{k} = r.{k}" for k in keys)
        conn = self.conn
        conn.register("_copy", rows)
        conn.execute("BEGIN")
        try:
            if table == "spans":
                # Only the stored rows received in the batch's range can match (a resumed copy).
                received = rows.column("received_ns")
                lo, hi = pc.min(received).as_py(), pc.max(received).as_py()
                match += f" AND t.received_ns BETWEEN {int(lo)} AND {int(hi)}"
            added = conn.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _copy r "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match}) RETURNING 0"
            ).fetchall()
            if table == "spans" and added:
                append_trace_ranges(conn, "_copy")  # a superset of the rows added: ranges only widen
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                conn.unregister("_copy")
        if table == "spans":
            self.acknowledged += len(added)
            self._write_record()
        return len(added)
