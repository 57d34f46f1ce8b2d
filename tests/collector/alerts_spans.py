"""Build realistic tasks as real SpanRow rows in a real DuckDB file, for the alert tests.

A task is a trace: a workflow root span (written last, as the engine exports it when the run ends),
agent attempt spans under it, one LLM call per attempt with tokens and cost, and tool calls.
Times are explicit (no clock), so a test moves `now_ns` past a window instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa

from agentdeck.collector.alerts.state import Alert
from agentdeck.collector.store.base import StoreSession
from agentdeck.collector.store.duckdb.migrations import append_trace_ranges
from agentdeck.collector.store.duckdb.span_store import DuckDBStore
from agentdeck.collector.store.schema import COLUMN_NAMES, SpanRow
from agentdeck.engine import semconv

T0: Final = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
S: Final = 1_000_000_000
MS: Final = 1_000_000
MIN: Final = 60 * S
HOUR: Final = 60 * MIN

_span_ids = itertools.count(1)
_trace_ids = itertools.count(1)


def new_trace_id() -> str:
    return f"{next(_trace_ids):032x}"


def _span_id() -> str:
    return f"{next(_span_ids):016x}"


def span(trace_id: str, start_ns: int, duration_ms: float, **kw: object) -> SpanRow:
    base: dict[str, object] = dict.fromkeys(SpanRow._fields)
    base.update(
        trace_id=trace_id,
        span_id=_span_id(),
        name="span",
        kind="INTERNAL",
        start_ns=start_ns,
        end_ns=start_ns + int(duration_ms * MS),
        duration_ms=duration_ms,
        status_code="OK",
        service_name="agentdeck-engine",
        scope_name=semconv.ENGINE_SCOPE,
        convention="agentdeck",
        span_type="other",
        usage_counted=True,
        attributes="{}",
        resource_attributes="{}",
        events="[]",
        links="[]",
        received_ns=start_ns + int(duration_ms * MS),
    )
    attrs = kw.pop("attrs", None)
    if attrs is not None:
        base["attributes"] = json.dumps(attrs)
    base.update(kw)
    return SpanRow(**base)  # type: ignore[arg-type]


@dataclass
class Task:
    """One workflow run. Add steps in order; `finish` writes the root workflow span."""

    start_ns: int
    workflow: str = "support_triage"
    service: str = "agentdeck-engine"
    trace_id: str = field(default_factory=new_trace_id)
    root_id: str = field(default_factory=_span_id)
    rows: list[SpanRow] = field(default_factory=list)
    cursor_ns: int = 0
    budget_limit_usd: float | None = None
    spent_usd: float = 0.0

    def __post_init__(self) -> None:
        self.cursor_ns = self.start_ns

    def agent(
        self,
        name: str,
        *,
        duration_ms: float = 1000.0,
        attempt: int = 1,
        retry_reason: str | None = None,
        status: str = "OK",
        model: str = "claude-haiku-4-5",
        input_tokens: int = 500,
        output_tokens: int = 100,
        cost_usd: float = 0.001,
        sdk_duplicate: bool = False,
    ) -> Task:
        """An agent attempt with its one LLM call (plus, optionally, an uncounted SDK duplicate)."""
        agent_id = _span_id()
        start = self.cursor_ns
        self.spent_usd += cost_usd
        attrs: dict[str, object] = {semconv.GEN_AI_AGENT_NAME: name, semconv.AD_ATTEMPT: attempt}
        if self.budget_limit_usd is not None:  # as the engine does: spend on every step, the limit on the root
            attrs[semconv.AD_BUDGET_SPENT_USD] = round(self.spent_usd, 6)
        self.rows.append(
            span(
                self.trace_id,
                start,
                duration_ms,
                span_id=agent_id,
                parent_span_id=self.root_id,
                name=f"invoke_agent {name}",
                span_type="agent",
                operation_name="invoke_agent",
                agent_name=name,
                workflow_name=self.workflow,
                service_name=self.service,
                attempt=attempt,
                retry_reason=retry_reason,
                status_code=status,
                error_type="timeout" if status == "ERROR" else None,
                attrs=attrs,
            )
        )
        llm = {
            "span_type": "llm",
            "operation_name": "chat",
            "provider": "simulated",
            "request_model": model,
            "response_model": model,
            "agent_name": name,
            "workflow_name": self.workflow,
            "service_name": self.service,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "cost_usd": cost_usd,
            "cost_source": "computed",
            "name": f"chat {model}",
            "kind": "CLIENT",
            "status_code": status,
        }
        llm_ms = duration_ms * 0.8
        self.rows.append(
            span(self.trace_id, start + int(duration_ms * 0.1 * MS), llm_ms, parent_span_id=agent_id, **llm)
        )  # type: ignore[arg-type]
        if sdk_duplicate:
            self.rows.append(
                span(
                    self.trace_id,
                    start + int(duration_ms * 0.1 * MS),
                    llm_ms,
                    parent_span_id=agent_id,
                    usage_counted=False,
                    **llm,
                )
            )  # type: ignore[arg-type]
        self.cursor_ns = start + int(duration_ms * MS)
        return self

    def tool(self, name: str, arguments: dict[str, object], *, agent: str = "researcher") -> Task:
        start = self.cursor_ns
        self.rows.append(
            span(
                self.trace_id,
                start,
                50.0,
                parent_span_id=self.root_id,
                name=f"execute_tool {name}",
                span_type="tool",
                operation_name="execute_tool",
                tool_name=name,
                agent_name=agent,
                workflow_name=self.workflow,
                service_name=self.service,
                attrs={semconv.GEN_AI_TOOL_NAME: name, semconv.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps(arguments)},
            )
        )
        self.cursor_ns = start + 50 * MS
        return self

    def finish(
        self,
        outcome: str = "success",
        *,
        messages: int | None = 6,
        conflicts: int | None = 0,
        incomplete_reason: str | None = None,
    ) -> Task:
        attrs: dict[str, object] = {semconv.GEN_AI_WORKFLOW_NAME: self.workflow, semconv.AD_TASK_OUTCOME: outcome}
        if incomplete_reason is not None:
            attrs[semconv.AD_TASK_INCOMPLETE_REASON] = incomplete_reason
        if messages is not None:
            attrs[semconv.AD_MESSAGES] = messages
        if conflicts is not None:
            attrs[semconv.AD_STATE_CONFLICTS] = conflicts
        if self.budget_limit_usd is not None:
            attrs[semconv.AD_BUDGET_LIMIT_USD] = self.budget_limit_usd
            attrs[semconv.AD_BUDGET_SPENT_USD] = round(self.spent_usd, 6)
        self.rows.append(
            span(
                self.trace_id,
                self.start_ns,
                (self.cursor_ns - self.start_ns + 10 * MS) / MS,
                span_id=self.root_id,
                name=f"invoke_workflow {self.workflow}",
                span_type="workflow",
                operation_name="invoke_workflow",
                workflow_name=self.workflow,
                service_name=self.service,
                outcome=outcome,
                status_code="ERROR" if outcome in ("failed", "dead_letter") else "OK",
                attrs=attrs,
            )
        )
        return self


def simple_task(
    start_ns: int,
    *,
    workflow: str = "support_triage",
    outcome: str = "success",
    agents: tuple[str, ...] = ("classifier", "responder"),
    **agent_kw: object,
) -> Task:
    t = Task(start_ns, workflow=workflow)
    for a in agents:
        t.agent(a, **agent_kw)  # type: ignore[arg-type]
    return t.finish(outcome)


class Store(DuckDBStore):
    """A real DuckDB store (the collector's tables); `add` lands rows as the writer would, and `s` is
    a session on it, what the evaluator, the API and the check are handed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.s = self.session()
        self.closed = False

    def add(self, *tasks_or_rows: Task | SpanRow) -> None:
        rows: list[SpanRow] = []
        for t in tasks_or_rows:
            rows.extend(t.rows if isinstance(t, Task) else [t])
        placeholders = ", ".join("?" for _ in COLUMN_NAMES)
        self.conn.executemany(
            f"INSERT INTO spans ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
            [[getattr(r, c) for c in COLUMN_NAMES] for r in rows],
        )
        self.conn.execute("DELETE FROM trace_ranges")
        append_trace_ranges(self.conn, "spans")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.s.close()
            super().close()


def list_alerts(session: StoreSession, state: str | None = None, limit: int = 1000) -> pa.Table:
    """The session's alerts as a table (columns of `Alert`), in its order."""
    alerts = session.list_alerts(state, limit)
    fields = [f.name for f in dataclasses.fields(Alert)]
    return pa.table({f: [getattr(a, f) for a in alerts] for f in fields})


def rules_toml(
    metric: str,
    threshold: float,
    comparison: str = ">",
    *,
    name: str | None = None,
    window: str = "1h",
    **extra: object,
) -> str:
    """One [[rules]] entry in TOML (through the real parser, like a user's file)."""
    lines = [
        "[[rules]]",
        f'name = "{name or metric}"',
        f'metric = "{metric}"',
        f'window = "{window}"',
        f'comparison = "{comparison}"',
        f"threshold = {threshold}",
    ]
    for key, value in extra.items():
        key = "for" if key == "for_" else key
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"
