"""One LLM call (a `chat {model}` CLIENT span) and one tool call (`execute_tool {tool}` spans, one per try).

Both advance the node's clock cursor by their latency, so timestamps are virtual in deterministic
runs; the chat call reserves its worst-case cost against the task budget before it is made.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import replace
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Tool
from agentdeck.engine.clock import Cursor
from agentdeck.engine.context import RunContext
from agentdeck.engine.mcp_tools import ToolUnavailable
from agentdeck.engine.policies import DOWNGRADE_AT, SKIP_OPTIONAL_AT, CircuitBreaker, TaskHalted
from agentdeck.engine.providers.base import LLMRequest, LLMResponse, ProviderError, ToolCall, Usage
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.semantic_cache import SemanticHit
from agentdeck.engine.telemetry import new_span

BUDGET_THRESHOLDS = (DOWNGRADE_AT, SKIP_OPTIONAL_AT, 1.0)


def _ids(ctx: RunContext, parent: Context, name: str, step: int) -> int | None:
    if ctx.span_ids is None:
        return None
    parent_id = trace.get_current_span(parent).get_span_context().span_id
    return ctx.span_ids.span_id(parent_id, name, step)


def cache_key(request: LLMRequest) -> str:
    parts: list[Any] = [request.model, request.system, [m.otel() for m in request.messages], request.output_schema]
    if request.tools:  # the tools offered shape the answer (tool-less keys stay as they were recorded)
        parts.append([(t.name, t.description, t.input_schema) for t in request.tools])
    body = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _worst_case_usd(ctx: RunContext, request: LLMRequest) -> float:
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    return ctx.prices.cost(request.model, input_tokens=chars // 3 + 600, output_tokens=request.max_tokens) or 0.0


def chat(
    ctx: RunContext, request: LLMRequest, *, parent: Context, cursor: Cursor, step: int, use_cache: bool
) -> tuple[LLMResponse, str]:
    """Make one call; returns the response and its request key.

    Served without a call (zero tokens) from the response cache (`use_cache`: agents without tools),
    or, in a replay, from the recorded response of an identical request (tool rounds included: a step
    whose prompt and inputs are unchanged is replayed from its recording, tools and all)."""
    key = cache_key(request)
    recorded = ctx.ledger.recorded_response(key) if ctx.serve_recorded else None
    hit = recorded or (ctx.cache.get(key) if use_cache and ctx.cache is not None else None)
    worst = _worst_case_usd(ctx, request)
    if hit is None and not ctx.budget.reserve(worst):
        raise TaskHalted("budget")  # no call is made: recorded on the agent span by the caller
    span = _chat_span(ctx, request, parent, cursor, step)
    if hit is not None:
        cursor.advance(2.0)
        response = replace(hit, usage=Usage(), latency_ms=2.0)
        span.set_attributes({sc.AD_CACHE_HIT: recorded is None, sc.GEN_AI_USAGE_COST: 0.0})
        if recorded is not None:
            span.set_attribute(sc.AD_REPLAY_SERVED_FROM_RECORD, True)
        _finish(ctx, span, response, 0.0, cursor)
        return response, key
    try:
        response = ctx.provider.complete(request)
    except ProviderError as exc:
        ctx.budget.settle(worst, 0.0)
        cursor.advance(exc.latency_ms)
        span.set_attributes({sc.ERROR_TYPE: exc.reason, sc.GEN_AI_RESPONSE_MODEL: request.model})
        span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end(end_time=cursor.now_ns())
        raise
    except Exception as exc:  # an unmapped provider bug: release the reservation, fail this span
        ctx.budget.settle(worst, 0.0)
        span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.end(end_time=cursor.now_ns())
        raise
    cursor.advance(response.latency_ms)
    before = ctx.budget.fraction()
    cost = response_cost(ctx, response)
    ctx.budget.settle(worst, cost)
    after = ctx.budget.fraction()
    for mark in BUDGET_THRESHOLDS:
        if before < mark <= after:
            ctx.root_span.add_event(
                sc.EVENT_BUDGET_THRESHOLD,
                {
                    sc.AD_BUDGET_FRACTION: mark,
                    sc.AD_BUDGET_SPENT_USD: round(ctx.budget.spent_usd, 8),
                },
                timestamp=cursor.now_ns(),
            )
    span.set_attribute(sc.AD_CACHE_HIT, False)
    _finish(ctx, span, response, cost, cursor)
    return response, key


def _chat_span(ctx: RunContext, request: LLMRequest, parent: Context, cursor: Cursor, step: int) -> trace.Span:
    name = f"chat {request.model}"
    span = new_span(
        ctx.tracer,
        name,
        parent=parent,
        start_ns=cursor.now_ns(),
        kind=SpanKind.CLIENT,
        span_id=_ids(ctx, parent, name, step),
    )
    span.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
            sc.GEN_AI_PROVIDER_NAME: ctx.provider.name,
            sc.GEN_AI_REQUEST_MODEL: request.model,
            sc.GEN_AI_REQUEST_MAX_TOKENS: request.max_tokens,
            sc.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": request.system}]),
            sc.GEN_AI_INPUT_MESSAGES: json.dumps([m.otel() for m in request.messages], ensure_ascii=False),
        }
    )
    return span


def response_cost(ctx: RunContext, response: LLMResponse) -> float:
    u = response.usage
    return (
        ctx.prices.cost(response.model, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_creation_tokens)
        or 0.0
    )


def serve_semantic(
    ctx: RunContext, request: LLMRequest, hit: SemanticHit, *, parent: Context, cursor: Cursor, step: int
) -> LLMResponse:
    """Answer a near-duplicate request from the semantic cache: a chat span marked as a hit, with the
    similarity and the tokens and cost it saved; zero tokens spent."""
    span = _chat_span(ctx, request, parent, cursor, step)
    cursor.advance(2.0)
    saved = hit.response.usage
    span.set_attributes(
        {
            sc.AD_CACHE_HIT: True,
            sc.AD_CACHE_KIND: "semantic",
            sc.AD_CACHE_SIMILARITY: hit.similarity,
            sc.AD_CACHE_SAVED_INPUT_TOKENS: saved.input_tokens,
            sc.AD_CACHE_SAVED_OUTPUT_TOKENS: saved.output_tokens,
            sc.AD_CACHE_SAVED_USD: round(hit.cost_usd, 8),
        }
    )
    response = replace(hit.response, usage=Usage(), latency_ms=2.0)
    _finish(ctx, span, response, 0.0, cursor)
    return response


def _finish(ctx: RunContext, span: trace.Span, response: LLMResponse, cost: float, cursor: Cursor) -> None:
    u = response.usage
    out_parts: list[dict[str, object]] = []
    if response.text:
        out_parts.append({"type": "text", "content": response.text})
    out_parts += [
        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
    ]
    span.set_attributes(
        {
            sc.GEN_AI_RESPONSE_MODEL: response.model,
            sc.GEN_AI_RESPONSE_ID: response.id,
            sc.GEN_AI_RESPONSE_FINISH_REASONS: [response.finish_reason],
            sc.GEN_AI_USAGE_INPUT_TOKENS: u.input_tokens,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: u.output_tokens,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: u.cache_read_tokens,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: u.cache_creation_tokens,
            sc.GEN_AI_USAGE_COST: round(cost, 8),
            sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": out_parts, "finish_reason": response.finish_reason}], ensure_ascii=False
            ),
            sc.AD_BUDGET_SPENT_USD: round(ctx.budget.spent_usd, 8),
        }
    )
    if response.fault:
        span.set_attribute(sc.AD_SIMULATED_FAULT, response.fault)
    ctx.stats.add_messages(1)
    span.end(end_time=cursor.now_ns())


class ToolFailed(Exception):
    pass


TOOL_RETRIES = 2  # a tool that is unavailable (timeout, server down) is tried at most 3 times per call


def run_tool(
    ctx: RunContext, tool: Tool, call: ToolCall, *, parent: Context, cursor: Cursor, step: int, attempt: int
) -> str:
    """Execute one tool call; a failure becomes an error result the model sees, never a crash.

    A `ToolUnavailable` (a timeout, a server down or failing: MCP tools raise it, local tools may) is
    retried with backoff up to TOOL_RETRIES times, each try its own span with the retry reason, and is
    counted by the tool's circuit breaker (`tool:{name}` in the run's breakers); while it is open the
    call is refused without reaching the tool."""
    breaker = ctx.breakers.get(f"tool:{tool.name}") if ctx.breakers is not None else None
    reason: str | None = None
    for try_no in range(1, TOOL_RETRIES + 2):
        result, unavailable = _tool_try(ctx, tool, call, parent, cursor, step, attempt, try_no, reason, breaker)
        if unavailable is None or unavailable == "circuit_open" or try_no > TOOL_RETRIES:
            return result
        reason = unavailable
        cursor.advance(200.0 * 2 ** (try_no - 1))
    raise AssertionError("unreachable")


def _tool_try(
    ctx: RunContext,
    tool: Tool,
    call: ToolCall,
    parent: Context,
    cursor: Cursor,
    step: int,
    attempt: int,
    try_no: int,
    reason: str | None,
    breaker: CircuitBreaker | None,
) -> tuple[str, str | None]:
    """One try: (result for the model, why the tool was unavailable or None)."""
    name = f"execute_tool {tool.name}"
    span = new_span(ctx.tracer, name, parent=parent, start_ns=cursor.now_ns(), span_id=_ids(ctx, parent, name, step))
    span.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: tool.name,
            sc.GEN_AI_TOOL_CALL_ID: call.id,
            sc.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps(call.arguments, sort_keys=True),
        }
    )
    if tool.server:
        span.set_attributes(
            {sc.MCP_SERVER_NAME: tool.server, sc.MCP_TRANSPORT: tool.transport, sc.MCP_METHOD_NAME: "tools/call"}
        )
    if reason:
        span.set_attributes({sc.AD_ATTEMPT: try_no, sc.AD_RETRY_REASON: reason})
    allowed, circuit = breaker.allow() if breaker is not None else (True, "closed")
    if circuit != "closed":
        span.set_attribute(sc.AD_CIRCUIT_STATE, circuit)
    unavailable: str | None = None
    if not allowed:
        result, unavailable = f"error: the circuit breaker for tool {tool.name} is open", "circuit_open"
        span.set_attribute(sc.ERROR_TYPE, "circuit_open")
        span.set_status(Status(StatusCode.ERROR, result))
        cursor.advance(0.0)
    else:
        key = (ctx.seed, ctx.task_id, tool.name, call.arguments, attempt) + ((try_no,) if try_no > 1 else ())
        rng = random.Random(stable_int(*key))
        if not tool.server:
            cursor.advance(rng.uniform(15, 220))
        started = time.perf_counter()
        try:
            if rng.random() < ctx.tool_failure_rate:
                raise ToolFailed(f"{tool.name}: upstream returned 503 (injected by chaos)")
            result = tool.func(call.arguments)
            if breaker is not None:
                breaker.record(True)
        except ToolUnavailable as exc:
            result, unavailable = f"error: {exc}", exc.reason
            if breaker is not None:
                breaker.record(False)
            span.set_attribute(sc.ERROR_TYPE, exc.reason)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
        except Exception as exc:  # a tool's failure is data for the model, not a crash of the task
            if breaker is not None:
                breaker.release()
            result = f"error: {exc}"
            span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
        if tool.server and ctx.clock.virtual:  # a real call's latency, on the task's virtual clock
            cursor.advance((time.perf_counter() - started) * 1000)
    span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, result)
    ctx.stats.add_messages(1)
    span.end(end_time=cursor.now_ns())
    return result, unavailable
