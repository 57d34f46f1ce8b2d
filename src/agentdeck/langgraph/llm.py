"""LLM and tool spans inside an adapted graph's nodes: LangChain callbacks and the anthropic SDK.

Both paths end in `start_chat`/`finish_chat`, which write one `chat {model}` CLIENT span with the OTel
GenAI attributes (provider, models, usage with cache tokens inside input tokens, finish reasons,
messages) and the cost from the same price table the collector uses. A call is traced only inside a
node of an instrumented invocation; anywhere else these hooks do nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentdeck.engine import semconv as sc
from agentdeck.engine.pricing import PriceTable, load_prices
from agentdeck.langgraph.nodes import NodeScope, current_node

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


@functools.cache
def prices() -> PriceTable:
    return load_prices()


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0  # cache reads and writes included (OTel GenAI)
    output_tokens: int = 0
    cache_read: int = 0
    cache_creation: int = 0


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content or []:
        if isinstance(block, str):
            parts.append({"type": "text", "content": block})
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append({"type": "text", "content": str(block.get("text", ""))})
        elif isinstance(block, Mapping) and block.get("type") == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name")})
        elif isinstance(block, Mapping) and block.get("type") == "tool_result":
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id")})
    return parts


def start_chat(
    provider: str, model: str, system: str, messages: Sequence[tuple[str, Any]], max_tokens: int | None
) -> tuple[NodeScope, Span] | None:
    """Open the call's span under the current node; None outside a traced node."""
    scope = current_node.get()
    if scope is None:
        return None
    span = scope.run.tracer.start_span(
        f"{sc.OP_CHAT} {model}", context=trace.set_span_in_context(scope.span), kind=SpanKind.CLIENT
    )
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_AGENT_NAME: scope.node,
        sc.LANGGRAPH_NODE: scope.node,
        sc.LANGGRAPH_STEP: scope.step,
        sc.AD_TASK_ID: scope.run.task_id,
        sc.GEN_AI_INPUT_MESSAGES: json.dumps(
            [{"role": role, "parts": _text_parts(content)} for role, content in messages], ensure_ascii=False
        ),
    }
    if system:
        attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps([{"type": "text", "content": system}], ensure_ascii=False)
    if max_tokens is not None:
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    span.set_attributes(attrs)
    return scope, span


def finish_chat(
    opened: tuple[NodeScope, Span],
    *,
    model: str,
    response_id: str,
    finish_reason: str,
    usage: Usage,
    output: Any,
) -> None:
    scope, span = opened
    cost = prices().cost(model, usage.input_tokens, usage.output_tokens, usage.cache_read, usage.cache_creation)
    span.set_attributes(
        {
            sc.GEN_AI_RESPONSE_MODEL: model,
            sc.GEN_AI_RESPONSE_ID: response_id,
            sc.GEN_AI_RESPONSE_FINISH_REASONS: [finish_reason],
            sc.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cache_read,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: usage.cache_creation,
            sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": _text_parts(output), "finish_reason": finish_reason}],
                ensure_ascii=False,
            ),
        }
    )
    if cost is not None:
        span.set_attribute(sc.GEN_AI_USAGE_COST, round(cost, 8))
        scope.run.add_cost(cost)
    span.end()


def fail_span(opened: tuple[NodeScope, Span], exc: BaseException) -> None:
    span = opened[1]
    span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.end()


class SpanCallbacks(BaseCallbackHandler):
    """LangChain callbacks: chat model calls and tool calls become spans under the current node."""

    run_inline = True  # called where the model runs, so the current node is known

    def __init__(self) -> None:
        self._open: dict[UUID, tuple[NodeScope, Span]] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        meta = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = str(meta.get("ls_model_name") or params.get("model") or params.get("model_name") or "unknown")
        turns = messages[0] if messages else []
        system = "\n".join(str(m.content) for m in turns if m.type == "system")
        opened = start_chat(
            str(meta.get("ls_provider") or "langchain"),
            model,
            system,
            [(_ROLES.get(m.type, m.type), m.content) for m in turns if m.type != "system"],
            meta.get("ls_max_tokens"),
        )
        if opened is not None:
            self._open[run_id] = opened

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is None:
            return
        gen = response.generations[0][0] if response.generations and response.generations[0] else None
        message = getattr(gen, "message", None)
        meta = getattr(message, "usage_metadata", None) or {}
        details = meta.get("input_token_details") or {}
        info = getattr(message, "response_metadata", None) or {}
        model = str(info.get("model_name") or info.get("model") or opened[1].attributes.get(sc.GEN_AI_REQUEST_MODEL))  # type: ignore[attr-defined]
        finish_chat(
            opened,
            model=model,
            response_id=str(getattr(message, "id", "") or ""),
            finish_reason=str(info.get("finish_reason") or info.get("stop_reason") or "stop"),
            usage=Usage(
                int(meta.get("input_tokens", 0)),
                int(meta.get("output_tokens", 0)),
                int(details.get("cache_read", 0)),
                int(details.get("cache_creation", 0)),
            ),
            output=getattr(message, "content", None) if message is not None else getattr(gen, "text", ""),
        )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is not None:
            fail_span(opened, error)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        scope = current_node.get()
        if scope is None:
            return
        name = str((serialized or {}).get("name") or kwargs.get("name") or "tool")
        span = scope.run.tracer.start_span(
            f"{sc.OP_EXECUTE_TOOL} {name}", context=trace.set_span_in_context(scope.span)
        )
        span.set_attributes(
            {
                sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                sc.GEN_AI_TOOL_NAME: name,
                sc.GEN_AI_TOOL_CALL_ARGUMENTS: input_str[:8000],
                sc.GEN_AI_AGENT_NAME: scope.node,
                sc.AD_TASK_ID: scope.run.task_id,
            }
        )
        self._open[run_id] = (scope, span)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is not None:
            opened[1].set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, str(getattr(output, "content", output))[:8000])
            opened[1].end()

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is not None:
            fail_span(opened, error)
