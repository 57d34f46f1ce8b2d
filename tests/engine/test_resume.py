"""A run killed with SIGKILL mid-way resumes from its checkpoints: no task lost, none run twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import Run
from langgraph.checkpoint.sqlite import SqliteSaver

from agentdeck.engine import semconv as sc
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.workflows import WORKFLOWS

TASKS = 12
SCRIPT = """
import sys
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import run_tasks
run_tasks("triage", {tasks}, seed=7, concurrency=2, checkpoint_db=sys.argv[1], latency_scale=0.05,
          faults=FaultRates(), endpoint=None)
"""


def _recorded(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM agentdeck_tasks").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path: Path, run_workflow: Callable[..., Run], pytestconfig: pytest.Config) -> None:
    db = tmp_path / "killed.sqlite"
    env = dict(os.environ)
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.pop("ANTHROPIC_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(tasks=TASKS), str(db)], env=env, cwd=pytestconfig.rootpath
    )
    try:
        deadline = time.monotonic() + 60
        while _recorded(db) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = _recorded(db)
    assert 3 <= done_before < TASKS

    conn = sqlite3.connect(db, check_same_thread=False)
    graph = WORKFLOWS["triage"].build().compile(checkpointer=SqliteSaver(conn))
    finished = {r[0] for r in conn.execute("SELECT task_id FROM agentdeck_tasks")}
    pending_next: dict[str, tuple[str, ...]] = {}
    for i in range(TASKS):
        tid = f"triage-s7-{i:05d}"
        state = graph.get_state({"configurable": {"thread_id": tid}})
        if state.values and tid not in finished:
            pending_next[tid] = state.next
    conn.close()
    assert pending_next, "the kill should have caught at least one task mid-run"

    run = run_workflow("triage", TASKS, seed=7, checkpoint_db=db, faults=FaultRates(), deterministic_ids=False)
    tasks = run.summary.tasks
    assert len(tasks) == TASKS and len({t.task_id for t in tasks}) == TASKS  # none lost, none doubled
    assert {t.task_id for t in tasks if t.from_ledger} == finished
    assert all(t.outcome in ("success", "incomplete", "dead_letter") for t in tasks)
    resumed = {t.task_id: t for t in tasks if t.resumed}
    assert set(resumed) == set(pending_next)
    for tid, nxt in pending_next.items():
        spans = run.trace(resumed[tid].trace_id)
        agents = [s for s in spans if s.name.startswith("invoke_agent")]
        if nxt:  # the resumed run starts at the node the killed run had not finished
            assert agents[0].attributes[sc.LANGGRAPH_NODE] == nxt[0]
        assert spans[0].attributes[sc.AD_RESUMED_FROM]
    assert _recorded(db) == TASKS
