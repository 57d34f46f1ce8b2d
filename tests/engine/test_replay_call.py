"""Re-running one LLM call with edited messages: Anthropic when a key is set, else the simulator."""

from __future__ import annotations

import pytest
from fake_anthropic import FakeAnthropic

from agentdeck.engine.replay.call import check_messages, rerun_call


def test_with_a_key_the_edited_call_goes_to_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropic({"answer": {"answer": "Refund issued."}}) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        messages = check_messages([{"role": "user", "content": "Edited: please refund order 8812"}])
        r = rerun_call("claude-haiku-4-5", "You are support.", messages)
        body = fake.requests[-1]
    assert body["messages"] == [{"role": "user", "content": "Edited: please refund order 8812"}]
    assert body["model"] == "claude-haiku-4-5" and body["system"][0]["text"].startswith("You are support.")
    assert r.provider == "anthropic" and '"Refund issued."' in r.text and not r.error
    assert r.input_tokens == 470 and r.output_tokens == 40 and r.cost_usd is not None and r.cost_usd > 0


def test_without_a_key_the_simulator_answers_and_depends_on_the_edit() -> None:
    a = rerun_call("claude-haiku-4-5", "", check_messages([{"role": "user", "content": "first wording"}]))
    b = rerun_call("claude-haiku-4-5", "", check_messages([{"role": "user", "content": "second wording"}]))
    assert a.provider == "simulated" and a.text and a.input_tokens > 0 and a.cost_usd
    assert a.text != b.text


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], "non-empty JSON list"),
        ({"role": "user"}, "non-empty JSON list"),
        ([{"role": "robot", "content": "x"}], "message 0 must be"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "last message must be the user's"),
    ],
)
def test_bad_messages_are_refused_with_what_to_fix(messages: object, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_messages(messages)
