"""Alert state in DuckDB: the `alerts`, `alert_deliveries` and `alert_rule_status` tables.

The evaluator is the only writer of alert state transitions; `acknowledge` and `silence` are the
two user actions. Every function takes a connection or cursor and binds every value.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

import duckdb
import pyarrow as pa

from agentdeck.collector.alerts.metrics import METRICS
from agentdeck.collector.alerts.observe import MAX_TASKS

ALERT_STATES: Final = ("pending", "firing", "resolved")

_DDL: Final = (
    "CREATE SEQUENCE IF NOT EXISTS alerts_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS alerts (
    id BIGINT PRIMARY KEY DEFAULT nextval('alerts_id_seq'),
    rule VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    group_value VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    first_seen_ns BIGINT NOT NULL,
    last_seen_ns BIGINT NOT NULL,
    fired_ns BIGINT,
    resolved_ns BIGINT,
    value DOUBLE NOT NULL,
    threshold DOUBLE NOT NULL,
    comparison VARCHAR NOT NULL,
    trace_ids VARCHAR NOT NULL,
    detail VARCHAR,
    acknowledged BOOLEAN NOT NULL DEFAULT false,
    silenced_until_ns BIGINT
)""",
    "CREATE SEQUENCE IF NOT EXISTS alert_deliveries_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS alert_deliveries (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_deliveries_id_seq'),
    alert_id BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    http_status INTEGER,
    error VARCHAR,
    at_ns BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS alert_rule_status (
    rule VARCHAR PRIMARY KEY,
    metric VARCHAR NOT NULL,
    evaluated_ns BIGINT NOT NULL,
    groups INTEGER NOT NULL,
    error VARCHAR
)""",
)

ALERT_COLUMNS: Final = (
    "id, rule, metric, scope, group_value, severity, state, first_seen_ns, last_seen_ns, fired_ns, "
    "resolved_ns, value, threshold, comparison, trace_ids, detail, acknowledged, silenced_until_ns"
)


CursorFactory: TypeAlias = Callable[[], duckdb.DuckDBPyConnection]


class CursorSource:
    """Hands out DuckDB cursors to any thread. A DuckDB connection object is not thread-safe, so
    cursors come from a private root cursor (made once, on the constructing thread) under a lock.
    Given a cursor factory instead (the collector's `Store.reader`, which follows the store when it
    reopens its file), each cursor comes from it."""

    def __init__(self, conn: duckdb.DuckDBPyConnection | CursorFactory) -> None:
        self._factory: CursorFactory | None = None
        if isinstance(conn, duckdb.DuckDBPyConnection):
            self._root = conn.cursor()
        else:
            self._factory = conn
        self._lock = threading.Lock()

    def __call__(self) -> duckdb.DuckDBPyConnection:
        if self._factory is not None:
            return self._factory()
        with self._lock:
            return self._root.cursor()


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the alert tables if missing (idempotent)."""
    for stmt in _DDL:
        conn.execute(stmt)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule: str
    metric: str
    scope: str  # e.g. "all", "agent=researcher", "each agent"
    group_value: str  # "" for scope all; else the agent/workflow/model/service name (per-task checks too)
    severity: str
    state: str  # ALERT_STATES
    first_seen_ns: int
    last_seen_ns: int
    fired_ns: int | None
    resolved_ns: int | None
    value: float
    threshold: float
    comparison: str
    trace_ids: tuple[str, ...]
    detail: str | None
    acknowledged: bool
    silenced_until_ns: int | None

    @property
    def target(self) -> str:
        """What the alert is about, for people: "all", "agent=researcher", "3 tasks (workflow=triage)"."""
        where = (
            f"{self.scope.removeprefix('each ')}={self.group_value}" if self.scope.startswith("each ") else self.scope
        )
        spec = METRICS.get(self.metric)
        if spec is not None and spec.per_task:
            n = len(self.trace_ids)
            tasks = f"{n}{'+' if n >= MAX_TASKS else ''} task{'' if n == 1 else 's'}"
            return tasks if where == "all" else f"{tasks} ({where})"
        return where

    def needs_attention(self, now_ns: int) -> bool:
        """Firing, and neither acknowledged nor silenced: what the "firing now" count and the banner show."""
        return self.state == "firing" and not self.acknowledged and not self.silenced_at(now_ns)

    def silenced_at(self, now_ns: int) -> bool:
        return self.silenced_until_ns is not None and self.silenced_until_ns > now_ns


def alert_from_row(row: tuple[object, ...]) -> Alert:
    (
        id_,
        rule,
        metric,
        scope,
        group_value,
        severity,
        state,
        first,
        last,
        fired,
        resolved,
        value,
        threshold,
        comparison,
        trace_ids,
        detail,
        acked,
        silenced,
    ) = row
    return Alert(
        id=int(id_),  # type: ignore[call-overload]
        rule=str(rule),
        metric=str(metric),
        scope=str(scope),
        group_value=str(group_value),
        severity=str(severity),
        state=str(state),
        first_seen_ns=int(first),  # type: ignore[call-overload]
        last_seen_ns=int(last),  # type: ignore[call-overload]
        fired_ns=None if fired is None else int(fired),  # type: ignore[call-overload]
        resolved_ns=None if resolved is None else int(resolved),  # type: ignore[call-overload]
        value=float(value),  # type: ignore[arg-type]
        threshold=float(threshold),  # type: ignore[arg-type]
        comparison=str(comparison),
        trace_ids=tuple(json.loads(str(trace_ids))),
        detail=None if detail is None else str(detail),
        acknowledged=bool(acked),
        silenced_until_ns=None if silenced is None else int(silenced),  # type: ignore[call-overload]
    )


def get_alert(conn: duckdb.DuckDBPyConnection, alert_id: int) -> Alert | None:
    row = conn.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $id", {"id": alert_id}).fetchone()
    return None if row is None else alert_from_row(row)


def active_alerts(conn: duckdb.DuckDBPyConnection, rule: str) -> dict[str, Alert]:
    """The pending or firing alert of each group of a rule (at most one per group)."""
    rows = conn.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $rule AND state IN ('pending', 'firing')",
        {"rule": rule},
    ).fetchall()
    return {a.group_value: a for a in map(alert_from_row, rows)}


def acknowledge(conn: duckdb.DuckDBPyConnection, alert_id: int) -> bool:
    """Mark an alert as seen by a person. False when there is no such alert."""
    ensure_tables(conn)
    row = conn.execute("UPDATE alerts SET acknowledged = true WHERE id = $id RETURNING id", {"id": alert_id}).fetchone()
    return row is not None


def silence(conn: duckdb.DuckDBPyConnection, alert_id: int, until_ns: int) -> bool:
    """Suppress notifications for this alert until `until_ns`. False when there is no such alert."""
    ensure_tables(conn)
    row = conn.execute(
        "UPDATE alerts SET silenced_until_ns = $until WHERE id = $id RETURNING id",
        {"id": alert_id, "until": until_ns},
    ).fetchone()
    return row is not None


def _state_filter(state: str | None) -> tuple[str, dict[str, object]]:
    if state is None:
        return "", {}
    if state not in ALERT_STATES:
        raise ValueError(f"unknown alert state {state!r}; use one of {', '.join(ALERT_STATES)}")
    return "WHERE state = $state", {"state": state}


def list_alerts(
    conn: duckdb.DuckDBPyConnection, state: str | None = None, limit: int = 1000, offset: int = 0
) -> pa.Table:
    """Alerts for the query API: firing first, then pending, then resolved; critical first, newest first
    within each. `offset` skips that many (a page of `limit` alerts at a time)."""
    where, params = _state_filter(state)
    ensure_tables(conn)
    return conn.sql(
        f"""SELECT {ALERT_COLUMNS} FROM alerts {where}
        ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,
                 CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                 last_seen_ns DESC, id DESC
        LIMIT $limit OFFSET $offset""",
        params={**params, "limit": limit, "offset": offset},
    ).to_arrow_table()


def count_alerts(conn: duckdb.DuckDBPyConnection, state: str | None = None) -> int:
    """How many alerts `list_alerts` pages through (of one state, or all)."""
    where, params = _state_filter(state)
    ensure_tables(conn)
    row = conn.execute(f"SELECT count(*) FROM alerts {where}", params).fetchone()
    return int(row[0]) if row else 0


def list_deliveries(conn: duckdb.DuckDBPyConnection, alert_id: int | None = None, limit: int = 1000) -> pa.Table:
    """The delivery log, newest first (every webhook attempt, its HTTP status or error)."""
    ensure_tables(conn)
    where = "WHERE alert_id = $alert_id" if alert_id is not None else ""
    params: dict[str, object] = {"limit": limit}
    if alert_id is not None:
        params["alert_id"] = alert_id
    return conn.sql(
        f"SELECT * FROM alert_deliveries {where} ORDER BY at_ns DESC, id DESC LIMIT $limit", params=params
    ).to_arrow_table()


def list_rule_status(conn: duckdb.DuckDBPyConnection) -> pa.Table:
    """Per rule: when it was last evaluated, how many groups had data, and its last error (if any)."""
    ensure_tables(conn)
    return conn.sql("SELECT * FROM alert_rule_status ORDER BY rule").to_arrow_table()
