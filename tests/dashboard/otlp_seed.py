"""OTLP/JSON bodies shaped like our engine's traces, POSTed through the collector's real ingest path.

Three tasks, a few minutes old (so every default time range holds them):

- triage-ok      support_triage, success: classifier -> responder (validation retry) -> reviewer
- triage-failed  support_triage, failed: classifier -> responder times out twice (exception event)
- diligence      due_diligence, success: researcher -> writer -> researcher (a loop)

Costs are reported on the spans (`gen_ai.usage.cost`), so the totals are known exactly:
spend $0.0446 = 0.0065 + 0.0016 + 0.0365.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from agentdeck.engine import semconv as sc

MS: Final = 1_000_000
TRIAGE_OK: Final = "1" * 32
TRIAGE_FAILED: Final = "2" * 32
DILIGENCE: Final = "3" * 32
SPEND: Final = 0.0446
STACK: Final = 'Traceback (most recent call last):\n  File "agents.py", line 12\nTimeoutError'
REFUND_TEXT: Final = "Customer asks for a REFUND of order 8812"
# Span ids are the trace id's first 8 characters + a per-trace counter, in the order built below.
REFUND_CALL_SPAN: Final = TRIAGE_OK[:8] + f"{3:08x}"  # triage-ok's classifier LLM call
TIMEOUT_SPAN: Final = TRIAGE_FAILED[:8] + f"{4:08x}"  # triage-failed's first responder attempt


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


@dataclass
class TraceBuilder:
    trace_id: str
    t0_ns: int
    spans: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def span(
        self,
        name: str,
        parent: str | None,
        start_ms: float,
        dur_ms: float,
        attrs: dict[str, Any],
        *,
        error: str | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> str:
        span_id = f"{self.trace_id[:8]}{next(self._ids):08x}"
        start = self.t0_ns + int(start_ms * MS)
        body: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": span_id,
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + int(dur_ms * MS)),
            "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
            "status": {"code": 2, "message": error} if error else {"code": 1},
            "events": events or [],
        }
        if parent:
            body["parentSpanId"] = parent
        self.spans.append(body)
        return span_id

    def workflow(self, name: str, dur_ms: float, outcome: str, **kw: Any) -> str:
        attrs = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: name,
                 sc.AD_TASK_OUTCOME: outcome, sc.LANGGRAPH_THREAD_ID: f"thread-{self.trace_id[:6]}"}  # fmt: skip
        return self.span(f"invoke_workflow {name}", None, 0, dur_ms, attrs, **kw)

    def agent(self, parent: str, name: str, start_ms: float, dur_ms: float, attempt: int = 1, **kw: Any) -> str:
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: name,
                                 sc.AD_ATTEMPT: attempt}  # fmt: skip
        if attempt > 1:
            attrs[sc.AD_RETRY_REASON] = kw.pop("reason")
        if kw.get("error"):
            attrs[sc.ERROR_TYPE] = kw.pop("error_type", "Error")
        return self.span(f"invoke_agent {name}", parent, start_ms, dur_ms, attrs, **kw)

    def llm(self, parent: str, model: str, start_ms: float, dur_ms: float, tokens: tuple[int, int], cost: float,
            prompt: str = "Classify this ticket") -> str:  # fmt: skip
        attrs = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_SIMULATED,
            sc.GEN_AI_REQUEST_MODEL: model, sc.GEN_AI_RESPONSE_MODEL: model,
            sc.GEN_AI_USAGE_INPUT_TOKENS: tokens[0], sc.GEN_AI_USAGE_OUTPUT_TOKENS: tokens[1],
            sc.GEN_AI_USAGE_COST: cost,
            sc.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
                 {"role": "user", "parts": [{"type": "text", "content": prompt}]}]
            ),
            sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "finish_reason": "stop",
                  "parts": [{"type": "text", "content": '{"category": "billing", "urgent": true}'}]}]
            ),
        }  # fmt: skip
        return self.span(f"chat {model}", parent, start_ms, dur_ms, attrs)


def build_traces(now_ns: int | None = None) -> list[TraceBuilder]:
    now = now_ns or time.time_ns()
    out = []
    a = TraceBuilder(TRIAGE_OK, now - 300_000 * MS)
    w = a.workflow("support_triage", 1000, "success")
    c = a.agent(w, "classifier", 0, 100)
    a.llm(c, "claude-haiku-4-5", 10, 80, (100, 20), 0.001, prompt=REFUND_TEXT)
    r1 = a.agent(w, "responder", 100, 200, error="output did not match the schema", error_type="ValidationError")
    a.llm(r1, "claude-sonnet-4-5", 110, 150, (200, 50), 0.002)
    r2 = a.agent(w, "responder", 300, 300, attempt=2, reason="validation")
    a.llm(r2, "claude-sonnet-4-5", 310, 250, (300, 60), 0.003)
    v = a.agent(w, "reviewer", 600, 300)
    a.llm(v, "claude-haiku-4-5", 610, 250, (100, 10), 0.0005)
    out.append(a)

    b = TraceBuilder(TRIAGE_FAILED, now - 240_000 * MS)
    w = b.workflow("support_triage", 2000, "failed", error="responder gave up")
    c = b.agent(w, "classifier", 0, 100)
    b.llm(c, "claude-haiku-4-5", 10, 80, (100, 20), 0.001)
    boom = [{"timeUnixNano": str(b.t0_ns + 1000 * MS), "name": "exception", "attributes": [
        {"key": "exception.type", "value": {"stringValue": "TimeoutError"}},
        {"key": "exception.message", "value": {"stringValue": "responder exceeded 900 ms"}},
        {"key": "exception.stacktrace", "value": {"stringValue": STACK}}]}]  # fmt: skip
    r1 = b.agent(w, "responder", 100, 900, error="timed out", error_type="TimeoutError", events=boom)
    b.llm(r1, "claude-sonnet-4-5", 110, 800, (200, 0), 0.0006)
    b.agent(w, "responder", 1000, 1000, attempt=2, reason="timeout", error="timed out", error_type="TimeoutError")
    out.append(b)

    c3 = TraceBuilder(DILIGENCE, now - 180_000 * MS)
    w = c3.workflow("due_diligence", 5000, "success")
    rs = c3.agent(w, "researcher", 0, 1000)
    c3.llm(rs, "claude-opus-4-5", 10, 900, (1000, 200), 0.01)
    wr = c3.agent(w, "writer", 1000, 2000)
    c3.llm(wr, "claude-opus-4-5", 1010, 1900, (500, 500), 0.02)
    rs2 = c3.agent(w, "researcher", 3000, 2000)
    c3.llm(rs2, "claude-opus-4-5", 3010, 1900, (100, 100), 0.0065)
    out.append(c3)
    return out


def otlp_body(traces: list[TraceBuilder], service: str = "support-bot") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": sc.ENGINE_SCOPE}, "spans": [s for t in traces for s in t.spans]}],
            }
        ]
    }


def seed(collector_url: str, token: str | None = None) -> list[TraceBuilder]:
    """POST the three traces to /v1/traces and wait until the query API sees every span."""
    traces = build_traces()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(f"{collector_url}/v1/traces", json=otlp_body(traces), headers=headers, timeout=10)
    resp.raise_for_status()
    expected = sum(len(t.spans) for t in traces)
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        body = httpx.get(f"{collector_url}/api/query/overview", headers=headers, timeout=10).json()
        rows = httpx.get(f"{collector_url}/api/query/traces", headers=headers, timeout=10).json()["rows"]
        if body["rows"] and sum(r[7] for r in rows) >= expected:
            return traces
        time.sleep(0.05)
    raise AssertionError(f"the collector did not store the {expected} seeded spans in 10 s")


def post(collector_url: str, traces: list[TraceBuilder]) -> None:
    """POST `traces` to /v1/traces and wait (at most 10 s) until the query API returns all their spans."""
    resp = httpx.post(f"{collector_url}/v1/traces", json=otlp_body(traces), timeout=10)
    resp.raise_for_status()
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        stored = [
            len(
                httpx.get(f"{collector_url}/api/query/trace", params={"trace_id": t.trace_id}, timeout=10).json()[
                    "rows"
                ]
            )
            for t in traces
        ]
        if stored == [len(t.spans) for t in traces]:
            return
        time.sleep(0.05)
    raise AssertionError("the collector did not store the posted traces in 10 s")
