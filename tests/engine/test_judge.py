"""LLM-as-judge: offline on the simulator, and through the real anthropic SDK against the local fake API
(the rubric is the system prompt, the answer and the expected answer are in the message)."""

from __future__ import annotations

from fake_anthropic import FakeAnthropic

from agentdeck.engine.evaluators import RunFacts
from agentdeck.engine.judge import Judge
from agentdeck.engine.providers.anthropic import AnthropicProvider
from agentdeck.engine.providers.simulator import FaultRates, SimulatedProvider


def test_the_simulator_judges_offline_with_a_score_between_0_and_1() -> None:
    judge = Judge(SimulatedProvider(seed=0, faults=FaultRates()), "Score 1 when the reply names the order.")
    score = judge.score({"ticket": "where is ORD-123456?"}, {"body": "It ships today"})
    assert 0.0 <= score.value <= 1.0 and score.source == "llm-judge" and score.name == "judge"


def test_an_anthropic_judge_follows_the_rubric_and_sees_the_expected_answer() -> None:
    with FakeAnthropic({"reason": {"score": 0.25, "reason": "does not name the order"}}) as fake:
        judge = Judge(AnthropicProvider(api_key="test-key", base_url=fake.url), "Score 1 when it names the order.",
                      name="names_order")  # fmt: skip
        evaluator = judge.evaluator()
        score = evaluator.score(RunFacts("success", {"body": "It ships"}, {"body": "ORD-1 ships"}, 0.0, 1.0, {"q": 1}))
        skipped = evaluator.score(RunFacts("dead_letter", None, None, 0.0, 1.0, {}))
        sent = fake.requests[-1]
    assert score is not None and (score.name, score.value, score.comment) == (
        "names_order",
        0.25,
        "does not name the order",
    )
    assert skipped is None  # no output: nothing to judge
    assert "Score 1 when it names the order." in "".join(b["text"] for b in sent["system"])
    message = sent["messages"][0]["content"]
    text = message if isinstance(message, str) else "".join(b["text"] for b in message)
    assert "It ships" in text and "ORD-1 ships" in text
