"""Alert state in DuckDB: the `alerts`, `alert_deliveries` and `alert_rule_status` tables, and every
statement that reads or changes them (moved here from the alert engine, which now only sees the
`StoreSession` methods). Every value is bound.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import duckdb
import pyarrow as pa

from agentdeck.collector.alerts.state import ALERT_STATES, Alert
from agentdeck.collector.store.base import AlertUpdate, DeliveryRecord, NewAlert, TraceSummary
from agentdeck.collector.store.duckdb.trace_facts import TRACE_FACTS

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


def next_id(table: str) -> str:
    # Past the largest id too: rows copied in by `agentdeck store copy` keep their ids, and a DuckDB
    # sequence cannot be moved forward while the table's default uses it.
    return f"greatest(nextval('{table}_id_seq'), (SELECT coalesce(max(id), 0) + 1 FROM {table}))"


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the alert tables if missing (idempotent)."""
    for stmt in _DDL:
        conn.execute(stmt)


def alert_from_row(row: Sequence[object]) -> Alert:
    (id_, rule, metric, scope, group, severity, state, first, last, fired, resolved, value, threshold, comparison,
     traces, detail, acked, silenced) = row  # fmt: skip
    return Alert(
        id=int(id_),  # type: ignore[call-overload]
        rule=str(rule),
        metric=str(metric),
        scope=str(scope),
        group_value=str(group),
        severity=str(severity),
        state=str(state),
        first_seen_ns=int(first),  # type: ignore[call-overload]
        last_seen_ns=int(last),  # type: ignore[call-overload]
        fired_ns=None if fired is None else int(fired),  # type: ignore[call-overload]
        resolved_ns=None if resolved is None else int(resolved),  # type: ignore[call-overload]
        value=float(value),  # type: ignore[arg-type]
        threshold=float(threshold),  # type: ignore[arg-type]
        comparison=str(comparison),
        trace_ids=tuple(json.loads(str(traces))),
        detail=None if detail is None else str(detail),
        acknowledged=bool(acked),
        silenced_until_ns=None if silenced is None else int(silenced),  # type: ignore[call-overload]
    )


def _one(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> Alert:
    (row,) = conn.execute(sql, params).fetchall()  # fetchall: a half-read result blocks the cursor's next .sql()
    return alert_from_row(row)


def get_alert(conn: duckdb.DuckDBPyConnection, alert_id: int) -> Alert | None:
    rows = conn.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $id", {"id": alert_id}).fetchall()
    return alert_from_row(rows[0]) if rows else None


def active_alerts(conn: duckdb.DuckDBPyConnection, rule: str) -> dict[str, Alert]:
    rows = conn.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $rule AND state IN ('pending', 'firing')", {"rule": rule}
    ).fetchall()
    return {a.group_value: a for a in map(alert_from_row, rows)}


def open_alert(conn: duckdb.DuckDBPyConnection, a: NewAlert) -> Alert:
    return _one(
        conn,
        f"""INSERT INTO alerts (id, rule, metric, scope, group_value, severity, state, first_seen_ns, last_seen_ns,
            fired_ns, value, threshold, comparison, trace_ids, detail)
        VALUES ({next_id("alerts")}, $rule, $metric, $scope, $group, $severity, $state, $now, $now, $fired,
            $value, $threshold, $comparison, $traces, $detail)
        RETURNING {ALERT_COLUMNS}""",
        {
            "rule": a.rule,
            "metric": a.metric,
            "scope": a.scope,
            "group": a.group_value,
            "severity": a.severity,
            "state": a.state,
            "now": a.now_ns,
            "fired": a.now_ns if a.state == "firing" else None,
            "value": a.value,
            "threshold": a.threshold,
            "comparison": a.comparison,
            "traces": json.dumps(list(a.trace_ids)),
            "detail": a.detail,
        },
    )


def update_alert(conn: duckdb.DuckDBPyConnection, alert_id: int, u: AlertUpdate) -> Alert:
    return _one(
        conn,
        f"""UPDATE alerts SET state = $state, last_seen_ns = $now, value = $value, trace_ids = $traces,
            detail = $detail, fired_ns = coalesce(fired_ns, $fired), severity = $severity,
            threshold = $threshold, comparison = $comparison
        WHERE id = $id RETURNING {ALERT_COLUMNS}""",
        {
            "id": alert_id,
            "state": u.state,
            "now": u.now_ns,
            "value": u.value,
            "traces": json.dumps(list(u.trace_ids)),
            "detail": u.detail,
            "fired": u.fired_ns,
            "severity": u.severity,
            "threshold": u.threshold,
            "comparison": u.comparison,
        },
    )


def resolve_alert(conn: duckdb.DuckDBPyConnection, alert_id: int, now_ns: int, value: float) -> Alert:
    return _one(
        conn,
        f"""UPDATE alerts SET state = 'resolved', resolved_ns = $now, value = $value WHERE id = $id
        RETURNING {ALERT_COLUMNS}""",
        {"id": alert_id, "now": now_ns, "value": value},
    )


def drop_alert(conn: duckdb.DuckDBPyConnection, alert_id: int) -> None:
    conn.execute("DELETE FROM alerts WHERE id = $id", {"id": alert_id})


def retire_rules(conn: duckdb.DuckDBPyConnection, keep: Sequence[str], now_ns: int) -> list[Alert]:
    names = list(keep)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("DELETE FROM alerts WHERE state = 'pending' AND NOT list_contains($names, rule)", {"names": names})
        rows = conn.execute(
            f"""UPDATE alerts SET state = 'resolved', resolved_ns = $now
            WHERE state = 'firing' AND NOT list_contains($names, rule) RETURNING {ALERT_COLUMNS}""",
            {"names": names, "now": now_ns},
        ).fetchall()
        conn.execute("DELETE FROM alert_rule_status WHERE NOT list_contains($names, rule)", {"names": names})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [alert_from_row(row) for row in rows]


def record_rule_status(
    conn: duckdb.DuckDBPyConnection, rule: str, metric: str, now_ns: int, groups: int, error: str | None
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO alert_rule_status VALUES ($rule, $metric, $now, $groups, $error)",
        {"rule": rule, "metric": metric, "now": now_ns, "groups": groups, "error": error},
    )


def record_delivery(conn: duckdb.DuckDBPyConnection, d: DeliveryRecord) -> None:
    conn.execute(
        f"""INSERT INTO alert_deliveries (id, alert_id, rule, event, channel, url, attempt, status,
            http_status, error, at_ns) VALUES ({next_id("alert_deliveries")}, $alert_id, $rule, $event, $channel,
            $url, $attempt, $status, $http_status, $error, $at)""",
        {
            "alert_id": d.alert_id,
            "rule": d.rule,
            "event": d.event,
            "channel": d.channel,
            "url": d.url,
            "attempt": d.attempt,
            "status": d.status,
            "http_status": d.http_status,
            "error": d.error,
            "at": d.at_ns,
        },
    )


def acknowledge(conn: duckdb.DuckDBPyConnection, alert_id: int) -> bool:
    rows = conn.execute(
        "UPDATE alerts SET acknowledged = true WHERE id = $id RETURNING id", {"id": alert_id}
    ).fetchall()
    return bool(rows)


def silence(conn: duckdb.DuckDBPyConnection, alert_id: int, until_ns: int) -> bool:
    rows = conn.execute(
        "UPDATE alerts SET silenced_until_ns = $until WHERE id = $id RETURNING id", {"id": alert_id, "until": until_ns}
    ).fetchall()
    return bool(rows)


def _state_filter(state: str | None) -> tuple[str, dict[str, object]]:
    if state is None:
        return "", {}
    if state not in ALERT_STATES:
        raise ValueError(f"unknown alert state {state!r}; use one of {', '.join(ALERT_STATES)}")
    return "WHERE state = $state", {"state": state}


def list_alerts(conn: duckdb.DuckDBPyConnection, state: str | None, limit: int, offset: int = 0) -> list[Alert]:
    where, params = _state_filter(state)
    rows = conn.execute(
        f"""SELECT {ALERT_COLUMNS} FROM alerts {where}
        ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,
                 CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                 last_seen_ns DESC, id DESC
        LIMIT $limit OFFSET $offset""",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return [alert_from_row(r) for r in rows]


def count_alerts(conn: duckdb.DuckDBPyConnection, state: str | None) -> int:
    where, params = _state_filter(state)
    row = conn.execute(f"SELECT count(*) FROM alerts {where}", params).fetchone()
    return int(row[0]) if row else 0


def list_deliveries(conn: duckdb.DuckDBPyConnection, alert_id: int | None, limit: int) -> pa.Table:
    where = "WHERE alert_id = $alert_id" if alert_id is not None else ""
    params: dict[str, object] = {"limit": limit}
    if alert_id is not None:
        params["alert_id"] = alert_id
    return conn.sql(
        f"SELECT * FROM alert_deliveries {where} ORDER BY at_ns DESC, id DESC LIMIT $limit", params=params
    ).to_arrow_table()


def list_rule_status(conn: duckdb.DuckDBPyConnection) -> pa.Table:
    return conn.sql("SELECT * FROM alert_rule_status ORDER BY rule").to_arrow_table()


# Per-trace facts as the pages define them (trace_facts), plus the workflow and agents.
_TRACES_SQL: Final = f"""SELECT trace_id,
    any_value(workflow_name) FILTER (WHERE workflow_name IS NOT NULL) AS workflow,{TRACE_FACTS},
    list_sort(list_distinct(list(agent_name) FILTER (WHERE agent_name IS NOT NULL))) AS agents
  FROM spans WHERE list_contains($ids, trace_id) GROUP BY trace_id"""


def trace_summaries(conn: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> list[TraceSummary]:
    rows = conn.sql(_TRACES_SQL, params={"ids": list(trace_ids)}).to_arrow_table().to_pylist()
    return [
        TraceSummary(
            trace_id=r["trace_id"],
            workflow=r["workflow"],
            start_ns=int(r["start_ns"]),
            duration_ms=float(r["duration_ms"]),
            cost_usd=float(r["cost_usd"]),
            outcome=r["outcome"],
            errors=int(r["error_count"]),
            agents=tuple(r["agents"] or ()),  # NULL when none of the trace's spans names an agent
        )
        for r in rows
    ]
