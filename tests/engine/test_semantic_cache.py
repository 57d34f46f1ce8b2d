"""The semantic cache with its real bundled embedding model: hits at or above the threshold, near
misses below it, ids that must match, scopes per agent and prompt version, the TTL; and hit spans in
a triage run (repeated tickets)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import Run

from agentdeck.engine import semconv as sc
from agentdeck.engine.providers.base import LLMResponse, Usage
from agentdeck.engine.semantic_cache import SemanticCache, WordLlamaEmbedder

TICKET = "I was charged twice for order ORD-123456. Please refund the duplicate charge."
REWORDED_PUNCTUATION = "I was charged twice for order ORD-123456! Please, refund the duplicate charge"
PARAPHRASE = "My card got billed two times for ORD-123456; I want the extra payment refunded."
OTHER_ORDER = "I was charged twice for order ORD-654321. Please refund the duplicate charge."
OTHER_TOPIC = "The app crashes when I sync since the 3.2 update, order ORD-123456."


@pytest.fixture(scope="module")
def embedder() -> WordLlamaEmbedder:
    return WordLlamaEmbedder()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _answer(text: str = '{"category": "billing"}') -> LLMResponse:
    return LLMResponse(
        id="msg_1",
        model="claude-haiku-4-5",
        text=text,
        usage=Usage(input_tokens=120, output_tokens=30),
        latency_ms=800.0,
        finish_reason="end_turn",
    )


def _cache(embedder: WordLlamaEmbedder, **kwargs: object) -> SemanticCache:
    cache = SemanticCache(embedder=embedder, **kwargs)  # type: ignore[arg-type]
    cache.store("classifier", "v1", TICKET, _answer(), 0.0012)
    return cache


def test_a_near_duplicate_hits_with_its_similarity_and_what_it_saved(embedder: WordLlamaEmbedder) -> None:
    hit = _cache(embedder).lookup("classifier", "v1", REWORDED_PUNCTUATION)
    assert hit is not None and 0.95 <= hit.similarity <= 1.0
    assert hit.response.text == '{"category": "billing"}' and hit.cost_usd == 0.0012
    assert (hit.response.usage.input_tokens, hit.response.usage.output_tokens) == (120, 30)


def test_near_misses_below_the_threshold_do_not_hit(embedder: WordLlamaEmbedder) -> None:
    cache = _cache(embedder)
    similarity = float(embedder.embed([TICKET])[0] @ embedder.embed([PARAPHRASE])[0])
    assert 0.5 < similarity < 0.95  # a real paraphrase, but not close enough at the default threshold
    assert cache.lookup("classifier", "v1", PARAPHRASE) is None
    assert cache.lookup("classifier", "v1", OTHER_TOPIC) is None
    lenient = _cache(embedder, threshold=round(similarity - 0.01, 3))  # the threshold is configurable
    assert lenient.lookup("classifier", "v1", PARAPHRASE) is not None


def test_another_order_id_never_gets_this_orders_answer(embedder: WordLlamaEmbedder) -> None:
    assert float(embedder.embed([TICKET])[0] @ embedder.embed([OTHER_ORDER])[0]) > 0.99  # digits are invisible
    assert _cache(embedder).lookup("classifier", "v1", OTHER_ORDER) is None


def test_entries_are_per_agent_and_prompt_version_and_expire(embedder: WordLlamaEmbedder) -> None:
    clock = Clock()
    cache = _cache(embedder, ttl_s=60.0, clock=clock)
    assert cache.lookup("response", "v1", TICKET) is None
    assert cache.lookup("classifier", "v2", TICKET) is None
    clock.now += 59
    assert cache.lookup("classifier", "v1", TICKET) is not None
    clock.now += 1
    assert cache.lookup("classifier", "v1", TICKET) is None


def test_bad_settings_say_what_to_fix(embedder: WordLlamaEmbedder) -> None:
    with pytest.raises(ValueError, match="threshold is a similarity"):
        SemanticCache(embedder=embedder, threshold=1.5)
    with pytest.raises(ValueError, match="TTL must be positive"):
        SemanticCache(embedder=embedder, ttl_s=0)


def test_repeated_tickets_are_served_as_marked_hits_that_cost_nothing(
    run_workflow: Callable[..., Run], embedder: WordLlamaEmbedder
) -> None:
    plain = run_workflow("triage", 40)
    cached = run_workflow("triage", 40, semantic_cache=SemanticCache(embedder=embedder))
    hits = [s for s in cached.spans if (s.attributes or {}).get(sc.AD_CACHE_KIND) == "semantic"]
    assert len(hits) >= 3
    for span in hits:
        attrs = span.attributes or {}
        assert span.name.startswith("chat ") and attrs[sc.AD_CACHE_HIT] is True
        assert float(attrs[sc.AD_CACHE_SIMILARITY]) >= 0.95  # type: ignore[arg-type]
        assert int(attrs[sc.AD_CACHE_SAVED_OUTPUT_TOKENS]) > 0  # type: ignore[call-overload]
        assert float(attrs[sc.AD_CACHE_SAVED_USD]) > 0  # type: ignore[arg-type]
        assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 0 and attrs[sc.GEN_AI_USAGE_COST] == 0.0
    assert cached.summary.counts == plain.summary.counts  # the same outcomes
    hit_outputs = {str((s.attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES]) for s in hits}
    plain_outputs = {str((s.attributes or {}).get(sc.GEN_AI_OUTPUT_MESSAGES)) for s in plain.spans}
    assert hit_outputs <= plain_outputs  # each served answer is one the model gave for that ticket


def test_resent_support_tickets_are_semantic_hits_not_exact_ones(
    run_workflow: Callable[..., Run], embedder: WordLlamaEmbedder
) -> None:
    run = run_workflow("support_mcp", 12, semantic_cache=SemanticCache(embedder=embedder))
    hits = [s for s in run.spans if (s.attributes or {}).get(sc.AD_CACHE_KIND) == "semantic"]
    similarities = [float((s.attributes or {})[sc.AD_CACHE_SIMILARITY]) for s in hits]  # type: ignore[arg-type]
    assert similarities and min(similarities) >= 0.95
    assert min(similarities) < 0.999  # a reworded resend, which the exact cache could not have served
