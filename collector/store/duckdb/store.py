"""The DuckDB file: schema creation, versioning (`meta` table) and forward migrations, batched
Arrow inserts and the few lookups the writer needs. Only the writer thread writes through it.

Dedup design: rows are unique on (trace_id, span_id) without a database index. The writer's
`TraceIndex` holds every stored span of the traces it has seen recently; before a batch is
planned, traces it does not hold are loaded from the file, but only those a Bloom filter of
stored trace ids (`TraceFilter`) says may be there, in one `trace_id IN (...)` query per batch
that reads only the row groups `trace_ranges` points at. Brand-new traces, the common case, cost
no lookup. Resends are then
dropped in memory. An ART primary key would also enforce it but makes
every insert probe and grow an index that must stay in memory at 10M rows.

Faults: a write that fails is rolled back inside its own try (a `BEGIN` outside it once left the
connection in "Current transaction is aborted" for good); a fatal DuckDB error (disk full during
the automatic checkpoint: "database has been invalidated") marks the store `invalid`, and
`recover()` reopens the file, checks that it still holds every acknowledged span, and proves a
write commits. Damage found at start (see `ack_record`) is refused with what to do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from agentdeck.collector.ingest.lineage import Node, Plan, StoredSpan
from agentdeck.collector.store.base import DataRejected, OutOfMemory, StoreError, StoreHealth
from agentdeck.collector.store.duckdb import scores
from agentdeck.collector.store.duckdb.ack_record import (
    Acknowledged,
    RecordWriter,
    read_record,
    shortfall_message,
    stored_facts,
    unreadable_message,
)
from agentdeck.collector.store.duckdb.alert_state import ensure_tables
from agentdeck.collector.store.duckdb.ddl import trace_range_sql
from agentdeck.collector.store.duckdb.migrations import (
    MIGRATIONS,
    Migration,
    append_trace_ranges,
    migrate,
    schema_version,
)
from agentdeck.collector.store.schema import COLUMN_NAMES, planned_rows
from agentdeck.engine import semconv as sc

log = logging.getLogger(__name__)

_COLS: Final = ", ".join(COLUMN_NAMES)

# DuckDB checkpoints (writes the WAL into compressed row groups) each time the WAL passes this size.
# Its default, 16 MB, is ~16,000 of our spans, so the last, partly filled row group is rewritten many
# times over; 64 MB made Arrow inserts 1.5x faster and the file ~30% smaller (docs/BENCHMARKS.md),
# for up to 64 MB more memory and WAL to replay after a crash. Durability is unchanged. The
# collector's `checkpoint_mb` setting overrides it.
CHECKPOINT_MB: Final = 64
CHECKPOINT_THRESHOLD: Final = f"{CHECKPOINT_MB}MB"

# DuckDB shares one database instance per file within a process, so a second Store on the same
# file would be a second writer behind the first one's back: refuse it.
_OPEN_PATHS: set[str] = set()
_OPEN_LOCK = threading.Lock()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


def _durable_commit(exc: duckdb.FatalException) -> bool:
    """DuckDB's fatal error after a COMMIT that is durable (its automatic checkpoint failed)."""
    return "COMMIT succeeded" in str(exc)


class Store:
    def __init__(
        self,
        path: str | Path,
        migrations: Mapping[int, Migration] = MIGRATIONS,
        *,
        memory_limit_mb: int | None = None,
        checkpoint_mb: int = CHECKPOINT_MB,
    ) -> None:
        self.path = str(path)
        self.url = f"duckdb://{self.path}"
        self.migrations = migrations
        self.memory_limit_mb = memory_limit_mb
        self.checkpoint_mb = checkpoint_mb
        self.invalid: str | None = None  # why DuckDB invalidated the database (recover() reopens it)
        self._key = self.path if self.path == ":memory:" else str(Path(self.path).resolve())
        with _OPEN_LOCK:
            if self._key != ":memory:" and self._key in _OPEN_PATHS:
                raise StoreError(f"{self.path} is already open by a collector in this process: stop that one first")
            _OPEN_PATHS.add(self._key)
        self._record: RecordWriter | None = None
        record: Acknowledged | None = None
        existed = self.path != ":memory:" and Path(self.path).exists()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                record = self._check_acknowledged()
            self.conn = self._connect()
        except BaseException:
            self._release()
            raise
        self._cursor_lock = threading.Lock()
        self._reader_root = self.conn.cursor()
        try:
            self._configure(self.conn)
            self.migrate()
            ensure_tables(self.conn)  # alert state and scores live in the same file
            scores.ensure_table(self.conn)
            self.store_id, self.acknowledged = stored_facts(self.conn)
            if self.path != ":memory:":
                if record is None and existed:
                    log.warning(
                        "%s holds %s spans but no acknowledgement record (%s.ack): a new record starts now, "
                        "and damage from before this start cannot be detected",
                        self.path,
                        f"{self.acknowledged:,}",
                        self.path,
                    )
                self._record = RecordWriter(self.path)
                self._write_record()
        except duckdb.Error as exc:
            self._abandon()
            raise StoreError(unreadable_message(self.path, exc)) from None
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        self._reader_root.close()
        self.conn.close()
        if self._record is not None:
            self._record.close()
        self._release()

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"cannot open {self.path}: {exc}. Another process (a running collector?) may hold it."
                ) from None
            raise StoreError(unreadable_message(self.path, exc)) from None
        except duckdb.Error as exc:
            raise StoreError(unreadable_message(self.path, exc)) from None

    def _configure(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(f"SET checkpoint_threshold = '{int(self.checkpoint_mb)}MB'")
        if self.memory_limit_mb is not None:  # DuckDB's default is 80% of RAM, and its cache of the file grows to it
            conn.execute(f"SET memory_limit = '{int(self.memory_limit_mb)}MB'")

    def _check_acknowledged(self) -> Acknowledged | None:
        """Refuse a file holding fewer spans than its record says were acknowledged (the record, when
        it is this file's). Read-only, so a damaged WAL is replayed in memory but left as it is."""
        record = read_record(self.path)
        if record is None or not Path(self.path).exists():
            return None
        conn = self._connect(read_only=True)
        try:
            store_id, readable = stored_facts(conn)
        except duckdb.Error as exc:
            raise StoreError(unreadable_message(self.path, exc)) from None
        finally:
            conn.close()
        if store_id is not None and store_id != record.store_id:
            log.warning("%s.ack belongs to another store (the file was replaced); it is rewritten", self.path)
            return None
        if readable < record.spans:
            raise StoreError(shortfall_message(self.path, record, readable))
        return record

    def _write_record(self) -> None:
        if self._record is not None and self.store_id is not None:
            self._record.write(Acknowledged(self.store_id, self.acknowledged))

    # --- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        return schema_version(self.conn)

    def migrate(self) -> None:
        """Create the tables, or move an older file forward; refuse a file from a newer version."""
        if migrate(self.conn, self.path, self.migrations) and self.path != ":memory:":
            self.conn.execute("CHECKPOINT")  # the new store's id in the file itself, not only in its WAL

    # --- reads ----------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one read request (safe to call from any thread)."""
        with self._cursor_lock:
            return self._reader_root.cursor()

    def count(self) -> int:
        with self.reader() as cur:
            row = cur.execute("SELECT count(*) FROM spans").fetchone()
        return int(row[0]) if row else 0

    def trace_ids(self, chunk: int = 100_000) -> Iterator[str]:
        """Every distinct trace id in the file (writer thread, at start)."""
        reader: pa.RecordBatchReader = self.conn.sql("SELECT DISTINCT trace_id FROM spans").to_arrow_reader(chunk)
        for batch in reader:
            yield from batch.column(0).to_pylist()

    def load_traces(self, trace_ids: Sequence[str]) -> list[StoredSpan]:
        """Lineage facts of every stored span of `trace_ids` (writer thread)."""
        if not trace_ids:
            return []
        ids = pa.table({"trace_id": pa.array(trace_ids, type=pa.string())})
        self.conn.register("_wanted", ids)
        try:
            result = self.conn.execute(
                f"""
                WITH r AS ({trace_range_sql("SELECT trace_id FROM _wanted")})
                SELECT trace_id, span_id, parent_span_id,
                       CASE WHEN span_type = 'agent' THEN agent_name
                            ELSE json_extract_string(attributes, '$."{sc.GEN_AI_AGENT_NAME}"') END AS own_agent,
                       agent_name, span_type,
                       scope_name = ? AND name = ? AS sdk_call,
                       input_tokens IS NOT NULL OR output_tokens IS NOT NULL AS has_usage,
                       usage_counted, start_ns, end_ns, received_ns
                FROM spans, r
                WHERE received_ns BETWEEN r.lo AND r.hi AND trace_id IN (SELECT trace_id FROM _wanted)
                """,
                [sc.ANTHROPIC_SDK_SCOPE, sc.ANTHROPIC_SDK_SPAN_NAME],
            ).fetchall()
        finally:
            self.conn.unregister("_wanted")
        return [
            StoredSpan(
                trace_id=r[0],
                span_id=r[1],
                node=Node(
                    parent=r[2],
                    own_agent=r[3],
                    agent=r[4],
                    span_type=r[5],
                    sdk_call=bool(r[6]),
                    has_usage=bool(r[7]),
                    usage_counted=bool(r[8]),
                    start_ns=r[9],
                    end_ns=r[10],
                    received_ns=r[11],
                ),
            )
            for r in result
        ]

    # --- writes (writer thread) -------------------------------------------------------------
    def write(self, plan: Plan, source: pa.Table | None = None) -> None:
        """Insert the plan's rows (with their resolved lineage) and apply its updates in one
        transaction; durable when this returns. `source`, when given, is the Arrow table of every
        row `plan` was made from (its rows are taken by `plan.positions`); without it, the plan's
        rows must be `SpanRow`s."""
        rows, updates = plan.rows, plan.updates
        try:
            self.conn.execute("BEGIN")
            if rows:
                self.conn.register("_batch", planned_rows(plan, source))
                try:
                    self.conn.execute(f"INSERT INTO spans ({_COLS}) SELECT {_COLS} FROM _batch")
                    append_trace_ranges(self.conn, "_batch")
                finally:  # in an aborted transaction this fails too: keep the error that aborted it
                    with contextlib.suppress(duckdb.Error):
                        self.conn.unregister("_batch")
            if updates:
                table = pa.table(
                    {
                        "trace_id": [u.trace_id for u in updates],
                        "span_id": [u.span_id for u in updates],
                        "received_ns": pa.array([u.received_ns for u in updates], type=pa.int64()),
                        "agent_name": pa.array([u.agent_name for u in updates], type=pa.string()),
                        "usage_counted": [u.usage_counted for u in updates],
                    }
                )
                self.conn.register("_updates", table)
                received = [u.received_ns for u in updates]
                try:
                    # The constant received_ns range lets DuckDB skip every row group outside it
                    # (rows are stored in arrival order), so a fix-up stays cheap at 10M rows.
                    self.conn.execute(
                        """
                        UPDATE spans SET agent_name = u.agent_name, usage_counted = u.usage_counted
                        FROM _updates u
                        WHERE spans.received_ns BETWEEN ? AND ?
                          AND spans.received_ns = u.received_ns
                          AND spans.trace_id = u.trace_id AND spans.span_id = u.span_id
                        """,
                        [min(received), max(received)],
                    )
                finally:
                    with contextlib.suppress(duckdb.Error):
                        self.conn.unregister("_updates")
            self.conn.execute("COMMIT")
        except duckdb.FatalException as exc:
            self.invalid = _first_line(exc)
            if not _durable_commit(exc):
                raise
            log.error("%s: the commit is durable, but DuckDB must reopen the file: %s", self.path, self.invalid)
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
                raise DataRejected(f"{type(exc).__name__}: {exc}") from exc
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise OutOfMemory(f"{type(exc).__name__}: {exc}") from exc
            raise
        self.acknowledged += len(rows)
        self._write_record()

    # --- faults (writer thread) -----------------------------------------------------------------
    def health(self) -> StoreHealth:
        if self.invalid is not None:
            return StoreHealth(False, f"DuckDB must reopen the file: {self.invalid}")
        return StoreHealth(True)

    def recover(self) -> None:
        """Make the store writable again after a failed write: roll back what is left open, or reopen
        the file when DuckDB invalidated it; then commit a small probe write. Raises (duckdb.Error,
        StoreError) while the cause lasts; call it again later."""
        if self.invalid is None:
            try:
                self.conn.execute("ROLLBACK")
            except duckdb.TransactionException:
                pass  # no transaction was open
            except duckdb.FatalException as exc:
                self.invalid = _first_line(exc)
            except duckdb.ConnectionException as exc:  # closed by a reopen that failed
                self.invalid = _first_line(exc)
        if self.invalid is not None:
            self._reopen()
        try:
            self.conn.execute("BEGIN")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_probe_ns', ?)", [str(time.time_ns())])
            self.conn.execute("COMMIT")
        except duckdb.FatalException as exc:
            self.invalid = _first_line(exc)
            if not _durable_commit(exc):
                raise
            self._reopen()
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.conn.execute("ROLLBACK")
            raise

    def _reopen(self) -> None:
        """A new DuckDB instance on the file (the old one is invalidated), holding every acknowledged span."""
        log.warning("reopening %s after: %s", self.path, self.invalid)
        with self._cursor_lock:
            with contextlib.suppress(duckdb.Error):
                self._reader_root.close()
            with contextlib.suppress(duckdb.Error):
                self.conn.close()
            self.conn = self._connect()  # cursors of the old connection now answer "connection closed"
            self._reader_root = self.conn.cursor()
        self._configure(self.conn)
        _, stored = stored_facts(self.conn)
        if stored < self.acknowledged:
            raise StoreError(
                f"after reopening, {self.path} holds {stored:,} spans, fewer than the {self.acknowledged:,} "
                "acknowledged: stop the collector and keep the file and its .wal aside"
            )
        self.invalid = None
        log.warning("reopened %s: it holds every acknowledged span (%s)", self.path, f"{stored:,}")

    def _release(self) -> None:
        with _OPEN_LOCK:
            _OPEN_PATHS.discard(self._key)

    def close(self) -> None:
        try:
            self.conn.execute("CHECKPOINT")
        except duckdb.Error as exc:  # the WAL keeps what the checkpoint could not write; replayed at next start
            log.error("could not checkpoint %s on close: %s", self.path, _first_line(exc))
        finally:
            with contextlib.suppress(duckdb.Error):
                self._reader_root.close()
            with contextlib.suppress(duckdb.Error):
                self.conn.close()
            if self._record is not None:
                self._write_record()
                self._record.close()
            self._release()
