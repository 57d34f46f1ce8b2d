"""The Anthropic provider: real SDK, real HTTP, against a local fake Messages API server."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from engine_helpers import Run
from fake_anthropic import FakeAnthropic

from agentdeck.engine import semconv as sc
from agentdeck.engine.providers.anthropic import AnthropicProvider
from agentdeck.engine.providers.base import BadRequest, LLMRequest, Message, RateLimited, ServerError

TRIAGE_ANSWERS = {
    "category": {"category": "billing", "priority": "high", "confidence": 0.9},
    "findings": {"order_id": "ORD-123456", "findings": ["duplicate charge found"], "order_status": "shipped"},
    "subject": {"order_id": "ORD-123456", "subject": "Your refund", "body": "We reversed the duplicate charge."},
    "approved": {"approved": True, "score": 5, "issues": []},
}


def _request() -> LLMRequest:
    return LLMRequest(
        model="claude-haiku-4-5",
        system="You classify.",
        messages=(Message("user", "hi"),),
        output_schema={"type": "object", "properties": {"category": {"type": "string"}}},
        max_tokens=100,
        timeout_s=10,
    )


def test_request_usage_and_error_mapping() -> None:
    with FakeAnthropic(TRIAGE_ANSWERS) as fake:
        provider = AnthropicProvider(api_key="test-key", base_url=fake.url)
        resp = provider.complete(_request())
        body = fake.requests[-1]
        assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 100
        assert body["messages"] == [{"role": "user", "content": "hi"}]
        assert '"category"' in body["system"][0]["text"]
        assert "test-key" in (fake.headers[-1].get("x-api-key", "") + fake.headers[-1].get("authorization", ""))
        assert json.loads(resp.text)["category"] == "billing"
        assert resp.usage.input_tokens == 120 + 300 + 50  # OTel: input includes cache read + write
        assert (resp.usage.cache_read_tokens, resp.usage.cache_creation_tokens) == (300, 50)
        assert resp.model == "claude-haiku-4-5-20251001"

        fake.failures.extend([429, 529, 500, 400])
        with pytest.raises(RateLimited) as rl:
            provider.complete(_request())
        assert rl.value.retry_after_s == 0 and rl.value.reason == "rate_limit"
        with pytest.raises(ServerError) as over:
            provider.complete(_request())
        assert over.value.status == 529
        with pytest.raises(ServerError):
            provider.complete(_request())
        with pytest.raises(BadRequest) as bad:
            provider.complete(_request())
        assert not bad.value.retryable
        assert len(fake.requests) == 5  # one request per call: the SDK itself never retried


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider()


def test_engine_retries_each_attempt_is_a_span(run_workflow: Callable[..., Run]) -> None:
    with FakeAnthropic(TRIAGE_ANSWERS) as fake:
        fake.failures.extend([429, 529])
        run = run_workflow(
            "triage", 1, seed=0, provider=AnthropicProvider(api_key="k", base_url=fake.url), deterministic_ids=False
        )
    (task,) = run.summary.tasks
    assert task.outcome == "success" and task.result["order_id"] == "ORD-123456"
    spans = run.trace(task.trace_id)
    classifier = [s for s in spans if s.name == "invoke_agent classifier"]
    assert [
        (s.attributes[sc.AD_ATTEMPT], s.attributes.get(sc.AD_RETRY_REASON), s.attributes.get(sc.ERROR_TYPE))
        for s in classifier
    ] == [(1, None, "rate_limit"), (2, "rate_limit", "server_error"), (3, "server_error", None)]
    chat = next(s for s in spans if s.name == "chat claude-sonnet-4-5")
    assert chat.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert chat.attributes[sc.GEN_AI_RESPONSE_MODEL] == "claude-sonnet-4-5-20251001"
    assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 470
    assert chat.attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 300
    # priced at sonnet's list price: 120 plain input, 300 cache read, 50 cache write, 40 output
    assert chat.attributes[sc.GEN_AI_USAGE_COST] == pytest.approx((120 * 3 + 300 * 0.3 + 50 * 3.75 + 40 * 15) / 1e6)
    assert len(fake.requests) == 2 + 4  # two failures, then one call per agent
