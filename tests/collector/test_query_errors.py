"""Bad and hostile parameters: a clear 400/404, or an empty answer; never a database error or a leak."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from agentdeck.collector.store.duckdb.query import QueryError, list_queries, run_query
from tests.collector.query_data import RANGE, build_rows, write_store

HOSTILE = [
    "'; DROP TABLE spans; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "$start_ns",
    "%",
    "_",
    "\\",
    "support_triage' UNION SELECT * FROM duckdb_tables() --",
    "ünïcødé ✓ 💥",
    "a" * 200,
]
TEXT_PARAMS = {
    "traces": ("workflow", "service", "agent", "model", "q"),
    "overview": ("workflow", "service"),
    "agent_metrics": ("workflow", "service"),
    "timeseries": ("workflow", "service"),
    "cost_breakdown": ("workflow", "service"),
    "task_costs": ("workflow", "service"),
    "transitions": ("workflow", "service"),
    "agent_nodes": ("workflow", "service"),
    "facets": ("workflow", "service"),
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("query-errors") / "spans.duckdb"
    write_store(path, build_rows())
    c = duckdb.connect(str(path))  # writable: an injected DROP would really drop
    yield c
    c.close()


def status_of(conn: duckdb.DuckDBPyConnection, name: str, params: dict[str, str]) -> int:
    try:
        run_query(conn, name, params)
    except QueryError as exc:
        return exc.status
    return 200


@pytest.mark.parametrize("name", sorted(TEXT_PARAMS))
def test_hostile_text_matches_nothing_and_harms_nothing(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    for param in TEXT_PARAMS[name]:
        for value in HOSTILE:
            params = {**RANGE, param: value}
            if name in ("transitions", "agent_nodes") and param != "workflow":
                params["workflow"] = "support_triage"
            table = run_query(conn, name, params)
            if name == "overview":
                assert table.column("tasks").to_pylist() == [0], (param, value)
            elif not (name == "traces" and param == "q" and value in ("_", "%")):
                assert table.num_rows == 0, (name, param, value, table.to_pylist()[:1])
    assert conn.execute("SELECT count(*) FROM spans").fetchall() == [(len(build_rows()),)]


def test_text_search_treats_like_wildcards_as_plain_text(conn: duckdb.DuckDBPyConnection) -> None:
    assert run_query(conn, "traces", {**RANGE, "q": "%"}).num_rows == 0
    assert run_query(conn, "traces", {**RANGE, "q": "a_refund"}).num_rows == 0


@pytest.mark.parametrize(
    ("name", "params", "names"),
    [
        ("traces", {"order_by": "cost; DROP TABLE spans"}, ("order_by", "start, duration, cost, tokens, spans")),
        ("traces", {"status": "' OR 1=1"}, ("status", "ok, error, incomplete, dead_letter")),
        ("traces", {"limit": "1e9"}, ("limit", "integer")),
        ("traces", {"limit": "5001"}, ("limit", "5000")),
        ("traces", {"limit": "0"}, ("limit", "integer")),
        ("traces", {"min_cost": "nan"}, ("min_cost", "number")),
        ("traces", {"desc": "maybe"}, ("desc", "true or false")),
        ("traces", {"trace_id": "xyz"}, ("trace_id", "hex")),
        ("traces", {"q": "x" * 201}, ("q", "200 characters")),
        ("traces", {"q": "nul\x00byte"}, ("q", "NUL")),
        ("traces", {"start_ns": "yesterday"}, ("start_ns", "integer")),
        ("traces", {"start_ns": "200", "end_ns": "100"}, ("start_ns", "before end_ns")),
        ("traces", {"nonsense": "1"}, ("nonsense", "order_by")),
        ("trace", {}, ("trace_id", "needs")),
        ("trace", {"trace_id": "abc"}, ("trace_id", "32")),
        ("trace", {"trace_id": "g" * 32}, ("trace_id", "hex")),
        ("timeseries", {"metric": "cost'--"}, ("metric", "spend")),
        ("timeseries", {"group_by": "1; SELECT 1"}, ("group_by", "workflow")),
        ("timeseries", {"buckets": "501"}, ("buckets", "500")),
        ("timeseries", {"metric": "retry_rate", "group_by": "model"}, ("retry_rate", "model")),
        ("cost_breakdown", {"group_by": "trace_id"}, ("group_by", "provider")),
        ("transitions", {}, ("workflow", "needs")),
        ("agent_nodes", {"workflow": ""}, ("workflow", "needs")),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(
    conn: duckdb.DuckDBPyConnection, name: str, params: dict[str, str], names: tuple[str, str]
) -> None:
    with pytest.raises(QueryError) as err:
        run_query(conn, name, params)
    assert err.value.status == 400
    for word in names:
        assert word in err.value.message


def test_unknown_query_answers_404_listing_the_queries(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError) as err:
        run_query(conn, "spans; DROP TABLE spans", {})
    assert err.value.status == 404 and "traces" in err.value.message


def test_format_key_is_left_to_the_http_layer(conn: duckdb.DuckDBPyConnection) -> None:
    assert status_of(conn, "overview", {**RANGE, "format": "arrow"}) == 200


def test_every_documented_default_is_accepted(conn: duckdb.DuckDBPyConnection) -> None:
    for q in list_queries():
        params = {**RANGE} if q["name"] != "trace" else {"trace_id": "a" * 32}
        if q["name"] in ("transitions", "agent_nodes"):
            params["workflow"] = "support_triage"
        assert status_of(conn, str(q["name"]), params) == 200, q["name"]
