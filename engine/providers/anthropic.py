"""Anthropic Messages API through the official SDK; the engine owns retries (SDK max_retries=0).

Usage follows OTel GenAI: `input_tokens` reported here is the SUM of Anthropic's uncached
input_tokens, cache_read_input_tokens and cache_creation_input_tokens. Errors map to the engine's
retryable kinds: 429 -> RateLimited, 529/5xx/connection errors -> ServerError, timeouts ->
ProviderTimeout; any other 4xx is a BadRequest (not retried).
"""

from __future__ import annotations

import json
import os
from typing import Any

import anthropic

from agentdeck.engine.providers.base import (
    BadRequest,
    LLMRequest,
    LLMResponse,
    Message,
    ProviderTimeout,
    RateLimited,
    ServerError,
    ToolCall,
    Usage,
)
from agentdeck.engine.semconv import PROVIDER_ANTHROPIC

SCHEMA_INSTRUCTION = "\n\nReply with one JSON object, and nothing else, that matches this JSON schema:\n"


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    raw = exc.response.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def to_anthropic_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Engine messages -> Messages API turns (tool results grouped into one user turn)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": "user", "content": m.content})
    return out


class AnthropicProvider:
    name = PROVIDER_ANTHROPIC

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ValueError("the Anthropic provider needs an API key: set ANTHROPIC_API_KEY")
        self.client = anthropic.Anthropic(
            api_key=key, base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL"), max_retries=0
        )

    def complete(self, request: LLMRequest) -> LLMResponse:
        system = request.system + SCHEMA_INSTRUCTION + json.dumps(request.output_schema)
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "messages": to_anthropic_messages(request.messages),
            "timeout": request.timeout_s,
        }
        if request.tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools
            ]
        try:
            resp = self.client.messages.create(**kwargs)
        except anthropic.APITimeoutError as exc:
            raise ProviderTimeout(f"request timed out after {request.timeout_s:g}s: {exc}") from None
        except anthropic.APIConnectionError as exc:
            raise ServerError(f"connection error: {exc}") from None
        except anthropic.APIStatusError as exc:
            status = exc.status_code
            message = f"{status} {exc.message}"
            if status == 429:
                raise RateLimited(message, status=status, retry_after_s=_retry_after(exc)) from None
            if status == 408:
                raise ProviderTimeout(message, status=status) from None
            if status >= 500:
                raise ServerError(message, status=status, retry_after_s=_retry_after(exc)) from None
            raise BadRequest(message, status=status) from None
        u = resp.usage
        cache_read = u.cache_read_input_tokens or 0
        cache_write = u.cache_creation_input_tokens or 0
        text = "".join(b.text for b in resp.content if b.type == "text")
        calls = tuple(
            ToolCall(id=b.id, name=b.name, arguments=dict(b.input))  # type: ignore[arg-type]
            for b in resp.content
            if b.type == "tool_use"
        )
        return LLMResponse(
            id=resp.id,
            model=resp.model,
            text=text,
            usage=Usage(
                input_tokens=u.input_tokens + cache_read + cache_write,
                output_tokens=u.output_tokens,
                cache_read_tokens=cache_read,
                cache_creation_tokens=cache_write,
            ),
            finish_reason=resp.stop_reason or "end_turn",
            tool_calls=calls,
        )
