"""Engine faults, with figures: every workflow under chaos, every task accounted for.

Runs N tasks of each example workflow with chaos on (provider 429/529/5xx, timeouts, malformed and
schema-violating output, tool failures, latency spikes) and a per-task budget, on the simulator's
virtual clock, and reports per workflow: outcomes, the largest overspend past the budget measured in
units of that run's largest single call, and the longest task against its deadline.

    .venv/bin/python bench/chaos.py [--tasks 60] [--chaos 0.3] [--budget 0.03] [--write]

With --write the table replaces the "Engine faults" section of docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine import semconv as sc
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflows import WORKFLOWS

DOC = Path(__file__).resolve().parents[1] / "docs" / "RELIABILITY.md"
SECTION = "## Engine faults"


def run_one(workflow: str, tasks: int, chaos: float, budget: float, workdir: Path) -> dict[str, object]:
    exporter = InMemorySpanExporter()
    provider = make_tracer_provider(exporters=[exporter], deterministic_ids=True)
    db = workdir / f"{workflow}.sqlite"
    started = time.perf_counter()
    summary = run_tasks(workflow, tasks, seed=42, chaos=chaos, budget_usd=budget, checkpoint_db=db,
                        tracer_provider=provider, deterministic_ids=True, latency_scale=0.0)  # fmt: skip
    wall_s = time.perf_counter() - started
    provider.shutdown()
    spans = exporter.get_finished_spans()
    biggest_call = max((float(s.attributes.get(sc.GEN_AI_USAGE_COST, 0.0)) for s in spans), default=0.0)
    roots = [s for s in spans if s.parent is None]
    over = max((t.cost_usd - budget for t in summary.tasks), default=0.0)
    deadline_ratio = max(
        ((r.end_time - r.start_time) / 1e6) / float(r.attributes[sc.AD_DEADLINE_MS])
        for r in roots
        if r.end_time and r.start_time and r.attributes.get(sc.AD_DEADLINE_MS)
    )
    ledger = Ledger(db)
    dead_letters = {d.task_id for d in ledger.dead_letters()}
    ledger.close()
    outcomes = Counter(t.outcome for t in summary.tasks)
    faults = Counter(str(s.attributes.get(sc.ERROR_TYPE)) for s in spans if s.attributes.get(sc.ERROR_TYPE))
    return {
        "workflow": workflow,
        "tasks": len(summary.tasks),
        "accounted": len({t.task_id for t in summary.tasks}) == tasks and len(roots) == tasks,
        "outcomes": outcomes,
        "dead_letters_stored": len(dead_letters & {t.task_id for t in summary.tasks if t.outcome == "dead_letter"}),
        "overspend_calls": max(over, 0.0) / biggest_call if biggest_call else 0.0,
        "deadline_ratio": deadline_ratio,
        "faults": sum(faults.values()),
        "wall_s": wall_s,
    }


def table(results: list[dict[str, object]], tasks: int, chaos: float, budget: float) -> str:
    command = f".venv/bin/python bench/chaos.py --tasks {tasks} --chaos {chaos} --budget {budget} --write"
    lines = [
        f"{SECTION}",
        "",
        f"`{command}` (simulator, virtual clock, seed 42). Chaos {chaos:.0%} spread over the provider faults "
        f"plus that rate of tool failures and latency spikes; per-task budget ${budget}.",
        "",
        "| workflow | tasks | all accounted for | success / incomplete / dead letter / failed | dead letters "
        "stored | faults injected | worst overspend (largest calls) | longest task / deadline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o = r["outcomes"]
        assert isinstance(o, Counter)
        lines.append(
            f"| {r['workflow']} | {r['tasks']} | {'yes' if r['accounted'] else 'NO'} | "
            f"{o['success']} / {o['incomplete']} / {o['dead_letter']} / {o['failed']} | {r['dead_letters_stored']} | "
            f"{r['faults']} | {float(r['overspend_calls']):.2f} | {float(r['deadline_ratio']):.2f} |"  # type: ignore[arg-type]
        )
    lines += [
        "",
        "Worst overspend is the most any task spent past its budget, divided by the cost of the largest single "
        "call in that run: below 1 means no task overspent by more than one call. The longest task is measured "
        "in the simulator's virtual time against the workflow's deadline (past 80% the engine switches to faster "
        "models and skips optional agents). No task runs past its deadline: a call's timeout is cut to the time "
        "left, and a retry whose backoff would end past the deadline is not waited for, the task stops there "
        "(incomplete, deadline; tests/engine/test_chaos.py). A killed engine resuming its tasks from checkpoints "
        "is proven by `tests/engine/test_resume.py` (SIGKILL mid-run, then the same command finishes every task).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--chaos", type=float, default=0.3)
    parser.add_argument("--budget", type=float, default=0.03)
    parser.add_argument("--write", action="store_true", help="write the table into docs/RELIABILITY.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentdeck-chaos-") as tmp:
        results = [run_one(w, args.tasks, args.chaos, args.budget, Path(tmp)) for w in sorted(WORKFLOWS)]
    text = table(results, args.tasks, args.chaos, args.budget)
    print(text)
    if args.write:
        doc = DOC.read_text()
        if SECTION in doc:
            doc = re.sub(rf"{SECTION}\n.*?(?=\n## |\Z)", text.rstrip("\n"), doc, flags=re.S)
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        DOC.write_text(doc)


if __name__ == "__main__":
    main()
