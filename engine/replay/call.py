"""Re-run one LLM call alone, with edited messages: the playground for traces without checkpoints.

Any LLM span (ours or a third party's) gives a model, a system prompt and messages; the user edits
them and the call runs again through the engine's provider (Anthropic when ANTHROPIC_API_KEY is set,
else the offline simulator), priced with the same price table as the collector uses.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.pricing import load_prices
from agentdeck.engine.providers.base import LLMRequest, Message, Provider, ProviderError
from agentdeck.engine.providers.simulator import FaultRates, SimulatedProvider

# What the simulator answers when the original call's schema is unknown (third-party spans).
FREE_TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
ROLES = ("user", "assistant")


@dataclass(frozen=True, slots=True)
class CallResult:
    provider: str
    model: str
    text: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: the model is not in the price table
    latency_ms: float
    error: str = ""


def call_provider() -> Provider:
    if os.environ.get("ANTHROPIC_API_KEY"):
        from agentdeck.engine.providers.anthropic import AnthropicProvider

        return AnthropicProvider()
    return SimulatedProvider(seed=0, faults=FaultRates())


def check_messages(messages: Any) -> list[Message]:
    """Edited messages as a list of {role, content}; ValueError saying what is wrong otherwise."""
    if not isinstance(messages, list) or not messages:
        raise ValueError('messages must be a non-empty JSON list like [{"role": "user", "content": "..."}]')
    out: list[Message] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f'message {i} must be {{"role": "user" or "assistant", "content": "text"}}')
        out.append(Message(str(m["role"]), str(m["content"])))
    if out[-1].role != "user":
        raise ValueError("the last message must be the user's")
    return out


def rerun_call(
    model: str,
    system: str,
    messages: Sequence[Message],
    *,
    max_tokens: int = 1024,
    output_schema: dict[str, Any] | None = None,
    provider: Provider | None = None,
) -> CallResult:
    """Make the call once (no retries: the user sees exactly what happened)."""
    if not model:
        raise ValueError("the call has no model name; pick a model to re-run it with")
    p = provider or call_provider()
    request = LLMRequest(
        model=model,
        system=system,
        messages=tuple(messages),
        output_schema=output_schema or FREE_TEXT_SCHEMA,
        max_tokens=max_tokens,
    )
    started = time.perf_counter()
    try:
        r = p.complete(request)
    except ProviderError as exc:
        return CallResult(
            p.name, model, "", 0, 0, 0.0, (time.perf_counter() - started) * 1000, error=f"{exc.reason}: {exc}"
        )
    latency = r.latency_ms or (time.perf_counter() - started) * 1000
    cost = load_prices().cost(
        r.model, r.usage.input_tokens, r.usage.output_tokens, r.usage.cache_read_tokens, r.usage.cache_creation_tokens
    )
    return CallResult(p.name, r.model, r.text, r.usage.input_tokens, r.usage.output_tokens, cost, round(latency, 3))
