"""The provider seam: one request type, one response type, three retryable error kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. `tool_calls` on assistant turns, `tool_call_id` on tool results."""

    role: str  # user | assistant | tool
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def otel(self) -> dict[str, Any]:
        """The OTel GenAI message shape: {role, parts:[...]}."""
        parts: list[dict[str, Any]] = []
        if self.role == "tool":
            parts.append({"type": "tool_call_response", "id": self.tool_call_id, "response": self.content})
        else:
            if self.content:
                parts.append({"type": "text", "content": self.content})
            parts.extend(
                {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            )
        return {"role": self.role, "parts": parts}


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LLMRequest:
    model: str
    system: str
    messages: tuple[Message, ...]
    output_schema: dict[str, Any]  # JSON schema of the expected answer
    max_tokens: int = 1024
    tools: tuple[ToolSpec, ...] = ()
    timeout_s: float = 60.0
    nonce: int = 0  # distinguishes provider retries of the same prompt (simulator sampling)


@dataclass(frozen=True, slots=True)
class Usage:
    """OTel GenAI semantics: input_tokens INCLUDES cache_read and cache_creation tokens."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


@dataclass(frozen=True, slots=True)
class LLMResponse:
    id: str
    model: str
    text: str
    usage: Usage
    finish_reason: str = "end_turn"
    tool_calls: tuple[ToolCall, ...] = ()
    latency_ms: float = 0.0  # simulated latency (0 for real providers: wall time is measured)
    fault: str | None = None  # simulator: the fault it injected into this answer, if any
    extra: dict[str, Any] = field(default_factory=dict)


class ProviderError(Exception):
    """A failed call. `reason` is one of the retry reasons in agentdeck.engine.semconv.RETRY_REASONS."""

    reason = "server_error"
    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None, latency_ms: float = 0.0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        self.latency_ms = latency_ms


class RateLimited(ProviderError):
    reason = "rate_limit"


class ServerError(ProviderError):
    reason = "server_error"


class ProviderTimeout(ProviderError):
    reason = "timeout"


class BadRequest(ProviderError):
    reason = "bad_request"
    retryable = False


class Provider(Protocol):
    name: str

    def complete(self, request: LLMRequest) -> LLMResponse: ...
