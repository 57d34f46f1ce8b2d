"""Large bodies decoded in worker processes: same rows, same errors, same lineage as in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentdeck.collector.ingest.decode import Encoding
from agentdeck.collector.ingest.errors import DecodeError
from agentdeck.collector.ingest.redact import Redactor
from agentdeck.collector.ingest.workers import DecodePool, RowFacts
from agentdeck.collector.server import CollectorServer
from agentdeck.collector.store.schema import COLUMN_NAMES, SpanRow, rows_to_arrow
from agentdeck.engine.pricing import load_prices
from tests.collector.collector_helpers import stored_rows
from tests.collector.otlp_payloads import S, merge, new_trace_id, request

PROTO = "application/x-protobuf"


def _traces(n: int, secret: bool = False) -> list[S]:
    """`n` traces: a workflow, an agent, an LLM call (GenAI, with usage and ~0.5 KB of text) and a tool."""
    spans: list[S] = []
    for i in range(n):
        tid = new_trace_id()
        wf = S("invoke_workflow research", tid, attrs={"gen_ai.operation.name": "invoke_workflow"})
        agent = S("invoke_agent planner", tid, parent=wf.span_id, attrs={"gen_ai.agent.name": f"planner{i % 3}"})
        prompt = "plan the research " * 30 + (" key sk-ant-" + "a" * 40 if secret else "")
        llm = S(
            "chat claude-sonnet-4-5",
            tid,
            parent=agent.span_id,
            attrs={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 1200 + i,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.input.messages": f'[{{"role": "user", "content": "{prompt}"}}]',
            },
        )
        tool = S("execute_tool search", tid, parent=agent.span_id, attrs={"gen_ai.tool.name": "search"})
        spans += [wf, agent, llm, tool]
    return spans


def test_pool_gives_the_rows_and_arrow_table_the_in_process_path_gives() -> None:
    prices, redactor = load_prices(), Redactor.from_config(None, include_pii=False)
    body = request(_traces(60, secret=True)).SerializeToString()
    assert len(body) >= 64 * 1024
    pool = DecodePool(prices, redactor, workers=1)
    try:
        pooled = pool.run(body, PROTO, None, 64 << 20, None, 123)
    finally:
        pool.close()
    local = DecodePool(prices, redactor, workers=0).run(body, PROTO, None, 64 << 20, None, 123)
    assert pooled.encoding is local.encoding is Encoding.PROTOBUF
    assert pooled.table is not None and local.table is None
    rows = [r for r in local.rows if isinstance(r, SpanRow)]
    assert len(rows) == 240
    assert pooled.table.equals(rows_to_arrow(rows))
    assert list(pooled.rows) == [RowFacts(*(getattr(r, f) for f in RowFacts._fields)) for r in rows]
    # redaction ran in the worker: the secret is not in any stored column
    assert "sk-ant-" not in str(pooled.table.column(COLUMN_NAMES.index("input_messages")).to_pylist())


def test_pool_raises_the_same_ingest_error_for_a_bad_large_body() -> None:
    prices, redactor = load_prices(), Redactor.from_config(None, include_pii=False)
    body = b"\xff" * (70 * 1024)
    pool = DecodePool(prices, redactor, workers=1)
    try:
        with pytest.raises(DecodeError) as pooled:
            pool.run(body, PROTO, None, 64 << 20, None, 1)
    finally:
        pool.close()
    with pytest.raises(DecodeError) as local:
        DecodePool(prices, redactor, workers=0).run(body, PROTO, None, 64 << 20, None, 1)
    assert pooled.value.message == local.value.message
    assert "not a valid OTLP protobuf" in pooled.value.message


def test_large_requests_through_workers_keep_dedup_and_late_parent_fixups(
    start_collector: Callable[..., CollectorServer], db_path: Path
) -> None:
    collector = start_collector()
    cores = os.cpu_count() or 1
    # the setting unset: one decode worker per core, at most 4, none on a 1-core machine (README)
    assert collector.services.receiver.pool.workers == (min(cores, 4) if cores > 1 else 0)
    collector.services.receiver.pool.workers = 1  # the pool path even on a 1-core machine
    spans = _traces(80)
    # children first (agent spans held back), in a body large enough for the pool
    agents = {s.span_id for s in spans if s.name.startswith("invoke_agent")}
    children = [s for s in spans if s.span_id not in agents]
    first = request(children).SerializeToString()
    assert len(first) >= 64 * 1024
    url = collector.url + "/v1/traces"
    assert httpx.post(url, content=first, headers={"Content-Type": PROTO}).status_code == 200
    # then the parents, together with a resend of every child (all deduplicated)
    late = merge(request([s for s in spans if s.span_id in agents]), request(children)).SerializeToString()
    assert httpx.post(url, content=late, headers={"Content-Type": PROTO}).status_code == 200
    collector.stop()
    rows = stored_rows(db_path, "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans")
    assert rows == [(320, 320)]
    llm_agents = stored_rows(
        db_path, "SELECT agent_name, count(*) FROM spans WHERE span_type = 'llm' GROUP BY 1 ORDER BY 1"
    )
    assert llm_agents == [("planner0", 27), ("planner1", 27), ("planner2", 26)]
    tool_agents = stored_rows(
        db_path, "SELECT count(*) FROM spans WHERE name = 'execute_tool search' AND agent_name LIKE 'planner%'"
    )
    assert tool_agents == [(80,)]
