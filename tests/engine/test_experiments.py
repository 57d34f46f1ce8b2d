"""Experiments: every item run and linked to its item, the cost cap, and resuming by name, also after
`kill -9`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine import semconv as sc
from agentdeck.engine.datasets import Dataset, DatasetStore, Item
from agentdeck.engine.experiments import Experiment, ExperimentStore, run_experiment
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED, make_tasks

FIX = {"classifier": CLASSIFIER_PROMPT_FIXED}


def triage_dataset(db: Path, n: int) -> Dataset:
    items = [Item(f"t{i:02d}", task) for i, task in enumerate(make_tasks(1, n))]
    with DatasetStore(db) as store:
        return store.create("tickets", "triage", "test", items)


def test_every_item_runs_once_traced_and_linked_to_its_item(tmp_path: Path) -> None:
    db = tmp_path / "cp.sqlite"
    ds = triage_dataset(db, 4)
    spans = InMemorySpanExporter()
    run = run_experiment(
        Experiment("fixed", ds.name, ds.version, "triage", "fresh", FIX),
        ds,
        checkpoint_db=db,
        tracer_provider=make_tracer_provider(export=False, exporters=[spans]),
    )
    assert sorted(run.results) == ["t00", "t01", "t02", "t03"] and run.ran == 4
    roots = {s.attributes[sc.AD_DATASET_ITEM_ID]: s for s in spans.get_finished_spans() if s.parent is None}
    assert sorted(roots) == sorted(run.results)
    for item_id, root in roots.items():
        assert root.attributes[sc.AD_EXPERIMENT_NAME] == "fixed"
        assert (root.attributes[sc.AD_DATASET_NAME], root.attributes[sc.AD_DATASET_VERSION]) == ("tickets", 1)
        assert format(root.context.trace_id, "032x") == run.results[item_id].trace_id
    assert all(r.tokens > 0 and r.cost_usd > 0 for r in run.results.values())


def test_the_cost_cap_stops_new_items_and_the_same_name_finishes_them(tmp_path: Path) -> None:
    db = tmp_path / "cp.sqlite"
    ds = triage_dataset(db, 5)
    exp = Experiment("capped", ds.name, ds.version, "triage", "fresh", FIX)
    quiet = make_tracer_provider(export=False)
    first = run_experiment(exp, ds, checkpoint_db=db, tracer_provider=quiet, concurrency=1, max_cost_usd=1e-9)
    assert first.ran == 1 and len(first.skipped_for_budget) == 4  # the first item spends past the cap
    second = run_experiment(exp, ds, checkpoint_db=db, tracer_provider=quiet, concurrency=1)
    assert second.ran == 4 and sorted(second.results) == ["t00", "t01", "t02", "t03", "t04"]
    assert second.results[first_done(first)].trace_id == first.results[first_done(first)].trace_id  # not re-run


def first_done(run: object) -> str:
    return next(iter(run.results))  # type: ignore[attr-defined]


def test_a_name_that_holds_another_experiment_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "cp.sqlite"
    ds = triage_dataset(db, 1)
    quiet = make_tracer_provider(export=False)
    run_experiment(Experiment("e", ds.name, ds.version, "triage", "fresh", FIX), ds, checkpoint_db=db,
                   tracer_provider=quiet)  # fmt: skip
    with pytest.raises(ValueError, match="with other settings: give this one another --name"):
        run_experiment(Experiment("e", ds.name, ds.version, "triage", "fresh", {}), ds, checkpoint_db=db,
                       tracer_provider=quiet)  # fmt: skip


KILLED_RUN = """
import sys
from agentdeck.engine.datasets import DatasetStore
from agentdeck.engine.experiments import Experiment, run_experiment
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
db = sys.argv[1]
with DatasetStore(db) as store:
    ds = store.get("tickets")
exp = Experiment("slow", ds.name, ds.version, "triage", "fresh", {"classifier": CLASSIFIER_PROMPT_FIXED})
run_experiment(exp, ds, checkpoint_db=db, tracer_provider=make_tracer_provider(export=False), concurrency=1,
               latency_scale=1.0)
"""


def saved_results(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM agentdeck_experiment_results").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not made yet
            return 0


def test_an_experiment_killed_midway_resumes_by_name_and_runs_only_what_was_left(tmp_path: Path) -> None:
    db = tmp_path / "cp.sqlite"
    ds = triage_dataset(db, 8)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(db)], stderr=subprocess.PIPE)
    try:
        give_up = time.monotonic() + 120
        while saved_results(db) < 2 and proc.poll() is None and time.monotonic() < give_up:
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read() if proc.stderr else ''}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done = saved_results(db)
    assert 2 <= done < 8
    exp = Experiment("slow", ds.name, ds.version, "triage", "fresh", FIX)
    run = run_experiment(exp, ds, checkpoint_db=db, tracer_provider=make_tracer_provider(export=False))
    assert run.ran == 8 - done
    with ExperimentStore(db) as store:
        results = store.results("slow")
    assert sorted(results) == [f"t{i:02d}" for i in range(8)]
    assert {r.outcome for r in results.values()} <= {"success", "incomplete", "dead_letter", "failed"}
