"""LangGraph adapter overhead: the same graph plain and instrumented, side by side in one run.

A chain of N nodes runs three ways: nodes that do no LLM call, nodes that each call a LangChain chat
model (a `BaseChatModel` answering at once, reporting usage), and nodes that each call the anthropic
SDK against a local fake Messages API (real HTTP on 127.0.0.1). Each is invoked plain (the compiled
graph) and instrumented (`agentdeck.langgraph.instrument`, spans through a BatchSpanProcessor as an
app exports them), alternating, with an in-memory checkpointer for both; medians per invocation.

    .venv/bin/python bench/adapter_bench.py [--nodes 10] [--runs 200] [--write]

With --write the table replaces the "LangGraph adapter" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import anthropic
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fake Messages API and the test chat model live in tests/

from agentdeck.engine.telemetry import make_tracer_provider  # noqa: E402
from agentdeck.langgraph import instrument  # noqa: E402
from tests.engine.fake_anthropic import FakeAnthropic  # noqa: E402
from tests.langgraph.graphs import Echo  # noqa: E402

DOC = REPO / "docs" / "BENCHMARKS.md"
SECTION = "## LangGraph adapter"


class State(TypedDict, total=False):
    n: int
    text: str


def chain(nodes: int, call: Callable[[str], str] | None) -> StateGraph[State]:
    g = StateGraph(State)

    def step(state: State) -> State:
        text = call(f"step {state.get('n', 0)}") if call is not None else ""
        return {"n": state.get("n", 0) + 1, "text": text}

    names = [f"agent_{i}" for i in range(nodes)]
    for name in names:
        g.add_node(name, step)
    g.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


def measure(build: Callable[[], StateGraph[State]], runs: int) -> tuple[float, float]:
    """Median ms per invocation: (plain, instrumented), alternating which goes first."""
    plain = build().compile(checkpointer=InMemorySaver())
    provider = make_tracer_provider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    traced = instrument(build().compile(checkpointer=InMemorySaver()), ref="bench:graph", tracer_provider=provider)
    times: dict[str, list[float]] = {"plain": [], "traced": []}
    graphs: dict[str, Any] = {"plain": plain, "traced": traced}
    for i in range(runs + 10):
        order = ("plain", "traced") if i % 2 else ("traced", "plain")
        for kind in order:
            started = time.perf_counter()
            graphs[kind].invoke({"n": 0}, {"configurable": {"thread_id": f"{kind}-{i}"}})
            if i >= 10:  # warm-up runs are not counted
                times[kind].append((time.perf_counter() - started) * 1000)
    provider.shutdown()
    assert exporter.get_finished_spans(), "the instrumented runs exported no spans"
    return statistics.median(times["plain"]), statistics.median(times["traced"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="write the table into docs/BENCHMARKS.md")
    args = parser.parse_args()
    echo = Echo()
    rows: list[tuple[str, float, float]] = []
    with FakeAnthropic({"reply": {"reply": "ok"}}) as fake:
        client = anthropic.Anthropic(api_key="bench", base_url=fake.url, max_retries=0)

        def sdk_call(text: str) -> str:
            r = client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                system=[{"type": "text", "text": 'Reply with JSON {"reply": "..."}'}],
                messages=[{"role": "user", "content": text}],
            )
            return "".join(b.text for b in r.content if b.type == "text")

        configs: list[tuple[str, Callable[[str], str] | None]] = [
            ("nodes only (no LLM call)", None),
            ("node + LangChain chat model call", lambda t: str(echo.invoke(t).content)),
            ("node + anthropic SDK call (local HTTP)", sdk_call),
        ]
        for label, call in configs:
            plain, traced = measure(lambda call=call: chain(args.nodes, call), args.runs)  # type: ignore[misc]
            rows.append((label, plain, traced))
            print(f"{label}: plain {plain:.2f} ms, instrumented {traced:.2f} ms", flush=True)
    table = [
        f"| {args.nodes}-node chain, median of {args.runs} invocations | plain | instrumented | ratio "
        "| added per node (and its call) |",
        "|---|---|---|---|---|",
    ]
    for label, plain, traced in rows:
        table.append(
            f"| {label} | {plain:.2f} ms | {traced:.2f} ms | {traced / plain:.2f}x "
            f"| **{(traced - plain) / args.nodes:.3f} ms** |"
        )
    text = "\n".join(table)
    print(text)
    if args.write:
        write(text, args)
    return 0


def write(table: str, args: argparse.Namespace) -> None:
    body = (
        f"{SECTION}\n\n"
        "Target: under 2 ms added per node and per LLM call over the same graph uninstrumented.\n\n"
        "```bash\n"
        f".venv/bin/python bench/adapter_bench.py --nodes {args.nodes} --runs {args.runs} --write\n"
        "```\n\n"
        "What it does: a chain of agent nodes, compiled twice with an in-memory checkpointer: plain, and through\n"
        "`agentdeck.langgraph.instrument` with a real SDK tracer provider exporting through a BatchSpanProcessor\n"
        "(as an app does; to memory here, so the collector's speed is not in the figure). The two are invoked\n"
        "alternately in the same process; the first 10 invocations of each are warm-up. The instrumented\n"
        "run adds a root span, a checkpoint read for the run number, one span per node and one per call;\n"
        "the last column spreads the whole difference, per-invocation costs included, over the nodes, so it\n"
        f"is an upper bound. Load average during the run: {os.getloadavg()[0]:.1f} on 2 shared cores.\n\n"
        f"{table}\n"
    )
    doc = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _: body + "\n", doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + body
    DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
