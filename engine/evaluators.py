"""Code evaluators: scores computed from a run's output and facts, without a model.

Each evaluator turns one finished run (its outcome, output, cost, latency) and its dataset item's
expected output into a `Score` between 0 and 1 (1 = passed), or None when it does not apply (no
expected output to match). They are named on the command line (`--evaluator success`, `exact`, `regex:PATTERN`,
`schema:MODULE:ATTR`, `max-cost:USD`, `max-latency-ms:MS`); `parse_evaluator` reads those names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SOURCES = ("human", "code", "llm-judge")
PASS_AT = 0.5  # a score at or above this passes


@dataclass(frozen=True, slots=True)
class Score:
    name: str
    value: float
    source: str = "code"  # human | code | llm-judge
    comment: str = ""

    @property
    def passed(self) -> bool:
        return self.value >= PASS_AT

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "source": self.source, "comment": self.comment}


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What an evaluator sees of one run of one item."""

    outcome: str
    output: Any
    expected: Any
    cost_usd: float
    latency_ms: float
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Evaluator:
    name: str
    score: Callable[[RunFacts], Score | None]


def as_text(value: Any) -> str:
    """An output as text: strings as they are, anything else as sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _exact(run: RunFacts) -> Score | None:
    if run.expected is None:
        return None
    same = run.output == run.expected or as_text(run.output) == as_text(run.expected)
    return Score("exact", 1.0 if same else 0.0, comment="" if same else "output differs from expected")


def _regex(pattern: str | None) -> Callable[[RunFacts], Score | None]:
    compiled = re.compile(pattern) if pattern else None

    def score(run: RunFacts) -> Score | None:
        rx = compiled
        if rx is None:
            if run.expected is None:
                return None
            rx = re.compile(as_text(run.expected))
        hit = rx.search(as_text(run.output)) is not None
        return Score("regex", 1.0 if hit else 0.0, comment="" if hit else f"no match for {rx.pattern!r}")

    return score


def _schema(ref: str) -> Callable[[RunFacts], Score | None]:
    from pydantic import BaseModel, ValidationError

    from agentdeck.refs import load_ref

    model = load_ref(ref)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ValueError(f"schema:{ref} is not a pydantic model class")

    def score(run: RunFacts) -> Score | None:
        try:
            if isinstance(run.output, str):
                model.model_validate_json(run.output)
            else:
                model.model_validate(run.output)
        except ValidationError as exc:
            return Score("schema", 0.0, comment=str(exc.errors()[0].get("msg", exc))[:300])
        return Score("schema", 1.0)

    return score


def _limit(name: str, limit: float, field: str) -> Callable[[RunFacts], Score | None]:
    def score(run: RunFacts) -> Score | None:
        value = float(getattr(run, field))
        ok = value <= limit
        return Score(name, 1.0 if ok else 0.0, comment=f"{value:g} {'<=' if ok else '>'} {limit:g}")

    return score


def _success(run: RunFacts) -> Score | None:
    ok = run.outcome == "success"
    return Score("success", 1.0 if ok else 0.0, comment="" if ok else f"outcome {run.outcome}")


def parse_evaluator(spec: str) -> Evaluator:
    """An evaluator from its command-line name; ValueError saying which names exist."""
    kind, _, arg = spec.partition(":")
    if kind == "success" and not arg:
        return Evaluator("success", _success)
    if kind == "exact" and not arg:
        return Evaluator("exact", _exact)
    if kind == "regex":
        try:
            return Evaluator("regex", _regex(arg or None))
        except re.error as exc:
            raise ValueError(f"--evaluator {spec}: not a regular expression ({exc})") from None
    if kind == "schema" and arg:
        return Evaluator("schema", _schema(arg))
    if kind in ("max-cost", "max-latency-ms") and arg:
        try:
            limit = float(arg)
        except ValueError:
            raise ValueError(f"--evaluator {spec}: {arg!r} is not a number") from None
        field = "cost_usd" if kind == "max-cost" else "latency_ms"
        return Evaluator(kind, _limit(kind, limit, field))
    raise ValueError(
        f"unknown evaluator {spec!r}; choose success, exact, regex[:PATTERN], schema:MODULE:ATTR, "
        "max-cost:USD, max-latency-ms:MS"
    )
