"""`trace_ranges`: one trace is read from the row groups that hold it, so it must name all of them:
spans of a trace that arrive in many requests, around other traffic and a restart, and stores
written before the table existed (schema version 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
from collector_helpers import stored_rows
from otlp_payloads import S, new_trace_id, request
from query_data import TRACE_A, build_rows

from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.duckdb.ddl import create_table_sql
from agentdeck.collector.store.duckdb.query import run_query
from agentdeck.collector.store.duckdb.store import Store
from agentdeck.collector.store.schema import COLUMN_NAMES, SCHEMA_VERSION

PB = {"Content-Type": "application/x-protobuf"}


def send(client: httpx.Client, server: CollectorServer, spans: list[S]) -> None:
    r = client.post(server.url + "/v1/traces", content=request(spans).SerializeToString(), headers=PB)
    assert r.status_code == 200, r.text


def trace_span_ids(client: httpx.Client, server: CollectorServer, trace_id: str, **params: str) -> list[str]:
    r = client.get(server.url + "/api/query/trace", params={"trace_id": trace_id, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return [row[body["columns"].index("span_id")] for row in body["rows"]]


def test_a_trace_sent_in_pieces_around_other_traffic_and_a_restart_reads_whole(
    start_collector: Callable[..., CollectorServer], client: httpx.Client, db_path: Path
) -> None:
    t = new_trace_id()
    root = S("workflow", t, start_ns=1_000)
    pieces = [[root], *[[S(f"step {i}", t, parent=root.span_id, start_ns=2_000 + i)] for i in range(3)]]
    first = start_collector()
    send(client, first, pieces[0])
    for _ in range(30):  # other tasks land between the pieces, in batches of their own
        send(client, first, [S("other", new_trace_id())])
        client.get(first.url + "/health")
    send(client, first, pieces[1])
    first.stop()
    second = start_collector()  # a new writer: nothing of t is in its memory
    for _ in range(30):
        send(client, second, [S("other", new_trace_id())])
    send(client, second, pieces[2])
    send(client, second, pieces[0] + pieces[3])  # a resend of the root with the last piece
    expected = [s.span_id for piece in pieces for s in piece]
    assert trace_span_ids(client, second, t) == expected
    assert trace_span_ids(client, second, t, columns="light") == expected
    assert trace_span_ids(client, second, t, span_id=pieces[3][0].span_id) == [pieces[3][0].span_id]
    assert trace_span_ids(client, second, new_trace_id()) == []
    second.stop()
    # every stored span of t lies inside the ranges recorded for it, and the root is stored once
    inside = stored_rows(
        db_path,
        """SELECT count(*) FROM spans s WHERE trace_id = ? AND EXISTS (
             SELECT 1 FROM trace_ranges r WHERE r.trace_key = TRY_CAST('0x' || left(s.trace_id, 15) AS BIGINT)
               AND s.received_ns BETWEEN r.first_received_ns AND r.last_received_ns)""",
        [t],
    )
    assert inside == [(len(expected),)]


def test_a_schema_1_store_gets_trace_ranges_for_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    rows = build_rows()
    with duckdb.connect(str(path)) as conn:  # the layout of version 1: spans and meta, no trace_ranges
        conn.execute(create_table_sql())
        conn.executemany(
            f"INSERT INTO spans ({', '.join(COLUMN_NAMES)}) VALUES ({', '.join('?' for _ in COLUMN_NAMES)})",
            [[getattr(r, c) for c in COLUMN_NAMES] for r in rows],
        )
        conn.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    store = Store(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 2
        with store.reader() as cur:
            spans = run_query(cur, "trace", {"trace_id": TRACE_A})
            assert sorted(spans.column("span_id").to_pylist()) == sorted(
                r.span_id for r in rows if r.trace_id == TRACE_A
            )
            assert spans.num_rows > 1
            for trace_id in {r.trace_id for r in rows}:
                assert run_query(cur, "trace", {"trace_id": trace_id}).num_rows == sum(
                    r.trace_id == trace_id for r in rows
                )
    finally:
        store.close()
