"""Retention on DuckDB (`--retention 30d`): spans that started longer ago are deleted, at start and
hourly, on a real file, and their space is reused so the file stops growing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pyarrow as pa

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.duckdb.span_store import DuckDBStore
from agentdeck.collector.store.schema import rows_to_arrow
from tests.collector.alerts_spans import new_trace_id, span
from tests.collector.otlp_payloads import S, request
from tests.store.store_fixture import load

DAY_NS = 86_400 * 10**9


def _spans(n: int, start_ns: int) -> pa.Table:
    """`n` spans over `n // 10` traces, each with ~400 bytes of text, as the writer would store them."""
    text = "x" * 400
    rows = []
    trace = new_trace_id()
    for i in range(n):
        if i % 10 == 0:
            trace = new_trace_id()
        rows.append(span(trace, start_ns + i * 1_000_000, 5.0, name=f"step {i % 37}", attrs={"note": f"{text}{i}"}))
    return rows_to_arrow(rows)


def test_the_collector_deletes_spans_older_than_the_retention(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    now = time.time_ns()
    old, new = new_trace_id(), new_trace_id()
    bodies = [
        request([S("old step", old, start_ns=now - 40 * DAY_NS), S("old step 2", old, start_ns=now - 31 * DAY_NS)]),
        request([S("new step", new, start_ns=now - 29 * DAY_NS), S("today", new, start_ns=now - 3_600 * 10**9)]),
    ]
    store = DuckDBStore(db)
    load(store, [[b.SerializeToString() for b in bodies]])
    store.close()

    with CollectorServer(CollectorConfig(db_path=str(db), port=0, retention="30d")) as server:
        deadline = time.monotonic() + 20
        while httpx.get(server.url + "/metrics", timeout=5).json()["spans_expired"] < 2:
            assert time.monotonic() < deadline, "retention did not run at start"
            time.sleep(0.05)
        answer = httpx.get(server.url + "/api/query/trace", params={"trace_id": old}, timeout=5).json()
        assert answer["rows"] == []
        kept = httpx.get(server.url + "/api/query/trace", params={"trace_id": new}, timeout=5).json()
        assert sorted(r[kept["columns"].index("name")] for r in kept["rows"]) == ["new step", "today"]
    reopened = DuckDBStore(db)  # the acknowledgement record agrees: fewer spans is not damage here
    try:
        assert reopened.count() == 2
    finally:
        reopened.close()


def test_space_of_deleted_spans_is_reused_so_the_file_stops_growing(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    n = 60_000
    store = DuckDBStore(db)
    store.append("spans", _spans(n, 1_000 * DAY_NS))
    store.close()
    full = os.path.getsize(db)

    store = DuckDBStore(db)
    assert store.delete_before(2_000 * DAY_NS) == n
    store.append("spans", _spans(n, 3_000 * DAY_NS))  # as many spans again, after retention
    assert store.count() == n
    store.close()
    assert os.path.getsize(db) < 1.3 * full  # without the deletion it grows 2.8x (measured)
