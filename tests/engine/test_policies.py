"""Budget, deadline, routing, cache, circuit breaker and optimistic concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from engine_helpers import Run

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Tier
from agentdeck.engine.policies import Budget, CircuitBreaker, Deadline, VersionConflict, VersionedStore, route
from agentdeck.engine.providers.simulator import FaultRates

NO_FAULTS = FaultRates()


def test_routing_thresholds() -> None:
    assert route(Tier.FRONTIER, budget_fraction=0.69, deadline_fraction=0.0).tier == Tier.FRONTIER
    r = route(Tier.FRONTIER, budget_fraction=0.7, deadline_fraction=0.0)
    assert (r.tier, r.reason, r.skip_optional) == (Tier.BALANCED, "budget", None)
    assert route(Tier.BALANCED, budget_fraction=0.9, deadline_fraction=0.0).skip_optional == "budget"
    d = route(Tier.FRONTIER, budget_fraction=0.0, deadline_fraction=0.8)
    assert (d.tier, d.reason, d.skip_optional) == (Tier.FAST, "deadline", "deadline")


def test_budget_reservation_blocks_a_second_call_that_could_overspend() -> None:
    b = Budget(1.0)
    assert b.reserve(0.6)
    assert not b.reserve(0.6)  # another call is in flight and both could overspend
    b.settle(0.6, 0.5)
    assert b.reserve(0.6)  # alone: allowed, may overspend by at most this one call
    b.settle(0.6, 0.55)
    assert b.spent_usd == pytest.approx(1.05)
    assert not b.reserve(0.01)  # limit reached: stop


def test_budget_thresholds_in_a_run(run_workflow: Callable[..., Run]) -> None:
    free = run_workflow("triage", 20, seed=1, faults=NO_FAULTS)
    costs = sorted(t.cost_usd for t in free.summary.tasks if t.outcome == "success")
    limit = round(costs[len(costs) // 2] * 0.9, 6)  # below what a typical task costs unconstrained
    run = run_workflow("triage", 20, seed=1, faults=NO_FAULTS, budget_usd=limit)
    counts = run.summary.counts
    assert counts.get("incomplete", 0) >= 1 and counts.get("success", 0) >= 1
    biggest_call = max(s.attributes.get(sc.GEN_AI_USAGE_COST, 0.0) for s in run.spans)
    routed_checked = incomplete_checked = 0  # the checks under an `if` must have run, not matched nothing
    for t in run.summary.tasks:
        assert t.cost_usd <= limit + biggest_call  # never more than one call over
        spans = run.trace(t.trace_id)
        root = spans[0]
        assert root.attributes[sc.AD_BUDGET_LIMIT_USD] == limit
        assert root.attributes[sc.AD_BUDGET_SPENT_USD] == pytest.approx(t.cost_usd)
        spent_before: float = 0.0
        for s in spans:
            if s.name.startswith("chat "):
                spent_before = s.attributes.get(sc.AD_BUDGET_SPENT_USD, spent_before)
            if s.name.startswith("invoke_agent") and sc.AD_ROUTING_REASON in s.attributes:
                assert s.attributes[sc.AD_ROUTING_REASON] == "budget"
                assert spent_before >= 0.7 * limit
                routed_checked += 1
        if t.outcome == "incomplete":
            incomplete_checked += 1
            assert t.detail == "budget" and t.cost_usd >= limit
            assert root.attributes[sc.AD_TASK_INCOMPLETE_REASON] == "budget"
            marks = [e.attributes[sc.AD_BUDGET_FRACTION] for e in root.events if e.name == sc.EVENT_BUDGET_THRESHOLD]
            assert marks == [0.7, 0.9, 1.0]
    assert routed_checked >= 1 and incomplete_checked == counts["incomplete"]
    skipped = [s for s in run.spans if s.attributes.get(sc.AD_AGENT_SKIPPED) == "budget"]
    assert skipped and all(s.name == "invoke_agent quality" for s in skipped)
    downgraded = [s for s in run.spans if s.attributes.get(sc.AD_ROUTING_REASON) == "budget"]
    assert downgraded and all(s.attributes[sc.AD_MODEL_TIER] == "fast" for s in downgraded)


def test_deadline_pressure_switches_to_fast_and_skips_optional(run_workflow: Callable[..., Run]) -> None:
    free = run_workflow("triage", 6, seed=1, faults=NO_FAULTS)
    offsets = []
    for t in free.summary.tasks:
        if t.outcome == "success":
            spans = free.trace(t.trace_id)
            respond = next(s for s in spans if s.name == "invoke_agent response")
            offsets.append((respond.start_time - spans[0].start_time) / 1e6)
    # the response step of a typical task starts at 85% of this deadline: past the 80% mark
    deadline = sorted(offsets)[len(offsets) // 2] / 0.85
    run = run_workflow("triage", 6, seed=1, faults=NO_FAULTS, deadline_ms=deadline)
    pressured = [s for s in run.spans if s.attributes.get(sc.AD_ROUTING_REASON) == "deadline"]
    assert pressured and all(s.attributes[sc.AD_MODEL_TIER] == "fast" for s in pressured)
    assert {s.attributes[sc.GEN_AI_AGENT_NAME] for s in pressured} <= {"research", "response"}
    skipped_checked = 0  # the check under the `if` must have run, not matched nothing
    for t in run.summary.tasks:
        assert t.outcome != "dead_letter" or t.detail.startswith("classifier: validation")  # not the deadline
        if t.outcome == "incomplete":
            assert t.detail == "deadline"
        if t.outcome == "success" and any(
            s.name == "invoke_agent response" and sc.AD_ROUTING_REASON in s.attributes for s in run.trace(t.trace_id)
        ):
            quality = [s for s in run.trace(t.trace_id) if s.name == "invoke_agent quality"]
            assert quality[0].attributes[sc.AD_AGENT_SKIPPED] == "deadline"
            skipped_checked += 1
    assert skipped_checked >= 1
    tight = run_workflow("triage", 6, seed=1, faults=NO_FAULTS, deadline_ms=deadline * 0.4)
    assert tight.summary.counts.get("incomplete", 0) >= 3
    assert all(t.detail == "deadline" for t in tight.summary.tasks if t.outcome == "incomplete")


def test_response_cache_serves_repeated_tickets_for_free(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 40, seed=1, faults=NO_FAULTS)
    hits = [s for s in run.spans if s.attributes.get(sc.AD_CACHE_HIT) is True]
    assert hits
    for h in hits:
        assert h.attributes[sc.GEN_AI_USAGE_COST] == 0.0 and h.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 0
    misses = [s for s in run.spans if s.attributes.get(sc.AD_CACHE_HIT) is False]
    assert any(m.attributes[sc.GEN_AI_INPUT_MESSAGES] == hits[0].attributes[sc.GEN_AI_INPUT_MESSAGES] for m in misses)


def test_circuit_breaker_opens_refuses_then_probes() -> None:
    cb = CircuitBreaker(window=4, threshold=0.5, min_calls=4, cooldown=2)
    for ok in (True, False, True, False):
        assert cb.allow() == (True, "closed")
        cb.record(ok)
    assert cb.state == "open"
    assert cb.allow() == (False, "open") and cb.allow() == (False, "open")
    assert cb.allow() == (True, "half_open")
    assert cb.allow() == (False, "open")  # one probe at a time
    cb.record(False)
    assert cb.state == "open"
    cb.allow(), cb.allow()
    assert cb.allow() == (True, "half_open")
    cb.record(True)
    assert cb.state == "closed" and cb.allow() == (True, "closed")


def test_circuit_opens_in_a_run_and_is_on_the_spans(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow("triage", 60, seed=5, faults=FaultRates(schema_violation=0.9))
    refused = [s for s in run.spans if s.attributes.get(sc.ERROR_TYPE) == "circuit_open"]
    assert refused and all(s.attributes[sc.AD_CIRCUIT_STATE] == "open" for s in refused)
    assert any(s.attributes.get(sc.AD_CIRCUIT_STATE) == "half_open" for s in run.spans)


def test_versioned_store_counts_and_retries_conflicts() -> None:
    store: VersionedStore[int] = VersionedStore(0)
    _, v = store.read()
    store.write(1, v)
    with pytest.raises(VersionConflict):
        store.write(2, v)
    assert store.conflicts == 1
    total_conflicts: list[int] = []

    def bump() -> None:
        for _ in range(25):
            _, hit = store.update(lambda x: x + 1, max_retries=500, between=lambda: time.sleep(0.0001))
            total_conflicts.append(hit)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    value, version = store.read()
    assert value == 101 and version == 101  # no lost update
    assert store.conflicts == 1 + sum(total_conflicts)


def test_deadline_counts_simulated_time() -> None:
    assert Deadline(1000, 0).fraction(500_000_000) == pytest.approx(0.5)
    half_speed = Deadline(1000, 0, time_scale=0.5)  # latencies slept at half length: wall ms count double
    assert half_speed.fraction(250_000_000) == pytest.approx(0.5)
    assert half_speed.remaining_s(250_000_000) == pytest.approx(0.5)
    frozen = Deadline(1000, 0, time_scale=0.0)  # latency_scale 0 with wall time: no simulated time passes
    assert frozen.fraction(10**12) == 0.0 and frozen.remaining_s(10**12) is None
    assert Deadline(None, 0).fraction(10**12) == 0.0
