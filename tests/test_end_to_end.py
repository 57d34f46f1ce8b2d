"""The thin slice, for real: engine workflow -> OTel SDK OTLP exporter -> collector -> DuckDB -> query API.

Nothing is faked: the collector is the real server on a free port, the engine exports with the real
OTLP/HTTP exporter, checkpoints go to a real SQLite file, and rows are read back through the HTTP API
and, after the collector stops, straight from its DuckDB file.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import httpx
from langgraph.checkpoint.sqlite import SqliteSaver

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.schema import COLUMN_NAMES
from agentdeck.engine.runner import run_tasks

TRIAGE_AGENTS = {"classifier", "research", "response", "quality"}


def query(base: str, name: str, **params: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{base}/api/query/{name}", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


def test_triage_run_lands_in_duckdb_with_agents_tokens_cost_and_checkpoints(tmp_path: Path) -> None:
    db = tmp_path / "agentdeck.duckdb"
    checkpoints = tmp_path / "checkpoints.sqlite"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        summary = run_tasks(
            "triage", 8, seed=3, concurrency=2, checkpoint_db=checkpoints,
            endpoint=server.url, latency_scale=0.0,
        )  # fmt: skip
        assert len(summary.tasks) == 8
        # run_tasks flushed its exporter, and the collector answers 200 only once spans are durable:
        # everything is queryable now, without waiting.
        traces = query(server.url, "traces", workflow="triage", limit=100, start_ns=0)
        assert {t["trace_id"] for t in traces} == {t.trace_id for t in summary.tasks}
        outcomes = {t["trace_id"]: t["outcome"] for t in traces}
        assert outcomes == {t.trace_id: t.outcome for t in summary.tasks}

        ok = next(t for t in summary.tasks if t.outcome == "success")
        spans = query(server.url, "trace", trace_id=ok.trace_id)
        by_type = Counter(s["span_type"] for s in spans)
        assert by_type["workflow"] == 1 and by_type["agent"] >= 3 and by_type["llm"] >= 3
        root = next(s for s in spans if s["span_type"] == "workflow")
        assert root["parent_span_id"] is None and root["name"] == "invoke_workflow triage"
        assert root["outcome"] == "success" and root["thread_id"] == ok.thread_id
        agents = {s["agent_name"] for s in spans if s["span_type"] == "agent"}
        assert agents <= TRIAGE_AGENTS and {"classifier", "research", "response"} <= agents
        for llm in (s for s in spans if s["span_type"] == "llm"):
            # LLM spans carry their agent (from the parent agent span), usage and a price.
            assert llm["agent_name"] in TRIAGE_AGENTS
            assert llm["input_tokens"] > 0 and llm["output_tokens"] > 0
            assert llm["cost_usd"] > 0 and llm["cost_source"] in ("reported", "computed")
            assert llm["provider"] == "simulated" and llm["request_model"].startswith("claude-")
        assert all(s["duration_ms"] >= 0 for s in spans)
        trace_cost = next(t["cost_usd"] for t in traces if t["trace_id"] == ok.trace_id)
        assert abs(trace_cost - ok.cost_usd) < 1e-9

        # trace -> checkpoint: every agent span names the LangGraph checkpoint it ran from, and that
        # checkpoint (in the SQLite file) names the trace in its metadata.
        agent_spans = [s for s in spans if s["span_type"] == "agent"]
        assert all(s["checkpoint_id"] and s["thread_id"] == ok.thread_id for s in agent_spans)
        conn = sqlite3.connect(checkpoints, check_same_thread=False)
        try:
            listed = SqliteSaver(conn).list({"configurable": {"thread_id": ok.thread_id}})
            history = {c.config["configurable"]["checkpoint_id"]: c.metadata for c in listed}
        finally:
            conn.close()
        for s in agent_spans:
            assert s["checkpoint_id"] in history
            assert history[s["checkpoint_id"]].get("agentdeck_trace_id") == ok.trace_id

    # After a clean stop the DuckDB file holds the `spans` table with every documented column.
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE spans").fetchall()]
        assert set(COLUMN_NAMES) <= set(cols)
        ids = [t.trace_id for t in summary.tasks]
        per_trace = dict(con.execute("SELECT trace_id, count(*) FROM spans GROUP BY trace_id").fetchall())
        assert set(per_trace) == set(ids) and all(per_trace[t] >= 7 for t in ids)
    finally:
        con.close()


def test_engine_never_breaks_when_no_collector_listens(tmp_path: Path) -> None:
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    summary = run_tasks("triage", 2, seed=1, checkpoint_db=tmp_path / "cp.sqlite", endpoint=dead, latency_scale=0.0)
    assert len(summary.tasks) == 2
    assert all(t.outcome in ("success", "incomplete", "dead_letter") for t in summary.tasks)
