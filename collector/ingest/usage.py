"""Token usage and cost of one span, read from whichever convention the producer speaks.

Input tokens include cache-read and cache-write tokens (OTel GenAI's rule; OpenInference's prompt
count and the anthropic SDK's input count include them too), so totals never add them twice.
A producer-reported cost wins; otherwise the price table computes one; an unknown model is marked
`unknown-model` with no cost rather than priced at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentdeck.collector.ingest.attrs import integer, number
from agentdeck.collector.ingest.model import Attributes
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
