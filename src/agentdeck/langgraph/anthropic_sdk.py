"""Spans for the anthropic SDK's `messages.create` (sync and async) made inside an adapted graph's nodes.

`patch()` wraps the two methods once per process; a call made outside a traced node goes straight
through. Anthropic reports uncached input tokens apart from cache reads and writes; the span's
`gen_ai.usage.input_tokens` is their sum, as OTel GenAI defines it. Streaming calls are not traced.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from agentdeck.engine.semconv import PROVIDER_ANTHROPIC
from agentdeck.langgraph.llm import Usage, fail_span, finish_chat, start_chat

_patched = False
_lock = threading.Lock()


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n".join(str(b.get("text", "")) for b in system or [] if isinstance(b, Mapping))


def _open(kwargs: Mapping[str, Any]) -> Any:
    if kwargs.get("stream"):
        return None
    messages = [(str(m.get("role", "user")), m.get("content")) for m in kwargs.get("messages") or []]
    return start_chat(
        PROVIDER_ANTHROPIC,
        str(kwargs.get("model", "")),
        _system_text(kwargs.get("system")),
        messages,
        kwargs.get("max_tokens"),
    )


def _finish(opened: Any, response: Any) -> None:
    u = getattr(response, "usage", None)
    cache_read = int(getattr(u, "cache_read_input_tokens", 0) or 0)
    cache_creation = int(getattr(u, "cache_creation_input_tokens", 0) or 0)
    finish_chat(
        opened,
        model=str(getattr(response, "model", "")),
        response_id=str(getattr(response, "id", "")),
        finish_reason=str(getattr(response, "stop_reason", "") or ""),
        usage=Usage(
            int(getattr(u, "input_tokens", 0) or 0) + cache_read + cache_creation,
            int(getattr(u, "output_tokens", 0) or 0),
            cache_read,
            cache_creation,
        ),
        output=[b.model_dump() if hasattr(b, "model_dump") else b for b in getattr(response, "content", [])],
    )


def _sync(create: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(create)
    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened = _open(kwargs)
        if opened is None:
            return create(self, *args, **kwargs)
        try:
            response = create(self, *args, **kwargs)
        except BaseException as exc:
            fail_span(opened, exc)
            raise
        _finish(opened, response)
        return response

    return traced


def _async(create: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(create)
    async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened = _open(kwargs)
        if opened is None:
            return await create(self, *args, **kwargs)
        try:
            response = await create(self, *args, **kwargs)
        except BaseException as exc:
            fail_span(opened, exc)
            raise
        _finish(opened, response)
        return response

    return traced


def patch() -> None:
    """Trace `Messages.create` and `AsyncMessages.create` (no-op without the anthropic package)."""
    global _patched
    with _lock:
        if _patched:
            return
        try:
            from anthropic.resources.messages import AsyncMessages, Messages
        except ImportError:
            return
        Messages.create = _sync(Messages.create)  # type: ignore[method-assign]
        AsyncMessages.create = _async(AsyncMessages.create)  # type: ignore[method-assign]
        _patched = True
