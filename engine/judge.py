"""LLM-as-judge: a model reads a rubric, the task's input, its output (and the expected output when
there is one) and answers a score from 0 to 1 with a reason.

The model is the engine's provider: Anthropic when ANTHROPIC_API_KEY is set, otherwise the offline
simulator, which answers a schema-valid verdict that depends on the prompt (it says so: such scores are
for trying the pipeline, not for judging). Scores carry the source `llm-judge`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agentdeck.engine.agents import TIER_MODELS, Tier
from agentdeck.engine.evaluators import Evaluator, RunFacts, Score
from agentdeck.engine.providers.base import LLMRequest, Message, Provider

DEFAULT_RUBRIC = (
    "You grade the answer of an AI agent. Score 1 when it resolves the task correctly and completely, "
    "0 when it is wrong or missing, in between for partial answers."
)


class Verdict(BaseModel):
    score: float = Field(ge=0.0, le=1.0, description="0 (bad) to 1 (good)")
    reason: str = Field(max_length=500)


@dataclass(frozen=True, slots=True)
class Judge:
    provider: Provider
    rubric: str = DEFAULT_RUBRIC
    name: str = "judge"
    model: str = TIER_MODELS[Tier.FAST]

    def score(self, task_input: Any, output: Any, expected: Any = None) -> Score:
        """The verdict as a Score; a verdict that does not parse is a score of 0 saying so."""
        parts = [f"Task input:\n{_text(task_input)}", f"Answer:\n{_text(output)}"]
        if expected is not None:
            parts.append(f"Expected answer:\n{_text(expected)}")
        request = LLMRequest(
            model=self.model,
            system=self.rubric,
            messages=(Message("user", "\n\n".join(parts)),),
            output_schema=Verdict.model_json_schema(),
            max_tokens=300,
        )
        response = self.provider.complete(request)
        try:
            verdict = Verdict.model_validate_json(response.text)
        except ValidationError as exc:
            return Score(self.name, 0.0, "llm-judge", f"the judge's answer did not parse: {exc.errors()[0]['msg']}")
        return Score(self.name, verdict.score, "llm-judge", verdict.reason)

    def evaluator(self) -> Evaluator:
        return Evaluator(self.name, lambda run: self.score(run.input, run.output, run.expected) if _ran(run) else None)


def _ran(run: RunFacts) -> bool:
    return run.output is not None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)


def default_judge(rubric: str = DEFAULT_RUBRIC, name: str = "judge") -> Judge:
    """A judge on the engine's default provider (Anthropic with a key, else the simulator)."""
    from agentdeck.engine.providers.simulator import FaultRates
    from agentdeck.engine.runner import default_provider

    return Judge(default_provider(0, FaultRates()), rubric, name)
