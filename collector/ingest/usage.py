"""Token usage and cost of one span, read from whichever convention the producer speaks.

Input tokens include cache-read and cache-write tokens (OTel GenAI's rule; OpenInference's prompt
count and the anthropic SDK's input count include them too), so totals never add them twice.
A producer-reported cost wins; otherwise the price table computes one; an unknown model is marked
`unknown-model` with no cost rather than priced at zero.

Absurd values are refused per span (`usage_problem`, called by the decoder), so one span reporting
2^62 tokens or a cost of -1e9 is rejected through OTLP partial_success instead of sinking its
request (an int64 overflow) or moving every total by a billion: a token count must be a whole
number from 0 to `MAX_TOKENS` and a cost a number from 0 to `MAX_COST_USD`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from agentdeck.collector.ingest.attrs import integer, number
from agentdeck.collector.ingest.model import Attributes, AttrValue
from agentdeck.engine import semconv as sc
from agentdeck.engine.pricing import PriceTable

COST_REPORTED = "reported"
COST_COMPUTED = "computed"
COST_UNKNOWN_MODEL = "unknown-model"


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    reported_cost: float | None

    @property
    def has_tokens(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None


_USAGE_PREFIXES = ("gen_ai.usage.", "llm.token_count.", "llm.cost.", "llm.usage.")
NO_USAGE = Usage(None, None, None, None, None, None, None)

# Bounds of one span's usage. A billion tokens is ~500 times the largest context window sold today,
# and a million dollars ~100 times the most a single call can cost at list prices; the sums the
# dashboard shows stay far inside int64 and double precision.
MAX_TOKENS: Final = 1_000_000_000
MAX_COST_USD: Final = 1_000_000.0
TOKEN_KEYS: Final = (
    sc.GEN_AI_USAGE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_PROMPT_TOKENS,
    sc.GEN_AI_USAGE_COMPLETION_TOKENS,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    sc.OI_TOKEN_PROMPT,
    sc.OI_TOKEN_COMPLETION,
    sc.OI_TOKEN_TOTAL,
    sc.OI_TOKEN_CACHE_READ,
    sc.OI_TOKEN_CACHE_WRITE,
    sc.OI_TOKEN_REASONING,
    sc.TL_USAGE_TOTAL_TOKENS,
)
COST_KEYS: Final = (sc.GEN_AI_USAGE_COST, sc.OI_COST_TOTAL, sc.OI_COST_PROMPT, sc.OI_COST_COMPLETION)


def usage_problem(attrs: Attributes) -> str | None:
    """Why the span's usage cannot be believed (a token count or cost out of bounds), or None."""
    if not any(key.startswith(_USAGE_PREFIXES) for key in attrs):
        return None
    for keys, high, what in ((TOKEN_KEYS, MAX_TOKENS, "a token count"), (COST_KEYS, MAX_COST_USD, "a cost in USD")):
        for key in keys:
            value = _numeric(attrs.get(key))
            if value is not None and not 0 <= value <= high:
                shown = f"{value:.6g}" if isinstance(value, float) else str(value)[:40]
                return f"{key} = {shown} is not {what} (0 to {high:,g})"
    return None


def _numeric(value: AttrValue) -> int | float | None:
    """`value` as a number when it is one (or numeric text, however large); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                parsed = float(value)
            except ValueError:
                return None
            return parsed if math.isfinite(parsed) else None
    return None


def read_usage(attrs: Attributes) -> Usage:
    if not any(key.startswith(_USAGE_PREFIXES) for key in attrs):
        return NO_USAGE
    inp = integer(attrs, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.OI_TOKEN_PROMPT, sc.GEN_AI_USAGE_PROMPT_TOKENS)
    out = integer(attrs, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.OI_TOKEN_COMPLETION, sc.GEN_AI_USAGE_COMPLETION_TOKENS)
    total = integer(attrs, sc.OI_TOKEN_TOTAL, sc.TL_USAGE_TOTAL_TOKENS)
    if total is None and (inp is not None or out is not None):
        total = (inp or 0) + (out or 0)
    cost = number(attrs, sc.GEN_AI_USAGE_COST, sc.OI_COST_TOTAL)
    if cost is None:
        prompt_cost = number(attrs, sc.OI_COST_PROMPT)
        completion_cost = number(attrs, sc.OI_COST_COMPLETION)
        if prompt_cost is not None or completion_cost is not None:
            cost = (prompt_cost or 0.0) + (completion_cost or 0.0)
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=total,
        cache_read_tokens=integer(attrs, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, sc.OI_TOKEN_CACHE_READ),
        cache_write_tokens=integer(
            attrs,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
            sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
            sc.OI_TOKEN_CACHE_WRITE,
        ),
        reasoning_tokens=integer(attrs, sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, sc.OI_TOKEN_REASONING),
        reported_cost=cost,
    )


def price(usage: Usage, model: str | None, prices: PriceTable) -> tuple[float | None, str | None]:
    """(cost_usd, cost_source) for one span's usage."""
    if usage.reported_cost is not None:
        return usage.reported_cost, COST_REPORTED
    if not usage.has_tokens:
        return None, None
    cost = prices.cost(
        model,
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=usage.cache_read_tokens or 0,
        cache_write_tokens=usage.cache_write_tokens or 0,
    )
    if cost is None:
        return None, COST_UNKNOWN_MODEL
    return cost, COST_COMPUTED
