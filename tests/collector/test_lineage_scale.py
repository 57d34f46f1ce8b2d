"""Lineage cost stays flat per span, and the incremental plan matches a whole-trace resolution
(issue 18, item 4).

The reference below is the previous algorithm, which re-resolved every span of a touched trace
and compared every pair of call spans on every batch: the index must reach the same stored agents
and counted flags on traces with one candidate per call, in any arrival order and batching, while
its work (`TraceIndex.work`) grows linearly with the trace. A trace past the per-trace cap is
driven through the real writer and DuckDB file.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_payloads import S, new_span_id, new_trace_id, request

from agentdeck.collector.ingest.decode import from_proto
from agentdeck.collector.ingest.lineage import MAX_CALL_CANDIDATES, Node, Plan, TraceIndex, node_for
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.ingest.workers import RowFacts
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.duckdb.store import Store
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine import semconv as sc
from agentdeck.engine.pricing import load_prices

TRACE = "ab" * 16


def fact(span_id: str, parent: str | None, kind: str, start: int, agent: str | None = None) -> RowFacts:
    """kind: span (plain), agent, llm (an instrumentor's call with usage), sdk (the SDK's own span)."""
    usage = 10 if kind in ("llm", "sdk") else None
    return RowFacts(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        name=sc.ANTHROPIC_SDK_SPAN_NAME if kind == "sdk" else kind,
        scope_name=sc.ANTHROPIC_SDK_SCOPE if kind == "sdk" else "instr",
        span_type="llm" if kind in ("llm", "sdk") else ("agent" if kind == "agent" else "other"),
        agent_name=agent,
        input_tokens=usage,
        output_tokens=usage,
        usage_counted=True,
        start_ns=start,
        end_ns=start + 10,
        received_ns=1,
        service_name="svc",
        convention="otel_genai",
    )


def reference(rows: list[RowFacts]) -> dict[str, tuple[str | None, bool]]:
    """The previous whole-trace algorithm: nearest agent ancestor, and every pair of calls compared."""
    nodes: dict[str, Node] = {r.span_id: node_for(r) for r in rows}
    for span_id, node in nodes.items():
        current: str | None = span_id
        seen: set[str] = set()
        value = None
        while current is not None and current in nodes and current not in seen:
            seen.add(current)
            if nodes[current].own_agent:
                value = nodes[current].own_agent
                break
            current = nodes[current].parent
        node.agent = value
    sdk = sorted((s for s, n in nodes.items() if n.sdk_call and n.has_usage), key=lambda s: nodes[s].start_ns)
    instrumented = [s for s, n in nodes.items() if n.span_type == "llm" and not n.sdk_call and n.has_usage]
    taken: set[str] = set()
    for sdk_id in sdk:
        call = nodes[sdk_id]
        match = next(
            (
                s
                for s in instrumented
                if s not in taken
                and (
                    call.parent == s
                    or nodes[s].parent == sdk_id
                    or (
                        call.parent == nodes[s].parent
                        and call.start_ns <= nodes[s].end_ns <= 10**18
                        and nodes[s].start_ns <= call.end_ns
                    )
                )
            ),
            None,
        )
        if match is not None:
            taken.add(match)
        call.usage_counted = match is None
    return {s: (n.agent, n.usage_counted) for s, n in nodes.items()}


def run(index: TraceIndex, batches: list[list[RowFacts]]) -> dict[str, tuple[str | None, bool]]:
    """What the store would hold after the batches: inserted rows, then their updates."""
    stored: dict[str, tuple[str | None, bool]] = {}
    index.load([TRACE], [])
    for batch in batches:
        plan: Plan = index.apply(batch)
        for row, agent, counted in zip(plan.rows, plan.agent_names, plan.usage_counted, strict=True):
            stored[row.span_id] = (agent, counted)
        for update in plan.updates:
            stored[update.span_id] = (update.agent_name, update.usage_counted)
    return stored


def workflow(calls: int, rng: random.Random, sibling_sdk: bool) -> list[RowFacts]:
    """A workflow with agents, each making calls reported twice: the instrumentor's LLM span with
    the SDK's span as its child (or, `sibling_sdk`, beside it at the same time)."""
    root = new_span_id()
    rows = [fact(root, None, "span", 0)]
    start = 100
    agents = [new_span_id() for _ in range(max(1, calls // 50))]
    for i, agent_id in enumerate(agents):
        rows.append(fact(agent_id, root, "agent", start, agent=f"agent{i}"))
    for _ in range(calls):
        start += 100
        parent = rng.choice(agents)
        llm = new_span_id()
        rows.append(fact(llm, parent, "llm", start))
        rows.append(fact(new_span_id(), parent if sibling_sdk else llm, "sdk", start + 1))
    return rows


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), calls=st.integers(1, 40), sibling=st.booleans(), batch=st.integers(1, 7))
def test_the_incremental_plan_matches_whole_trace_resolution(seed: int, calls: int, sibling: bool, batch: int) -> None:
    rng = random.Random(seed)
    rows = workflow(calls, rng, sibling)
    expected = reference(rows)
    shuffled = rows[:]
    rng.shuffle(shuffled)  # children before parents, SDK spans before or after their pair
    batches = [shuffled[i : i + batch] for i in range(0, len(shuffled), batch)]
    assert run(TraceIndex(), batches) == expected


def test_work_per_span_stays_flat_on_a_large_trace() -> None:
    rng = random.Random(5)
    for calls, sibling in ((3000, True), (3000, False)):
        rows = workflow(calls, rng, sibling)
        rng.shuffle(rows)
        index = TraceIndex()
        stored = run(index, [[row] for row in rows])  # one span per batch: the worst case
        assert index.work <= 40 * len(rows), (calls, index.work)
        sdk = [r.span_id for r in rows if r.scope_name == sc.ANTHROPIC_SDK_SCOPE]
        assert not any(stored[s][1] for s in sdk), "a call was counted twice"


def hostile_work(calls: int) -> int:
    """Work to plan a trace of `calls` LLM spans (half the SDK's) under one parent, all at the
    same time, arriving one per batch: every one overlaps every other."""
    root = new_span_id()
    rows = [fact(root, None, "agent", 0, agent="a")]
    rows += [fact(new_span_id(), root, "llm" if i % 2 else "sdk", 10) for i in range(calls)]
    index = TraceIndex()
    run(index, [[row] for row in rows])
    return index.work


def test_a_hostile_trace_of_overlapping_calls_costs_a_bounded_amount_per_span() -> None:
    for calls in (1000, 8000):  # comparing every pair cost ~calls**2 / 4 per span
        assert hostile_work(calls) / calls <= 2 * MAX_CALL_CANDIDATES**2, calls


def rows_of(spans: list[S]) -> list[SpanRow]:
    return [normalize(s, load_prices(), 1) for s in from_proto(request(spans)).spans]


def test_a_trace_past_the_cap_is_stored_once_and_takes_its_parents_agent(tmp_path: Path) -> None:
    store = Store(tmp_path / "cap.duckdb")
    metrics = Metrics()
    writer = Writer(
        store,
        metrics,
        queue_max_spans=1000,
        batch_max_spans=1000,
        flush_interval_ms=1,
        index=TraceIndex(max_trace_spans=20),
    )
    writer.start()
    t = new_trace_id()
    agent = S(
        "invoke_agent planner", t, attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
    )
    children = [S(f"tool-{i}", t, parent=agent.span_id) for i in range(60)]
    assert writer.submit(rows_of([agent, *children[:10]])).result(10).accepted == 11
    assert writer.submit(rows_of(children[10:])).result(10).accepted == 50
    assert writer.submit(rows_of([agent, *children])).result(10).accepted == 61  # resent: deduplicated
    writer.stop()
    rows = store.conn.execute("SELECT name, agent_name FROM spans WHERE trace_id = ?", [t]).fetchall()
    assert len(rows) == 61
    assert {agent for _, agent in rows} == {"planner"}
    assert metrics.snapshot()["spans_lineage_capped"] == 61 - 20
    store.close()
