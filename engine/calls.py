"""One LLM call (a `chat {model}` CLIENT span) and one tool call (an `execute_tool {tool}` span).

Both advance the node's clock cursor by their latency, so timestamps are virtual in deterministic
runs; the chat call reserves its worst-case cost against the task budget before it is made.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Tool
from agentdeck.engine.clock import Cursor
from agentdeck.engine.context import RunContext
from agentdeck.engine.policies import DOWNGRADE_AT, SKIP_OPTIONAL_AT, TaskHalted
from agentdeck.engine.providers.base import LLMRequest, LLMResponse, ProviderError, ToolCall, Usage
from agentdeck.engine.providers.simulator import stable_int
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
    name = f"chat {request.model}"
    key = cache_key(request)
    recorded = ctx.ledger.recorded_response(key) if ctx.serve_recorded else None
    hit = recorded or (ctx.cache.get(key) if use_cache and ctx.cache is not None else None)
    worst = _worst_case_usd(ctx, request)
    if hit is None and not ctx.budget.reserve(worst):
        raise TaskHalted("budget")  # no call is made: recorded on the agent span by the caller
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
    cost = (
        ctx.prices.cost(
            response.model,
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.usage.cache_read_tokens,
            response.usage.cache_creation_tokens,
        )
        or 0.0
    )
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


def run_tool(
    ctx: RunContext, tool: Tool, call: ToolCall, *, parent: Context, cursor: Cursor, step: int, attempt: int
) -> str:
    """Execute one tool call; a failure becomes an error result the model sees, never a crash."""
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
    rng = random.Random(stable_int(ctx.seed, ctx.task_id, tool.name, call.arguments, attempt))
    cursor.advance(rng.uniform(15, 220))
    try:
        if rng.random() < ctx.tool_failure_rate:
            raise ToolFailed(f"{tool.name}: upstream returned 503 (injected by chaos)")
        result = tool.func(call.arguments)
    except Exception as exc:  # a tool's failure is data for the model, not a crash of the task
        result = f"error: {exc}"
        span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, str(exc)))
    span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, result)
    ctx.stats.add_messages(1)
    span.end(end_time=cursor.now_ns())
    return result
