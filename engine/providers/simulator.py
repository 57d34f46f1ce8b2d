"""The offline simulator: a deterministic stand-in for an LLM, honest about being one.

Same seed + same request -> same answer, token counts, latency and fault. It answers with JSON that
is valid for the request's output schema, priced (by the caller) at the list price of the model it
stands in for, and it injects faults at configurable rates: rate limits (429), overloads (529),
timeouts, malformed JSON and schema violations.

Its answers depend on the prompt, so a prompt fix really fixes a failure. Two instructions matter:

* ``ENUM_RULE`` ("allowed list"): without it, the simulated model paraphrases enum values
  ("Billing problem" instead of "billing") -- a schema violation. For "hard" inputs (about one in eight,
  decided by a hash of the prompt) it keeps paraphrasing even after the validation error is fed back,
  so the step fails after its retries; with the rule in the prompt it always answers from the enum.
* ``ID_RULE`` ("exactly as written"): without it, fields with an identifier pattern (an order id
  like ORD-123456) get "the customer's order" for hard inputs -- again a violation that retries do
  not cure; with the rule the identifier is copied from the prompt.

Frontier-tier models (opus) find a quarter as many inputs hard, so a fallback to a frontier agent
usually rescues a weak-prompt failure (at a higher price).

Example (triage classifier): the weak v1 prompt "Classify this support ticket: ..." dead-letters the
hard tickets; the fixed v2 prompt adds "Respond with the category from the allowed list" and they pass.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.providers.base import (
    LLMRequest,
    LLMResponse,
    ProviderTimeout,
    RateLimited,
    ServerError,
    ToolCall,
    Usage,
)
from agentdeck.engine.providers.simtext import TextWriter
from agentdeck.engine.semconv import PROVIDER_SIMULATED

ENUM_RULE = "allowed list"
ID_RULE = "exactly as written"
FEEDBACK_MARKER = "\n\n## Your previous answer was rejected"

# (ttft ms, output tokens per second, prefill ms per input token) per model family
_SPEED = {"haiku": (350.0, 170.0, 0.4), "sonnet": (650.0, 75.0, 1.2), "opus": (1100.0, 42.0, 3.0)}


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probability per call of each injected fault (0..1)."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    timeout: float = 0.0
    malformed_json: float = 0.0
    schema_violation: float = 0.0
    slow: float = 0.0  # a latency spike (x4); can push a call past its timeout

    @classmethod
    def realistic(cls) -> FaultRates:
        """Rates that look like a busy production day."""
        return cls(
            rate_limit=0.03, server_error=0.01, timeout=0.005, malformed_json=0.015, schema_violation=0.015, slow=0.03
        )

    def with_chaos(self, chaos: float) -> FaultRates:
        """Add `chaos` (0..1) as the extra chance that a call goes wrong, spread over the fault kinds,
        plus latency spikes at the same rate -- what `--chaos RATE` does."""
        if not 0.0 <= chaos <= 1.0:
            raise ValueError(f"chaos rate must be between 0 and 1, got {chaos}")
        share = {
            "rate_limit": 0.3,
            "server_error": 0.15,
            "timeout": 0.1,
            "malformed_json": 0.25,
            "schema_violation": 0.2,
            "slow": 1.0,
        }
        return FaultRates(**{f: min(getattr(self, f) + chaos * w, 0.9) for f, w in share.items()})


def _tokens(text: str) -> int:
    return max(1, round(len(text) / 3.8))


def stable_int(*parts: object) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


class SimulatedProvider:
    name = PROVIDER_SIMULATED

    def __init__(self, seed: int = 0, faults: FaultRates | None = None, hard_percent: int = 12) -> None:
        self.seed = seed
        self.faults = faults or FaultRates()
        self.hard_percent = hard_percent

    def complete(self, request: LLMRequest) -> LLMResponse:
        transcript = "\n".join(f"{m.role}:{m.content}:{m.tool_call_id}" for m in request.messages)
        key = stable_int(self.seed, request.model, request.system, transcript, request.nonce)
        rng = random.Random(key)
        ttft, tps, prefill = next((v for k, v in _SPEED.items() if k in request.model), (600.0, 80.0, 1.0))
        f = self.faults
        roll = rng.random()
        if roll < f.rate_limit:
            raise RateLimited(
                "429 rate_limit_error: simulated",
                status=429,
                retry_after_s=round(rng.uniform(0.5, 3.0), 2),
                latency_ms=rng.uniform(40, 120),
            )
        roll -= f.rate_limit
        if roll < f.server_error:
            raise ServerError("529 overloaded_error: simulated", status=529, latency_ms=rng.uniform(150, 600))
        roll -= f.server_error
        if roll < f.timeout:
            raise ProviderTimeout(
                f"request timed out after {request.timeout_s:g}s (simulated)", latency_ms=request.timeout_s * 1000
            )

        prompt = "\n".join(m.content for m in request.messages if m.role == "user")
        base = prompt.split(FEEDBACK_MARKER)[0]
        has_feedback = FEEDBACK_MARKER in prompt
        # the frontier model follows implicit instructions far more often: a quarter as many hard inputs
        hard_percent = self.hard_percent / 4 if "opus" in request.model else self.hard_percent
        hard = stable_int(self.seed, "hard", base) % 100 < hard_percent
        context = "\n".join(m.content for m in request.messages).split(FEEDBACK_MARKER)[0]
        gen = _Generator(rng, request.output_schema, prompt, context=context, hard=hard, feedback=has_feedback)

        tool_calls: tuple[ToolCall, ...] = ()
        fault: str | None = None
        has_results = any(m.role == "tool" for m in request.messages)
        if request.tools and not has_results:
            tool_calls = tuple(
                ToolCall(id=f"toolu_{key % 10**12:012d}_{i}", name=t.name, arguments=gen.value(t.input_schema, t.name))
                for i, t in enumerate(request.tools)
            )
            text = ""
            finish = "tool_use"
        else:
            answer = gen.value(request.output_schema, "root")
            if rng.random() < f.schema_violation and isinstance(answer, dict) and answer:
                answer.pop(sorted(answer)[0])
                fault = "schema_violation"
            text = json.dumps(answer, ensure_ascii=False)
            if rng.random() < f.malformed_json:
                text = "Sure! Here is the JSON you asked for:\n" + text[: max(len(text) * 2 // 3, 1)]
                fault = "malformed_json"
            finish = "end_turn"
        sys_tokens = _tokens(request.system) + 180  # system prompt + output schema instructions
        cache_roll = rng.random()
        cache_read = sys_tokens if cache_roll < 0.6 else 0
        cache_write = sys_tokens if 0.6 <= cache_roll < 0.75 else 0
        out_tokens = _tokens(text) + 30 * len(tool_calls)
        usage = Usage(
            input_tokens=_tokens(transcript) + sys_tokens,
            output_tokens=out_tokens,
            cache_read_tokens=cache_read,
            cache_creation_tokens=cache_write,
        )
        latency = (ttft * rng.uniform(0.7, 1.4) + usage.input_tokens * prefill + out_tokens / tps * 1000) * (
            4.0 if rng.random() < f.slow else 1.0
        )
        if latency > request.timeout_s * 1000:
            raise ProviderTimeout(
                f"request timed out after {request.timeout_s:g}s (simulated)", latency_ms=request.timeout_s * 1000
            )
        return LLMResponse(
            id=f"msg_sim_{key:016x}",
            model=request.model,
            text=text,
            usage=usage,
            finish_reason=finish,
            tool_calls=tool_calls,
            latency_ms=round(latency, 3),
            fault=fault,
        )


class _Generator:
    """Builds a JSON value for a JSON schema, following (or missing) the prompt's instructions."""

    def __init__(
        self, rng: random.Random, root: dict[str, Any], prompt: str, *, context: str, hard: bool, feedback: bool
    ) -> None:
        self.rng = rng
        self.defs: dict[str, Any] = root.get("$defs", {})
        self.prompt = prompt
        low = prompt.lower()
        self.enum_ok = ENUM_RULE in low or (feedback and not hard)
        self.ids_ok = ID_RULE in low or (feedback and not hard)
        self.hard = hard
        self.writer = TextWriter(rng, context)

    def value(self, schema: dict[str, Any], name: str) -> Any:
        if "$ref" in schema:
            return self.value(self.defs[schema["$ref"].split("/")[-1]], name)
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"] or schema["anyOf"]
            return self.value(options[0], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._enum(schema["enum"])
        kind = schema.get("type", "string")
        if kind == "object":
            props: dict[str, Any] = schema.get("properties", {})
            return {k: self.value(v, k) for k, v in props.items()}
        if kind == "array":
            lo = schema.get("minItems", 1)
            hi = max(lo, min(schema.get("maxItems", 4), 4))
            return [self.value(schema.get("items", {}), name) for _ in range(self.rng.randint(lo, hi))]
        if kind == "boolean":
            return self.rng.random() < 0.7
        if kind == "integer":
            return self.rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 100)))
        if kind == "number":
            return round(self.rng.uniform(float(schema.get("minimum", 0.0)), float(schema.get("maximum", 1.0))), 3)
        return self._string(schema, name)

    def _enum(self, values: list[Any]) -> Any:
        choice = values[stable_int(self.prompt.split(FEEDBACK_MARKER)[0], values) % len(values)]
        if self.enum_ok or not isinstance(choice, str) or not (self.hard or self.rng.random() < 0.2):
            return choice
        return self.rng.choice([f"{choice.replace('_', ' ').title()} problem", f"{choice}?", f"likely {choice}"])

    def _string(self, schema: dict[str, Any], name: str) -> str:
        pattern = schema.get("pattern")
        if pattern:
            found = re.search(pattern.strip("^$"), self.prompt)
            if found and (self.ids_ok or not (self.hard or self.rng.random() < 0.2)):
                return found.group(0)
            return "the customer's order" if not self.ids_ok else (found.group(0) if found else "unknown")
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 600)
        text = self.writer.write(name, hi)
        return text + "." * max(lo - len(text), 0)
