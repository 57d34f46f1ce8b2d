"""Engine overhead per agent step (tracing + checkpointing + policies) against plain LangGraph.

    .venv/bin/python bench/engine_bench.py --workflow triage --tasks 60 --runs 5

Engine side: `agentdeck.engine.runner.run_tasks` on the workflow with the offline simulator at zero latency
and no injected faults, one task at a time, a real SqliteSaver file, and the OTel SDK recording
every span (in-memory exporter, synchronous span processor, so export costs are counted). Steps
are the `invoke_agent` spans (one per agent attempt). Baseline, in the same run: a plain LangGraph
StateGraph with as many nodes per task as the engine ran agent steps per task, each node
returning a small state update, compiled with a SqliteSaver from the same `open_checkpointer`
(WAL, synchronous=NORMAL), one thread per task. Both are timed in alternation and medians are
reported; the overhead per step is engine ms/step minus plain ms/step.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langgraph.graph import END, START, StateGraph  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from agentdeck.engine import semconv as sc  # noqa: E402
from agentdeck.engine.checkpoints import open_checkpointer  # noqa: E402
from agentdeck.engine.providers.simulator import FaultRates  # noqa: E402
from agentdeck.engine.runner import run_tasks  # noqa: E402
from agentdeck.engine.telemetry import make_tracer_provider  # noqa: E402


class _State(TypedDict, total=False):
    task: str
    notes: list[str]
    step: int


def engine_run(workflow: str, tasks: int, db: Path, seed: int) -> tuple[float, int]:
    """(seconds, agent steps) for `tasks` tasks."""
    exporter = InMemorySpanExporter()
    provider = make_tracer_provider(exporters=[exporter])
    started = time.perf_counter()
    run_tasks(
        workflow,
        tasks,
        seed=seed,
        concurrency=1,
        checkpoint_db=db,
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=provider,
    )
    elapsed = time.perf_counter() - started
    steps = sum(
        1
        for s in exporter.get_finished_spans()
        if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == sc.OP_INVOKE_AGENT
    )
    provider.shutdown()
    return elapsed, steps


def plain_run(tasks: int, nodes: int, db: Path) -> float:
    def make_node(i: int) -> Any:
        def node(state: _State) -> _State:
            return {"notes": [*state.get("notes", []), f"node {i} done"], "step": i}

        return node

    graph = StateGraph(_State)
    names = [f"n{i}" for i in range(nodes)]
    for i, name in enumerate(names):
        graph.add_node(name, make_node(i))
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    with open_checkpointer(db) as saver:
        app = graph.compile(checkpointer=saver)
        started = time.perf_counter()
        for t in range(tasks):
            app.invoke({"task": f"task {t}", "notes": []}, {"configurable": {"thread_id": f"plain-{t}"}})
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", default="triage")
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine_ms, plain_ms, per_task = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        engine_run(args.workflow, 3, Path(tmp) / "warm.sqlite", seed=999)  # imports, first compile
        for run in range(args.runs):
            seconds, steps = engine_run(args.workflow, args.tasks, Path(tmp) / f"engine-{run}.sqlite", seed=run)
            nodes = max(1, round(steps / args.tasks))
            plain = plain_run(args.tasks, nodes, Path(tmp) / f"plain-{run}.sqlite")
            engine_ms.append(seconds * 1000 / steps)
            plain_ms.append(plain * 1000 / (args.tasks * nodes))
            per_task.append(steps / args.tasks)
            print(
                f"run {run + 1}: engine {engine_ms[-1]:.2f} ms/step ({steps} steps), "
                f"plain LangGraph {plain_ms[-1]:.2f} ms/step ({nodes} nodes/task)",
                flush=True,
            )
    e, p = statistics.median(engine_ms), statistics.median(plain_ms)
    print(
        json.dumps(
            {
                "workflow": args.workflow,
                "agent_steps_per_task": round(statistics.median(per_task), 2),
                "engine_ms_per_step": round(e, 3),
                "plain_langgraph_ms_per_step": round(p, 3),
                "overhead_ms_per_step": round(e - p, 3),
                "ratio_engine_to_plain": round(e / p, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
