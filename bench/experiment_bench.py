"""Experiment benchmark: 200 dataset items through the simulator, traced to a real collector.

A real collector (in-process server, real DuckDB file) receives every run's spans; the checkpoint file
is real. Two modes, each timed from the call to `run_experiment` to its return (every item run, its
spans exported, its result saved), medians over `--runs`:

* fresh: 200 triage tasks (seeded inputs) run with the fixed classifier prompt;
* from the failing step: 200 recorded triage tasks (zero-latency simulator, run first and untimed),
  each forked at the checkpoint before its failure (finished ones from their first step), with the
  fixed prompt, unchanged steps served from the recording.

    .venv/bin/python bench/experiment_bench.py --items 200 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer
    from agentdeck.engine.datasets import DatasetStore, Item, Original
    from agentdeck.engine.experiments import Experiment, run_experiment
    from agentdeck.engine.providers.simulator import FaultRates
    from agentdeck.engine.runner import run_tasks
    from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED, make_tasks

    fix = {"classifier": CLASSIFIER_PROMPT_FIXED}
    figures: dict[str, list[float]] = {"fresh": [], "from-failing-step": []}
    outcomes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        config = CollectorConfig(db_path=tmp / "c.duckdb", host="127.0.0.1", port=0)
        with CollectorServer(config) as server:
            db = tmp / "cp.sqlite"
            recorded = run_tasks("triage", args.items, seed=7, checkpoint_db=db, endpoint=server.url,
                                 latency_scale=0.0, faults=FaultRates(), concurrency=args.concurrency)  # fmt: skip
            with DatasetStore(db) as store:
                fresh = store.create(
                    "fresh", "triage", "bench", [Item(f"t{i:04d}", t) for i, t in enumerate(make_tasks(3, args.items))]
                )
                forks = store.create(
                    "recorded", "triage", "bench",
                    [Item(t.task_id, {}, None, t.trace_id, t.thread_id, Original(t.outcome, t.cost_usd))
                     for t in recorded.tasks],
                )  # fmt: skip
            for run_no in range(args.runs):
                for mode, ds in (("fresh", fresh), ("from-failing-step", forks)):
                    exp = Experiment(f"{mode}-{run_no}", ds.name, ds.version, "triage", mode, fix)
                    began = time.perf_counter()
                    run = run_experiment(exp, ds, checkpoint_db=db, endpoint=server.url, concurrency=args.concurrency)
                    figures[mode].append(time.perf_counter() - began)
                    counts: dict[str, int] = {}
                    for r in run.results.values():
                        counts[r.outcome] = counts.get(r.outcome, 0) + 1
                    outcomes[mode] = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
                    assert len(run.results) == args.items and run.undelivered_spans == 0
    print(f"{args.items} items, concurrency {args.concurrency}, medians of {args.runs} (min-max):")
    for mode, times in figures.items():
        print(f"  {mode:<18} {statistics.median(times):6.1f} s ({min(times):.1f}-{max(times):.1f})  [{outcomes[mode]}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
