"""The named queries ported to ClickHouse SQL answer what the DuckDB store answers, on the query
tests' hand-countable fixture (tests/collector/query_data.py) loaded into both."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from clickhouse_server import start_server

from agentdeck.collector.ingest.lineage import TraceIndex
from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.clickhouse import open_store
from agentdeck.collector.store.clickhouse.queries import BUILDERS
from agentdeck.collector.store.clickhouse.store import ClickHouseStore
from agentdeck.collector.store.duckdb.query import QUERIES, run_query
from agentdeck.collector.store.url import parse_store_url

pytest.importorskip("chdb")
sys.path.insert(0, str(Path(__file__).parents[1] / "collector"))
import query_data as qd


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, ClickHouseStore]]:
    rows = qd.build_rows()
    folder = tmp_path_factory.mktemp("q")
    qd.write_store(folder / "q.duckdb", rows)
    ch = open_store(parse_store_url(f"chdb://{folder / 'ch'}"))
    index = TraceIndex()
    index.load({r.trace_id for r in rows}, [])
    plan = index.apply(rows)
    assert not plan.updates and not plan.duplicates  # the fixture's rows are stored as written
    ch.write(plan)
    conn = duckdb.connect(str(folder / "q.duckdb"), read_only=True)
    yield conn, ch
    conn.close()
    for table in ("trace_index_mv", "agent_hourly_mv", "spans", "trace_index", "agent_hourly", "meta", "alert_lease"):
        ch.client.command(f"DROP TABLE IF EXISTS {table}")
    ch.close()


@pytest.fixture(scope="module")
def http_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    with start_server(tmp_path_factory.mktemp("http") / "ch") as server:
        store = ClickHouseStore(server.url)
        index = TraceIndex()
        rows = qd.build_rows()
        index.load({r.trace_id for r in rows}, [])
        store.write(index.apply(rows))
        yield store
        store.close()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


R = qd.RANGE
MINUTE = {**R, "buckets": "60"}
CASES = [
    ("overview", R),
    ("overview", {**R, "workflow": "support_triage"}),
    ("overview", {**R, "service": "svc-b"}),
    ("overview", {"start_ns": "1", "end_ns": "2"}),
    ("agent_metrics", R),
    ("agent_metrics", {**R, "by_workflow": "true"}),
    ("agent_metrics", {**R, "service": "svc-a"}),
    ("agent_nodes", {**R, "workflow": "support_triage"}),
    ("trace", {"trace_id": qd.TRACE_A}),
    ("trace", {"trace_id": qd.TRACE_C, "columns": "light"}),
    ("traces", R),
    ("traces", {**R, "limit": "2", "offset": "1"}),
    ("traces", {**R, "q": "refund"}),
    ("traces", {**R, "thread": "thread-a"}),  # only the thread's trace (the duckdb answer has one row)
    ("traces", {**R, "agent": "researcher", "status": "ok"}),
    ("traces", {**R, "model": qd.GPT, "min_cost": "0.001", "order_by": "cost"}),
    ("traces", {**R, "replays_only": "true", "order_by": "duration", "desc": "false"}),
    ("traces", {**R, "trace_id": "cccc", "order_by": "spans"}),
    ("task_costs", R),
    ("facets", R),
    ("transitions", {**R, "workflow": "due_diligence"}),
    ("transitions", {**R, "workflow": "support_triage"}),
    ("cost_breakdown", {**R, "group_by": "model"}),
    ("cost_breakdown", {**R, "group_by": "workflow"}),
    ("cost_breakdown", {**R, "group_by": "service"}),
    ("cache_savings", R),  # the fixture has no semantic-cache hits: compared on its empty answer only
    ("timeseries", {**MINUTE, "metric": "tasks"}),
    ("timeseries", {**MINUTE, "metric": "spend", "group_by": "workflow"}),
    ("timeseries", {**R, "metric": "retry_rate", "group_by": "agent", "buckets": "1"}),
    ("timeseries", {**R, "metric": "llm_calls", "buckets": "1"}),
    ("timeseries", {**R, "metric": "errors", "group_by": "service", "buckets": "1"}),
    ("timeseries", {**R, "metric": "latency_p95", "group_by": "model", "buckets": "4"}),
    ("timeseries", {**R, "metric": "tasks", "group_by": "agent", "buckets": "4"}),
]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_clickhouse_answers_the_same_rows_columns_and_order_as_duckdb(
    stores: tuple[duckdb.DuckDBPyConnection, ClickHouseStore], name: str, params: dict[str, str]
) -> None:
    conn, ch = stores
    want = run_query(conn.cursor(), name, params)
    got = ch.run_query(name, params)
    assert got.column_names == want.column_names
    assert got.num_rows == want.num_rows > 0 or name in ("overview", "cache_savings")
    for w, g in zip(want.to_pylist(), got.to_pylist(), strict=True):
        diff = {k: (w[k], g[k]) for k in w if not same(w[k], g[k])}
        assert not diff, f"{name} {params}: {diff}"
    assert got.schema.metadata == want.schema.metadata


def test_every_named_query_is_answered_on_clickhouse() -> None:
    assert set(BUILDERS) == set(QUERIES)
    assert {name for name, _ in CASES} == set(QUERIES)


def test_alert_calls_on_a_clickhouse_session_say_they_need_duckdb_for_now(
    stores: tuple[duckdb.DuckDBPyConnection, ClickHouseStore],
) -> None:
    with pytest.raises(StoreError, match="not available on a ClickHouse store yet"):
        stores[1].session().list_alerts(None, 10)


@pytest.mark.parametrize(("name", "params"), [c for c in CASES if c[0] in ("overview", "agent_metrics", "traces")])
def test_over_http_the_named_queries_answer_as_duckdb(
    stores: tuple[duckdb.DuckDBPyConnection, ClickHouseStore],
    http_store: ClickHouseStore,
    name: str,
    params: dict[str, str],
) -> None:
    """The same SQL through clickhouse-connect: its settings travel on the URL, values as param_*."""
    want = run_query(stores[0].cursor(), name, params)
    got = http_store.run_query(name, params)
    assert got.column_names == want.column_names
    for w, g in zip(want.to_pylist(), got.to_pylist(), strict=True):
        assert not {k: (w[k], g[k]) for k in w if not same(w[k], g[k])}
