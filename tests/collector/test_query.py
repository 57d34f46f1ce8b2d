"""The named queries against a real DuckDB file holding hand-countable traces (see query_data.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agentdeck.collector.store.duckdb.query import is_truncated, list_queries, run_query
from tests.collector.query_data import (
    GPT,
    HAIKU,
    MS,
    RANGE,
    SONNET,
    T0,
    TRACE_A,
    TRACE_B,
    TRACE_C,
    TRACE_D,
    build_rows,
    write_store,
)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("query") / "spans.duckdb"
    write_store(path, build_rows())
    c = duckdb.connect(str(path), read_only=True)
    yield c
    c.close()


def rows(conn: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    merged = {**RANGE, **{k: str(v) for k, v in params.items()}}
    return run_query(conn, name, merged).to_pylist()


def by(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in items}


def test_overview_counts_each_call_once_and_ignores_other_ranges(conn: duckdb.DuckDBPyConnection) -> None:
    (o,) = rows(conn, "overview")
    assert (o["tasks"], o["completed"], o["errors"]) == (4, 3, 1)
    assert o["completion_rate"] == pytest.approx(0.75)
    # 0.0065 (A, without its usage_counted=False duplicate) + 0.0016 + 0.035 + 0.0004; E is outside
    assert o["spend_usd"] == pytest.approx(0.0435)
    assert o["cost_per_task_avg"] == pytest.approx(0.0435 / 4)
    assert o["cost_per_task_p50"] == pytest.approx((0.0016 + 0.0065) / 2)
    assert o["latency_p50_ms"] == pytest.approx(1500)
    assert o["latency_p95_ms"] == pytest.approx(2000 + 0.85 * 3000)
    assert o["llm_calls"] == 10
    assert o["retry_rate"] == pytest.approx(2 / 11)
    assert (o["input_tokens"], o["output_tokens"]) == (2650, 970)


def test_overview_of_an_empty_range_is_one_row_of_zeros(conn: duckdb.DuckDBPyConnection) -> None:
    (o,) = rows(conn, "overview", start_ns=1, end_ns=2)
    assert o["tasks"] == 0 and o["spend_usd"] == 0 and o["completion_rate"] is None


def test_workflow_and_service_filters_select_whole_tasks(conn: duckdb.DuckDBPyConnection) -> None:
    (o,) = rows(conn, "overview", workflow="support_triage")
    assert o["tasks"] == 3 and o["spend_usd"] == pytest.approx(0.0085)
    (o,) = rows(conn, "overview", service="svc-b")
    assert o["tasks"] == 1 and o["spend_usd"] == pytest.approx(0.035)


def test_trace_list_columns_and_default_order(conn: duckdb.DuckDBPyConnection) -> None:
    listed = rows(conn, "traces")
    assert [r["trace_id"] for r in listed] == [TRACE_D, TRACE_C, TRACE_B, TRACE_A]
    a = by(listed, "trace_id")[TRACE_A]
    assert a["workflow_name"] == "support_triage" and a["root_name"] == "invoke_workflow support_triage"
    assert (a["span_count"], a["llm_calls"], a["error_count"], a["retries"]) == (10, 4, 1, 1)
    assert a["agents"] == "classifier,responder,reviewer" and a["agent_count"] == 3
    assert (a["status"], a["outcome"], a["thread_id"]) == ("ok", "success", "thread-a")
    assert a["cost_usd"] == pytest.approx(0.0065) and (a["input_tokens"], a["output_tokens"]) == (700, 140)
    assert a["duration_ms"] == pytest.approx(1000) and a["total_count"] == 4
    b = by(listed, "trace_id")[TRACE_B]
    assert (b["status"], b["outcome"]) == ("error", "failed")
    c = by(listed, "trace_id")[TRACE_C]
    assert (c["status"], c["outcome"], c["service_name"]) == ("ok", None, "svc-b")
    assert by(listed, "trace_id")[TRACE_D]["replay_of"] == TRACE_A


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "error"}, [TRACE_B]),
        ({"status": "ok"}, [TRACE_D, TRACE_C, TRACE_A]),
        ({"agent": "writer"}, [TRACE_C]),
        ({"model": GPT}, [TRACE_C]),
        ({"model": SONNET}, [TRACE_B, TRACE_A]),
        ({"q": "refund"}, [TRACE_D]),
        ({"q": "SCHEMA"}, [TRACE_A]),  # a status message
        ({"replays_only": "true"}, [TRACE_D]),
        ({"min_cost": 0.005}, [TRACE_C, TRACE_A]),
        ({"max_cost": 0.001}, [TRACE_D]),
        ({"min_duration_ms": 1500}, [TRACE_C, TRACE_B]),
        ({"trace_id": "CCCC"}, [TRACE_C]),
        ({"order_by": "cost"}, [TRACE_C, TRACE_A, TRACE_B, TRACE_D]),
        ({"order_by": "duration", "desc": "false"}, [TRACE_D, TRACE_A, TRACE_B, TRACE_C]),
        ({"order_by": "spans"}, [TRACE_A, TRACE_C, TRACE_B, TRACE_D]),
        ({"workflow": "due_diligence"}, [TRACE_C]),
    ],
)
def test_trace_list_filters_and_sorts(
    conn: duckdb.DuckDBPyConnection, params: dict[str, Any], expected: list[str]
) -> None:
    assert [r["trace_id"] for r in rows(conn, "traces", **params)] == expected


def test_trace_list_pages_and_says_when_rows_are_left_out(conn: duckdb.DuckDBPyConnection) -> None:
    table = run_query(conn, "traces", {**RANGE, "limit": "2", "offset": "1"})
    assert table.column("trace_id").to_pylist() == [TRACE_C, TRACE_B]
    assert table.column("total_count").to_pylist() == [4, 4]
    assert is_truncated(table)
    assert not is_truncated(run_query(conn, "traces", {**RANGE, "limit": "2", "offset": "2"}))


def test_one_trace_returns_every_span_in_start_order(conn: duckdb.DuckDBPyConnection) -> None:
    spans = run_query(conn, "trace", {"trace_id": TRACE_A}).to_pylist()
    assert len(spans) == 10
    assert [s["start_ns"] for s in spans] == sorted(s["start_ns"] for s in spans)
    assert spans[0]["span_type"] == "workflow" and spans[0]["parent_span_id"] is None
    assert sum(1 for s in spans if not s["usage_counted"]) == 1
    assert run_query(conn, "trace", {"trace_id": "f" * 32}).num_rows == 0


def test_agent_metrics_per_agent(conn: duckdb.DuckDBPyConnection) -> None:
    agents = by(rows(conn, "agent_metrics"), "agent_name")
    assert set(agents) == {"classifier", "responder", "reviewer", "researcher", "writer"}
    r = agents["responder"]
    assert (r["invocations"], r["attempts"]) == (2, 4)
    assert r["first_attempt_success_rate"] == 0
    assert r["retry_rate"] == pytest.approx(0.5) and r["error_rate"] == pytest.approx(0.75)
    assert (r["retries_validation"], r["retries_timeout"], r["retries_rate_limit"]) == (1, 1, 0)
    assert r["cost_usd"] == pytest.approx(0.0056)  # the duplicate SDK row is not counted
    assert (r["input_tokens"], r["output_tokens"], r["tasks"]) == (700, 110, 2)
    assert r["cost_per_task"] == pytest.approx(0.0028)
    assert r["top_error_type"] == "TimeoutError"
    assert r["p50_ms"] == pytest.approx(600)  # attempts of 200, 300, 900 and 1000 ms
    c = agents["classifier"]
    assert (c["invocations"], c["first_attempt_success_rate"], c["retry_rate"]) == (3, 1, 0)
    assert c["cost_usd"] == pytest.approx(0.0024) and c["tasks"] == 3 and c["top_error_type"] is None
    assert agents["researcher"]["invocations"] == 2 and agents["researcher"]["tasks"] == 1


def test_agent_metrics_by_workflow(conn: duckdb.DuckDBPyConnection) -> None:
    pairs = {(r["workflow_name"], r["agent_name"]): r for r in rows(conn, "agent_metrics", by_workflow="true")}
    assert set(pairs) == {
        ("support_triage", "classifier"),
        ("support_triage", "responder"),
        ("support_triage", "reviewer"),
        ("due_diligence", "researcher"),
        ("due_diligence", "writer"),
    }
    assert pairs[("due_diligence", "writer")]["cost_usd"] == pytest.approx(0.02)


def test_agent_nodes_of_a_workflow(conn: duckdb.DuckDBPyConnection) -> None:
    nodes = by(rows(conn, "agent_nodes", workflow="support_triage"), "agent_name")
    assert set(nodes) == {"classifier", "responder", "reviewer"}
    # 2 steps, 4 attempts: one step recovered on its retry, the other failed twice. Success counts steps
    # (1 of 2), not attempts (1 of 4), and is never below first-attempt success (0 of 2).
    responder = nodes["responder"]
    assert (responder["success_rate"], responder["first_attempt_success_rate"]) == (0.5, 0.0)
    assert nodes["responder"]["p95_ms"] == pytest.approx(900 + 0.85 * 100)


def test_transitions_include_loops_and_ends(conn: duckdb.DuckDBPyConnection) -> None:
    edges = {(r["source"], r["target"]): r["count"] for r in rows(conn, "transitions", workflow="due_diligence")}
    assert edges == {
        ("__start__", "researcher"): 1,
        ("researcher", "writer"): 1,
        ("writer", "researcher"): 1,
        ("researcher", "__end__"): 1,
    }
    edges = {(r["source"], r["target"]): r["count"] for r in rows(conn, "transitions", workflow="support_triage")}
    # a retry is not a handoff: responder's second attempt adds no edge
    assert edges == {
        ("__start__", "classifier"): 3,
        ("classifier", "responder"): 2,
        ("classifier", "__end__"): 1,
        ("responder", "reviewer"): 1,
        ("responder", "__end__"): 1,
        ("reviewer", "__end__"): 1,
    }


def test_cost_breakdown_by_model_and_workflow_with_retry_cost(conn: duckdb.DuckDBPyConnection) -> None:
    models = by(rows(conn, "cost_breakdown", group_by="model"), "group")
    assert models[GPT]["cost_usd"] == pytest.approx(0.035) and models[GPT]["calls"] == 3
    assert models[SONNET]["cost_usd"] == pytest.approx(0.0056)
    assert models[SONNET]["retry_cost_usd"] == pytest.approx(0.003)
    assert models[HAIKU]["cost_usd"] == pytest.approx(0.0029) and models[HAIKU]["retry_cost_usd"] == 0
    flows = by(rows(conn, "cost_breakdown", group_by="workflow"), "group")
    assert flows["support_triage"]["cost_usd"] == pytest.approx(0.0085)
    assert (flows["support_triage"]["calls"], flows["due_diligence"]["calls"]) == (7, 3)
    assert list(by(rows(conn, "cost_breakdown", group_by="service"), "group")) == ["svc-b", "svc-a"]


def test_task_costs_most_expensive_first(conn: duckdb.DuckDBPyConnection) -> None:
    tasks = rows(conn, "task_costs")
    assert [t["trace_id"] for t in tasks] == [TRACE_C, TRACE_A, TRACE_B, TRACE_D]
    assert tasks[0]["workflow_name"] == "due_diligence" and tasks[0]["cost_usd"] == pytest.approx(0.035)
    assert tasks[2]["status"] == "error"


def test_timeseries_buckets_and_groups(conn: duckdb.DuckDBPyConnection) -> None:
    minute = {"start_ns": T0, "end_ns": T0 + 60_000 * MS, "buckets": 6}
    series = rows(conn, "timeseries", metric="tasks", **minute)
    assert [(r["bucket_start_ns"] - T0) // (10_000 * MS) for r in series] == [0, 1, 2, 3]
    assert [r["value"] for r in series] == [1, 1, 1, 1]
    spend = {
        (r["bucket_start_ns"], r["group"]): r["value"]
        for r in rows(conn, "timeseries", metric="spend", group_by="workflow", **minute)
    }
    assert spend[(T0, "support_triage")] == pytest.approx(0.0065)
    assert spend[(T0 + 20_000 * MS, "due_diligence")] == pytest.approx(0.035)
    retry = {r["group"]: r["value"] for r in rows(conn, "timeseries", metric="retry_rate", group_by="agent", buckets=1)}
    assert retry["responder"] == pytest.approx(0.5) and retry["classifier"] == 0
    calls = rows(conn, "timeseries", metric="llm_calls", buckets=1)
    assert [r["value"] for r in calls] == [10]
    errors = {r["group"]: r["value"] for r in rows(conn, "timeseries", metric="errors", group_by="service", buckets=1)}
    assert errors == {"svc-a": 4}


def test_facets_list_values_with_counts(conn: duckdb.DuckDBPyConnection) -> None:
    facets = {(r["dimension"], r["value"]): r["spans"] for r in rows(conn, "facets")}
    assert facets[("workflow", "support_triage")] == 19 and facets[("workflow", "due_diligence")] == 7
    assert facets[("model", GPT)] == 3 and ("agent", "writer") in facets
    assert {d for d, _ in facets} == {"workflow", "service", "agent", "model"}


def test_list_queries_documents_every_parameter() -> None:
    queries = {q["name"]: q for q in list_queries()}
    assert set(queries) == {
        "traces", "trace", "overview", "agent_metrics", "timeseries", "cost_breakdown",
        "task_costs", "transitions", "agent_nodes", "facets", "cache_savings",
    }  # fmt: skip
    params = {p["name"]: p for p in queries["timeseries"]["params"]}  # type: ignore[union-attr]
    assert params["metric"]["allowed"] == [
        "tasks",
        "spend",
        "errors",
        "tokens",
        "latency_p95",
        "retry_rate",
        "llm_calls",
    ]
    assert params["buckets"]["maximum"] == 500 and params["buckets"]["default"] == 60


def test_an_agent_seen_only_on_llm_spans_still_gets_its_usage(tmp_path: Path) -> None:
    from tests.collector.query_data import T0, span

    root = span("f" * 32, None, 0, 500, span_type="workflow", workflow_name="third_party")
    calls = [
        span(
            "f" * 32, root, 10, 100, span_type="llm", agent_name="solo", input_tokens=40, output_tokens=4, cost_usd=0.02
        ),
        span(
            "f" * 32,
            root,
            200,
            100,
            span_type="llm",
            agent_name="solo",
            input_tokens=60,
            output_tokens=6,
            cost_usd=0.03,
        ),
    ]
    path = tmp_path / "solo.duckdb"
    write_store(path, [root, *calls])
    with duckdb.connect(str(path), read_only=True) as c:
        (solo,) = run_query(c, "agent_metrics", {"start_ns": str(T0), "end_ns": str(T0 + 10**12)}).to_pylist()
    assert (solo["agent_name"], solo["invocations"], solo["attempts"], solo["tasks"]) == ("solo", 0, 0, 1)
    assert solo["cost_usd"] == pytest.approx(0.05) and (solo["input_tokens"], solo["output_tokens"]) == (100, 10)
    assert solo["first_attempt_success_rate"] is None and solo["cost_per_task"] == pytest.approx(0.05)


def test_a_light_trace_is_the_full_trace_without_payload_columns(conn: duckdb.DuckDBPyConnection) -> None:
    from agentdeck.collector.store.duckdb.query import QueryError

    full = run_query(conn, "trace", {"trace_id": TRACE_A}).to_pylist()
    light = run_query(conn, "trace", {"trace_id": TRACE_A, "columns": "light"}).to_pylist()
    payload = {"input_messages", "output_messages", "attributes", "resource_attributes", "events", "links"}
    assert payload <= set(full[0]) and not payload & set(light[0])
    assert light == [{k: v for k, v in span.items() if k not in payload} for span in full]
    one = run_query(conn, "trace", {"trace_id": TRACE_A, "span_id": full[3]["span_id"]}).to_pylist()
    assert one == [full[3]]
    with pytest.raises(QueryError, match="columns"):
        run_query(conn, "trace", {"trace_id": TRACE_A, "columns": "some"})
