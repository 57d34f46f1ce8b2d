"""Compare two runs of a dataset: an experiment against the originals, or two experiments.

An item is fixed when the baseline did not pass and the candidate did, broken the other way round,
unchanged otherwise (also when one side did not run it). Passing is the outcome `success`, refined by
scores when evaluators ran: a run with a failing score (below 0.5) does not pass. Per item: both
outcomes, scores, cost, tokens, latency and a diff of the outputs; totals: fixed, broken, unchanged,
the cost and token deltas and the p95 latency delta.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.datasets import Dataset
from agentdeck.engine.evaluators import Score
from agentdeck.engine.experiments import ItemResult


@dataclass(frozen=True, slots=True)
class Side:
    """One item's run on one side of a comparison."""

    outcome: str
    cost_usd: float
    tokens: int
    latency_ms: float
    output: Any
    trace_id: str = ""
    scores: tuple[Score, ...] = ()

    @property
    def passed(self) -> bool:
        return self.outcome == "success" and all(s.passed for s in self.scores)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "passed": self.passed,
            "trace_id": self.trace_id,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
            "latency_ms": self.latency_ms,
            "scores": [s.to_json() for s in self.scores],
            "output": self.output,
        }


def originals(dataset: Dataset) -> dict[str, Side]:
    """The dataset's original runs (items from a file have none)."""
    return {
        i.item_id: Side(
            i.original.outcome,
            i.original.cost_usd,
            i.original.tokens,
            i.original.latency_ms,
            i.original.output,
            i.trace_id,
        )
        for i in dataset.items
        if i.original.outcome
    }


def sides(results: Mapping[str, ItemResult]) -> dict[str, Side]:
    return {
        k: Side(r.outcome, r.cost_usd, r.tokens, r.latency_ms, r.output, r.trace_id, r.scores)
        for k, r in results.items()
    }


def p95(values: Sequence[float]) -> float:
    """The 95th percentile by nearest rank (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def output_diff(a: Any, b: Any) -> str:
    def lines(v: Any) -> list[str]:
        text = v if isinstance(v, str) else json.dumps(v, indent=2, sort_keys=True, default=str)
        return text.splitlines()

    return "\n".join(difflib.unified_diff(lines(a), lines(b), "baseline", "candidate", lineterm=""))


def verdict(a: Side | None, b: Side | None) -> str:
    if a is None or b is None or a.passed == b.passed:
        return "unchanged"
    return "fixed" if b.passed else "broken"


def compare(
    baseline: Mapping[str, Side], candidate: Mapping[str, Side], *, baseline_name: str, candidate_name: str
) -> dict[str, Any]:
    """The comparison as one JSON object: `fixed`, `broken`, `unchanged`, `cost_delta_usd` at the top,
    `totals` and `items` (by item id)."""
    ids = sorted({*candidate, *baseline})
    items: list[dict[str, Any]] = []
    counts = {"fixed": 0, "broken": 0, "unchanged": 0}
    for item_id in ids:
        a, b = baseline.get(item_id), candidate.get(item_id)
        v = verdict(a, b)
        counts[v] += 1
        items.append(
            {
                "item_id": item_id,
                "verdict": v,
                "baseline": a.to_json() if a else None,
                "candidate": b.to_json() if b else None,
                "output_diff": output_diff(a.output, b.output) if a and b else "",
            }
        )
    both = [k for k in ids if k in baseline and k in candidate]

    def total(side: Mapping[str, Side], attr: str) -> float:
        return sum(float(getattr(side[k], attr)) for k in both)

    cost_delta = total(candidate, "cost_usd") - total(baseline, "cost_usd")
    p95_a = p95([baseline[k].latency_ms for k in both])
    p95_b = p95([candidate[k].latency_ms for k in both])
    totals = {
        **counts,
        "items": len(ids),
        "compared": len(both),
        "baseline_cost_usd": total(baseline, "cost_usd"),
        "candidate_cost_usd": total(candidate, "cost_usd"),
        "cost_delta_usd": cost_delta,
        "tokens_delta": int(total(candidate, "tokens") - total(baseline, "tokens")),
        "baseline_p95_latency_ms": p95_a,
        "candidate_p95_latency_ms": p95_b,
        "p95_latency_delta_ms": p95_b - p95_a,
        "baseline_passed": sum(baseline[k].passed for k in both),
        "candidate_passed": sum(candidate[k].passed for k in both),
    }
    return {
        "baseline": baseline_name,
        "candidate": candidate_name,
        **counts,
        "cost_delta_usd": cost_delta,
        "totals": totals,
        "items": items,
    }


def headline(report: Mapping[str, Any]) -> str:
    """`18 fixed, 0 broken, 2 unchanged, +$0.0040`: what a person reads first."""
    return (
        f"{report['fixed']} fixed, {report['broken']} broken, {report['unchanged']} unchanged, "
        f"{'+' if report['cost_delta_usd'] >= 0 else '-'}${abs(report['cost_delta_usd']):.4f}"
    )
