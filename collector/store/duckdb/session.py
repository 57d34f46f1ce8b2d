"""`DuckDBSession`: the `StoreSession` of the DuckDB store, one cursor for one thread at a time.

It turns DuckDB's exceptions into the seam's (`ReadInterrupted`, `ReadOutOfMemory`, `AlertConflict`)
so that nothing above the store names DuckDB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
import pyarrow as pa

from agentdeck.collector.store.base import (
    AlertConflict,
    AlertUpdate,
    DeliveryRecord,
    NewAlert,
    ReadInterrupted,
    ReadOutOfMemory,
    StoreError,
    TraceSummary,
)
from agentdeck.collector.store.duckdb import alert_state as st
from agentdeck.collector.store.duckdb import query
from agentdeck.collector.store.duckdb import scores as sc
from agentdeck.collector.store.duckdb.observe import observe_rule

if TYPE_CHECKING:
    from agentdeck.collector.alerts.observation import Observation
    from agentdeck.collector.alerts.rules import Rule
    from agentdeck.collector.alerts.state import Alert
    from agentdeck.collector.store.scores import NewScore

T = TypeVar("T")


def translated(work: Callable[[], T]) -> T:
    """Run `work`, answering DuckDB's read failures as the seam's exceptions."""
    try:
        return work()
    except duckdb.InterruptException:
        raise ReadInterrupted("the read was interrupted (time limit, or the collector is stopping)") from None
    except duckdb.OutOfMemoryException as exc:
        raise ReadOutOfMemory(f"the read ran out of memory (memory_limit_mb): {str(exc)[:200]}") from None
    except duckdb.TransactionException as exc:
        raise AlertConflict(f"the row was changed at the same moment: {str(exc)[:200]}") from None
    except (duckdb.FatalException, duckdb.ConnectionException):
        raise ReadInterrupted("the store is recovering from a failure; retry shortly") from None


class DuckDBSession:
    def __init__(self, cursor: duckdb.DuckDBPyConnection, owner: duckdb.DuckDBPyConnection | None = None) -> None:
        self.cursor = cursor
        self._owner = owner  # a connection of its own (read-only use), closed with the session

    # --- queries and metrics ------------------------------------------------------------------
    def run_query(self, name: str, params: Mapping[str, str], *, timeout_s: float | None) -> pa.Table:
        return query.run_query(self.cursor, name, params, timeout_s=timeout_s)

    def observe(self, rule: Rule, now_ns: int, trace_ids: Sequence[str] | None = None) -> list[Observation]:
        return translated(lambda: observe_rule(self.cursor, rule, now_ns, trace_ids))

    def trace_summaries(self, trace_ids: Sequence[str]) -> list[TraceSummary]:
        return translated(lambda: st.trace_summaries(self.cursor, trace_ids))

    # --- alert state ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def alert_transaction(self) -> Iterator[None]:
        translated(lambda: self.cursor.execute("BEGIN TRANSACTION"))
        try:
            yield
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.cursor.execute("ROLLBACK")
            raise
        translated(lambda: self.cursor.execute("COMMIT"))

    def get_alert(self, alert_id: int) -> Alert | None:
        return translated(lambda: st.get_alert(self.cursor, alert_id))

    def active_alerts(self, rule: str) -> dict[str, Alert]:
        return translated(lambda: st.active_alerts(self.cursor, rule))

    def open_alert(self, alert: NewAlert) -> Alert:
        return translated(lambda: st.open_alert(self.cursor, alert))

    def update_alert(self, alert_id: int, update: AlertUpdate) -> Alert:
        return translated(lambda: st.update_alert(self.cursor, alert_id, update))

    def resolve_alert(self, alert_id: int, now_ns: int, value: float) -> Alert:
        return translated(lambda: st.resolve_alert(self.cursor, alert_id, now_ns, value))

    def drop_alert(self, alert_id: int) -> None:
        translated(lambda: st.drop_alert(self.cursor, alert_id))

    def retire_rules(self, keep: Sequence[str], now_ns: int) -> list[Alert]:
        return translated(lambda: st.retire_rules(self.cursor, keep, now_ns))

    def record_rule_status(self, rule: str, metric: str, now_ns: int, groups: int, error: str | None) -> None:
        translated(lambda: st.record_rule_status(self.cursor, rule, metric, now_ns, groups, error))

    def record_delivery(self, delivery: DeliveryRecord) -> None:
        translated(lambda: st.record_delivery(self.cursor, delivery))

    def acknowledge(self, alert_id: int) -> bool:
        return translated(lambda: st.acknowledge(self.cursor, alert_id))

    def silence(self, alert_id: int, until_ns: int) -> bool:
        return translated(lambda: st.silence(self.cursor, alert_id, until_ns))

    def list_alerts(self, state: str | None, limit: int, offset: int = 0) -> list[Alert]:
        return translated(lambda: st.list_alerts(self.cursor, state, limit, offset))

    def count_alerts(self, state: str | None) -> int:
        return translated(lambda: st.count_alerts(self.cursor, state))

    def list_deliveries(self, alert_id: int | None, limit: int) -> pa.Table:
        return translated(lambda: st.list_deliveries(self.cursor, alert_id, limit))

    def list_rule_status(self) -> pa.Table:
        return translated(lambda: st.list_rule_status(self.cursor))

    # --- scores ------------------------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        rows = self.cursor.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
        return bool(rows[0][0])

    def add_scores(self, scores: Sequence[NewScore]) -> list[int]:
        return translated(lambda: sc.add_scores(self.cursor, scores))

    def read_scores(
        self,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        source: str | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> pa.Table:
        return translated(
            lambda: sc.read_scores(
                self.cursor, trace_id=trace_id, name=name, source=source, since_ns=since_ns, limit=limit
            )
        )

    def _table_or_empty(self, table: str, where: str, params: dict[str, object]) -> pa.Table:
        if not self._has_table(table):
            return pa.table({})
        return translated(lambda: self.cursor.sql(f"SELECT * FROM {table} {where}", params=params).to_arrow_table())

    def _append(self, table: str, rows: pa.Table) -> None:
        if not self._has_table(table):
            raise NotImplementedError(f"this store has no {table} table yet")
        self.cursor.register("_rows", rows)
        try:
            cols = ", ".join(rows.column_names)
            translated(lambda: self.cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows"))
        finally:
            self.cursor.unregister("_rows")

    def write_dataset_items(self, dataset: str, items: pa.Table) -> None:
        self._append("dataset_items", items)

    def read_dataset_items(self, dataset: str) -> pa.Table:
        return self._table_or_empty("dataset_items", "WHERE dataset = $d", {"d": dataset})

    def write_experiment(self, runs: pa.Table) -> None:
        self._append("experiment_runs", runs)

    def read_experiments(self, dataset: str | None) -> pa.Table:
        if dataset is None:
            return self._table_or_empty("experiment_runs", "", {})
        return self._table_or_empty("experiment_runs", "WHERE dataset = $d", {"d": dataset})

    # --- control -------------------------------------------------------------------------------
    def interrupt(self) -> None:
        self.cursor.interrupt()

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.cursor.close()
        if self._owner is not None:
            with contextlib.suppress(duckdb.Error):
                self._owner.close()


def open_read_only(path: str) -> DuckDBSession:
    """A session on a DuckDB file no collector holds (for `alerts check --store duckdb://...`)."""
    if not Path(path).is_file():
        raise StoreError(
            f"{path} is not a file: give the collector's DuckDB file (default .agentdeck/agentdeck.duckdb)"
        )
    try:
        conn = duckdb.connect(path, read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"{path} is held by a running collector: check through it instead, with "
                "`agentdeck alerts check --collector-url http://127.0.0.1:4318` (its address)"
            ) from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    except duckdb.Error as exc:
        raise StoreError(f"{path} is not a DuckDB file the collector wrote: {exc}") from None
    return DuckDBSession(conn.cursor(), owner=conn)
