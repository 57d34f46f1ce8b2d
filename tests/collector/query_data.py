"""A small, hand-countable span store for the query tests: real SpanRow rows in a real DuckDB file.

Four tasks inside the hour after T0 and one two days before it:

- A  support_triage, success: classifier -> responder (fails validation, retried OK) -> reviewer;
     the retried call also has an anthropic-SDK duplicate row with usage_counted=False.
- B  support_triage, failed: classifier -> responder times out twice.
- C  due_diligence (no engine outcome, root OK): researcher -> writer -> researcher (a loop), gpt-4o.
- D  support_triage, success, a replay of A, whose input mentions a REFUND.
- E  support_triage, two days earlier (outside every range the tests ask for).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Final

import duckdb

from agentdeck.collector.store.duckdb.ddl import TRACE_RANGES_SQL, create_table_sql
from agentdeck.collector.store.duckdb.store import append_trace_ranges
from agentdeck.collector.store.schema import COLUMN_NAMES, SpanRow

T0: Final = 1_700_000_000_000_000_000
MS: Final = 1_000_000
RANGE: Final = {"start_ns": str(T0), "end_ns": str(T0 + 3600 * 1000 * MS)}

HAIKU: Final = "claude-haiku-4-5"
SONNET: Final = "claude-sonnet-4-5"
GPT: Final = "gpt-4o"

TRACE_A: Final = "a" * 32
TRACE_B: Final = "b" * 32
TRACE_C: Final = "c" * 32
TRACE_D: Final = "d" * 32
TRACE_E: Final = "e" * 32

_ids = itertools.count(1)


def span(trace_id: str, parent: SpanRow | None, start_ms: float, dur_ms: float, **kw: Any) -> SpanRow:
    """One span `start_ms` after T0, with the agent / workflow / service of its parent unless given."""
    start = T0 + int(start_ms * MS)
    base: dict[str, Any] = dict.fromkeys(SpanRow._fields)
    base.update(
        trace_id=trace_id,
        span_id=f"{next(_ids):016x}",
        parent_span_id=parent.span_id if parent else None,
        name="span",
        kind="INTERNAL",
        start_ns=start,
        end_ns=start + int(dur_ms * MS),
        duration_ms=float(dur_ms),
        status_code="OK",
        service_name=parent.service_name if parent else "svc-a",
        scope_name="agentdeck.engine",
        convention="agentdeck",
        span_type="other",
        agent_name=parent.agent_name if parent else None,
        workflow_name=parent.workflow_name if parent else None,
        usage_counted=True,
        attributes="{}",
        resource_attributes="{}",
        events="[]",
        links="[]",
        received_ns=start,
    )
    base.update(kw)
    return SpanRow(**base)


def workflow(trace_id: str, start_ms: float, dur_ms: float, name: str, **kw: Any) -> SpanRow:
    return span(
        trace_id, None, start_ms, dur_ms, name=f"invoke_workflow {name}", span_type="workflow", workflow_name=name, **kw
    )


def agent(parent: SpanRow, start_ms: float, dur_ms: float, name: str, attempt: int = 1, **kw: Any) -> SpanRow:
    return span(
        parent.trace_id,
        parent,
        start_ms,
        dur_ms,
        name=f"invoke_agent {name}",
        span_type="agent",
        agent_name=name,
        attempt=attempt,
        **kw,
    )


def llm(
    parent: SpanRow, start_ms: float, dur_ms: float, model: str, tokens: tuple[int, int], cost: float, **kw: Any
) -> SpanRow:
    return span(
        parent.trace_id,
        parent,
        start_ms,
        dur_ms,
        name=f"chat {model}",
        kind="CLIENT",
        span_type="llm",
        operation_name="chat",
        provider="anthropic" if model.startswith("claude") else "openai",
        request_model=model,
        response_model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        total_tokens=sum(tokens),
        cost_usd=cost,
        cost_source="computed",
        **kw,
    )


def build_rows() -> list[SpanRow]:
    rows: list[SpanRow] = []
    # A
    w = workflow(TRACE_A, 0, 1000, "support_triage", outcome="success", thread_id="thread-a")
    c = agent(w, 0, 100, "classifier")
    r1 = agent(
        w,
        100,
        200,
        "responder",
        status_code="ERROR",
        error_type="ValidationError",
        status_message="output did not match the schema",
    )
    r2 = agent(w, 300, 300, "responder", attempt=2, retry_reason="validation")
    call = llm(r2, 310, 250, SONNET, (300, 60), 0.003)
    dup = call._replace(
        span_id=f"{next(_ids):016x}",
        parent_span_id=call.span_id,
        name="anthropic.messages.create",
        scope_name="com.anthropic.sdk.python",
        usage_counted=False,
    )
    v = agent(w, 600, 300, "reviewer")
    rows += [
        w,
        c,
        llm(c, 10, 80, HAIKU, (100, 20), 0.001),
        r1,
        llm(r1, 110, 150, SONNET, (200, 50), 0.002),
        r2,
        call,
        dup,
        v,
        llm(v, 610, 250, HAIKU, (100, 10), 0.0005),
    ]
    # B
    w = workflow(
        TRACE_B,
        10_000,
        2000,
        "support_triage",
        outcome="failed",
        status_code="ERROR",
        error_type="TimeoutError",
        status_message="responder gave up",
    )
    c = agent(w, 10_000, 100, "classifier")
    r1 = agent(w, 10_100, 900, "responder", status_code="ERROR", error_type="TimeoutError")
    r2 = agent(
        w, 11_000, 1000, "responder", attempt=2, retry_reason="timeout", status_code="ERROR", error_type="TimeoutError"
    )
    rows += [w, c, llm(c, 10_010, 80, HAIKU, (100, 20), 0.001), r1, llm(r1, 10_110, 800, SONNET, (200, 0), 0.0006), r2]
    # C: another service, no engine outcome, a researcher -> writer -> researcher loop
    w = workflow(TRACE_C, 20_000, 5000, "due_diligence", service_name="svc-b", convention="otel_genai")
    rs = agent(w, 20_000, 1000, "researcher")
    wr = agent(w, 21_000, 2000, "writer")
    rs2 = agent(w, 23_000, 2000, "researcher")
    rows += [
        w,
        rs,
        llm(rs, 20_010, 900, GPT, (1000, 200), 0.01),
        wr,
        llm(wr, 21_010, 1900, GPT, (500, 500), 0.02),
        rs2,
        llm(rs2, 23_010, 1900, GPT, (100, 100), 0.005),
    ]
    # D: a replay of A
    w = workflow(TRACE_D, 30_000, 500, "support_triage", outcome="success", replay_of=TRACE_A)
    c = agent(w, 30_000, 400, "classifier")
    rows += [
        w,
        c,
        llm(
            c,
            30_010,
            300,
            HAIKU,
            (50, 10),
            0.0004,
            input_messages='[{"role": "user", "parts": [{"type": "text", "content": "I want a REFUND"}]}]',
        ),
    ]
    # E: two days before T0
    w = workflow(TRACE_E, -2 * 86_400_000, 100, "support_triage", outcome="success")
    c = agent(w, -2 * 86_400_000, 50, "classifier")
    rows += [w, c, llm(c, -2 * 86_400_000 + 1, 40, HAIKU, (1000, 1000), 1.0)]
    return rows


def write_store(path: Path, rows: list[SpanRow]) -> None:
    conn = duckdb.connect(str(path))
    try:
        conn.execute(create_table_sql())
        conn.execute(TRACE_RANGES_SQL)
        placeholders = ", ".join("?" for _ in COLUMN_NAMES)
        conn.executemany(
            f"INSERT INTO spans ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
            [list(r) for r in rows],
        )
        append_trace_ranges(conn, "spans")
    finally:
        conn.close()
