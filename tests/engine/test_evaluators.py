"""Code evaluators: each kind scores what a user relies on, and a bad name says which exist."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.engine.evaluators import RunFacts, parse_evaluator


def facts(output: Any, expected: Any = None, *, cost: float = 0.01, latency: float = 100.0) -> RunFacts:
    return RunFacts("success", output, expected, cost, latency, {})


def value(spec: str, run: RunFacts) -> float | None:
    s = parse_evaluator(spec).score(run)
    return None if s is None else s.value


def test_exact_match_against_the_expected_output() -> None:
    assert value("exact", facts({"a": 1, "b": 2}, {"b": 2, "a": 1})) == 1.0
    assert value("exact", facts({"a": 1}, {"a": 2})) == 0.0
    assert value("exact", facts({"a": 1})) is None  # nothing expected: not scored


def test_regex_match_with_a_pattern_or_the_expected_text() -> None:
    assert value("regex:ORD-\\d+", facts({"body": "Your order ORD-123 ships"})) == 1.0
    assert value("regex:refund", facts({"body": "Your order ships"})) == 0.0
    assert value("regex", facts("category: billing", "billing|refund")) == 1.0
    assert value("regex", facts("x")) is None


def test_schema_valid_against_a_pydantic_model() -> None:
    ok = {"order_id": "ORD-123456", "subject": "Re: your order", "body": "Hello"}
    spec = "schema:agentdeck.engine.workflows.triage:Reply"
    fields = parse_evaluator(spec)
    good = fields.score(facts(ok))
    bad = fields.score(facts({"subject": 3}))
    assert good is not None and bad is not None
    assert (good.value, bad.value) == (1.0, 0.0) and bad.comment


def test_success_scores_the_outcome() -> None:
    assert value("success", facts(None)) == 1.0
    assert value("success", RunFacts("dead_letter", None, None, 0.0, 0.0, {})) == 0.0


def test_cost_and_latency_limits() -> None:
    assert value("max-cost:0.02", facts(None, cost=0.01)) == 1.0
    assert value("max-cost:0.005", facts(None, cost=0.01)) == 0.0
    assert value("max-latency-ms:50", facts(None, latency=100.0)) == 0.0
    assert value("max-latency-ms:500", facts(None, latency=100.0)) == 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [("fuzzy", "unknown evaluator 'fuzzy'; choose success, exact"), ("max-cost:lots", "'lots' is not a number"),
     ("regex:(", "not a regular expression"), ("schema:agentdeck.engine.workflows.triage:make_tasks",
                                               "not a pydantic model")],
)  # fmt: skip
def test_a_bad_evaluator_name_says_what_exists(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_evaluator(spec)
