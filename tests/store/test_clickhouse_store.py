"""The ClickHouse span store, in-process (chdb) and over HTTP (clickhouse-connect against the local
test server): resends and late fix-ups collapse, lineage is right when a trace's spans reach two
collectors, retention drops old days, and a newer schema or an unreachable server is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_rows import T0, row, trace_id
from clickhouse_server import ClickHouseTestServer, start_server

from agentdeck.collector.ingest.lineage import TraceIndex
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.clickhouse.lease import AlertLease
from agentdeck.collector.store.clickhouse.store import ClickHouseStore
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine import semconv as sc

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClickHouseTestServer]:
    with start_server(tmp_path / "ch") as srv:
        yield srv


@pytest.fixture(scope="module")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")  # chdb holds one folder per process: the module shares it


@pytest.fixture
def chdb_store(chdb_folder: Path) -> Iterator[ClickHouseStore]:
    store = ClickHouseStore(f"chdb://{chdb_folder}")
    yield store
    for table in ("trace_index_mv", "agent_hourly_mv", "spans", "trace_index", "agent_hourly", "meta", "alert_lease"):
        store.client.command(f"DROP TABLE IF EXISTS {table}")
    store.close()


def plan_and_write(store: ClickHouseStore, rows: list[SpanRow]) -> None:
    """What a collector's writer does with a batch: load its traces from the store, plan, write."""
    index = TraceIndex()
    traces = sorted({r.trace_id for r in rows})
    index.load(traces, store.load_traces(traces))
    store.write(index.apply(rows))


def counted(store: ClickHouseStore, trace: str) -> list[tuple[str, str | None, bool]]:
    table = store.client.query_arrow(
        "SELECT span_id, agent_name, usage_counted FROM spans FINAL WHERE trace_id = {t:String} ORDER BY span_id",
        {"t": trace},
    )
    return [(r["span_id"], r["agent_name"], bool(r["usage_counted"])) for r in table.to_pylist()]


def test_a_late_parent_and_a_resend_leave_one_row_per_span_with_the_parents_agent(
    chdb_store: ClickHouseStore,
) -> None:
    t = trace_id()
    agent = row(t, name="invoke_agent alpha", span_type="agent", agent_name="alpha")
    child = row(t, parent=agent.span_id, start_ms=1)
    plan_and_write(chdb_store, [child])
    plan_and_write(chdb_store, [agent, child])  # the parent, and a resend of the child
    assert counted(chdb_store, t) == [(agent.span_id, "alpha", True), (child.span_id, "alpha", True)]
    assert chdb_store.count() == 2
    chdb_store.client.command("OPTIMIZE TABLE spans FINAL")  # merged: one physical row per span
    raw = chdb_store.client.query_arrow("SELECT count() FROM spans WHERE trace_id = {t:String}", {"t": t})
    assert raw.column(0)[0].as_py() == 2


def test_a_newer_schema_is_refused_with_what_to_do(chdb_store: ClickHouseStore, chdb_folder: Path) -> None:
    chdb_store.client.command("INSERT INTO meta VALUES ('schema_version', '99', {v:UInt64})", {"v": time.time_ns()})
    with pytest.raises(StoreError, match=r"schema version 99, newer than this agentdeck.*upgrade agentdeck"):
        ClickHouseStore(f"chdb://{chdb_folder}")


def test_lineage_is_right_when_a_traces_spans_reach_two_collectors(server: ClickHouseTestServer) -> None:
    """The anthropic SDK's own span lands on one collector, the instrumentor's span of the same call
    on another, and an agent's child before the agent: the call is counted once, the child gets the agent."""
    one, two = ClickHouseStore(server.url), ClickHouseStore(server.url)
    t = trace_id()
    agent = row(t, name="invoke_agent alpha", span_type="agent", agent_name="alpha")
    llm = row(t, parent=agent.span_id, start_ms=1, name="chat", span_type="llm", input_tokens=10, output_tokens=5)
    sdk = row(
        t,
        parent=llm.span_id,
        start_ms=2,
        name=sc.ANTHROPIC_SDK_SPAN_NAME,
        scope_name=sc.ANTHROPIC_SDK_SCOPE,
        span_type="llm",
        input_tokens=10,
        output_tokens=5,
    )
    plan_and_write(one, [sdk])
    plan_and_write(two, [llm])
    plan_and_write(one, [agent])
    assert counted(two, t) == [
        (agent.span_id, "alpha", True),
        (llm.span_id, "alpha", True),
        (sdk.span_id, "alpha", False),
    ]
    one.close()
    two.close()


def test_one_collector_at_a_time_holds_the_alert_lease_and_another_takes_over_when_it_expires(
    server: ClickHouseTestServer,
) -> None:
    store = ClickHouseStore(server.url)
    a, b = AlertLease(store.client, "collector-a", ttl_s=45), AlertLease(store.client, "collector-b", ttl_s=45)
    assert a.acquire() and not b.acquire()
    assert a.acquire() and a.holds()  # a renewal keeps it
    later = time.time_ns() + 46 * 10**9  # a stopped renewing 46 s ago
    assert b.acquire(now_ns=later) and b.holds()
    assert not a.holds()  # the fence: a's token no longer holds
    assert not a.acquire()  # and b's lease has not expired
    b.release()
    assert a.acquire()
    store.close()


def test_an_unreachable_server_is_refused_at_start_with_its_address() -> None:
    with pytest.raises(StoreError, match=r"cannot reach ClickHouse at clickhouse://127\.0\.0\.1:9/agentdeck"):
        ClickHouseStore("clickhouse://127.0.0.1:9/agentdeck")


def test_two_collectors_writers_settle_a_trace_whose_spans_reach_both(server: ClickHouseTestServer) -> None:
    """The real ingest writer of two collectors on one ClickHouse: each loads the trace from the
    store before planning, so the child on the first collector gets the agent that lands on the
    second, and a resend to the other collector is not stored twice."""
    stores = [ClickHouseStore(server.url), ClickHouseStore(server.url)]
    writers = [
        Writer(s, Metrics(), queue_max_spans=100, batch_max_spans=100, flush_interval_ms=5)  # type: ignore[arg-type]
        for s in stores
    ]
    for w in writers:
        w.start()
    t = trace_id()
    agent = row(t, name="invoke_agent alpha", span_type="agent", agent_name="alpha")
    child = row(t, parent=agent.span_id, start_ms=1)
    writers[0].submit([child]).result(30)
    writers[1].submit([agent]).result(30)
    writers[0].submit([agent]).result(30)  # a resend, to the collector that has seen the trace before
    for w in writers:
        w.stop()
    assert counted(stores[0], t) == [(agent.span_id, "alpha", True), (child.span_id, "alpha", True)]
    for s in stores:
        s.close()


def test_retention_drops_whole_days_before_the_cutoff_and_keeps_a_ttl(chdb_store: ClickHouseStore) -> None:
    """What the collector's --retention calls: old days go at once (whole partitions), recent spans stay,
    and the table keeps a TTL of the same age for ClickHouse to apply by itself."""
    old, new = trace_id(), trace_id()
    now_ms = (time.time_ns() - T0) / 1e6
    plan_and_write(chdb_store, [row(old), row(old, start_ms=1), row(new, start_ms=now_ms)])
    assert chdb_store.delete_before(time.time_ns() - 30 * 86_400 * 10**9) == 2
    assert chdb_store.client.query_arrow("SELECT DISTINCT trace_id FROM spans").column(0).to_pylist() == [new]
    ddl = chdb_store.client.query_arrow("SHOW CREATE TABLE spans").column(0)[0].as_py()
    assert "TTL toDateTime(intDiv(start_ns, 1000000000)) + toIntervalSecond(2592000)" in ddl


def test_while_clickhouse_is_down_ingest_is_refused_and_it_resumes_by_itself(tmp_path: Path) -> None:
    """Nothing is acknowledged while the server is gone (503 to the client); once it is back, the
    writer's recovery reconnects without a restart and what is then sent is stored."""
    folder = tmp_path / "ch"
    with start_server(folder) as first:
        store = ClickHouseStore(first.url)
        writer = Writer(store, Metrics(), queue_max_spans=100, batch_max_spans=100, flush_interval_ms=5)  # type: ignore[arg-type]
        writer.start()
        before = row(trace_id())
        assert writer.submit([before]).result(30).accepted == 1
    lost = row(trace_id())
    with pytest.raises(Exception, match=r"(?i)connection|refused|store"):
        writer.submit([lost]).result(60)
    assert not store.health().writable and "127.0.0.1" in (store.health().reason or "")
    with start_server(folder, port=first.port):
        after = row(trace_id())
        deadline = time.monotonic() + 60
        while writer.problem is not None and time.monotonic() < deadline:
            time.sleep(0.1)  # the writer retries its recovery every second
        assert writer.submit([after]).result(30).accepted == 1
        writer.stop()
        stored = store.client.query_arrow("SELECT span_id FROM spans FINAL").column(0).to_pylist()
        assert sorted(stored) == sorted([before.span_id, after.span_id])
        store.close()
