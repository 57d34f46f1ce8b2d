"""Compare totals on a fixture small enough to count by hand."""

from __future__ import annotations

import pytest

from agentdeck.engine.evaluators import Score
from agentdeck.engine.experiment_compare import Side, compare, headline, p95


def side(outcome: str, cost: float, latency: float, output: object = None, *scores: Score) -> Side:
    return Side(outcome, cost, 100, latency, output, "", tuple(scores))


BASELINE = {
    "a": side("dead_letter", 0.010, 100.0),
    "b": side("success", 0.020, 200.0, {"x": 1}),
    "c": side("success", 0.030, 300.0, {"x": 1}),
    "d": side("failed", 0.040, 400.0),
    "e": side("success", 0.050, 500.0),  # the candidate did not run it
}
CANDIDATE = {
    "a": side("success", 0.015, 150.0, {"x": 2}),  # fixed
    "b": side("dead_letter", 0.020, 100.0),  # broken
    "c": side("success", 0.030, 300.0, {"x": 1}, Score("exact", 0.0)),  # broken by its failing score
    "d": side("failed", 0.041, 900.0),  # unchanged
}


def test_totals_count_fixed_broken_and_unchanged_items() -> None:
    report = compare(BASELINE, CANDIDATE, baseline_name="original", candidate_name="v2")
    assert (report["fixed"], report["broken"], report["unchanged"]) == (1, 2, 2)
    assert {i["item_id"]: i["verdict"] for i in report["items"]} == {
        "a": "fixed", "b": "broken", "c": "broken", "d": "unchanged", "e": "unchanged"
    }  # fmt: skip
    totals = report["totals"]
    # cost over the 4 items both ran: 0.106 - 0.100
    assert report["cost_delta_usd"] == pytest.approx(0.006) == totals["cost_delta_usd"]
    assert (totals["compared"], totals["items"]) == (4, 5)
    # p95 of 4 values by nearest rank is the largest: 900 against 400
    assert totals["p95_latency_delta_ms"] == pytest.approx(500.0)
    assert (totals["baseline_passed"], totals["candidate_passed"]) == (2, 1)
    item_a = report["items"][0]
    assert '+  "x": 2' in item_a["output_diff"]
    assert headline(report) == "1 fixed, 2 broken, 2 unchanged, +$0.0060"


def test_p95_by_nearest_rank() -> None:
    assert p95([]) == 0.0
    assert p95([float(v) for v in range(1, 101)]) == 95.0
    assert p95([3.0, 1.0, 2.0]) == 3.0
