"""A worker killed with SIGKILL during a 40-task run: its tasks resume on the other worker from their
last checkpoint, no checkpointed step runs again, every task ends exactly once, and the trace links
the resumed run to the killed one."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import duckdb
import psycopg
from worker_helpers import outcomes, queue_tasks, wait_for, workers

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine import semconv as sc
from agentdeck.engine.replay.history import checkpoint_tree

TASKS = 40


def _running(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT lock FROM procrastinate_jobs WHERE status = 'doing'")}


def test_sigkill_mid_run_resumes_elsewhere(postgres_url: str, tmp_path: Path) -> None:
    db = tmp_path / "spans.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as collector:
        ids = queue_tasks(postgres_url, "triage", TASKS, latency_scale=0.15)
        with workers(postgres_url, tmp_path, 2, collector_url=collector.url) as (victim, survivor):
            wait_for("a few tasks to finish", lambda: len(outcomes(postgres_url, ids)) >= 6)
            in_flight = _running(postgres_url)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            assert in_flight, "tasks should be running when the worker is killed"
            wait_for("every task to end", lambda: len(outcomes(postgres_url, ids)) == TASKS, timeout=180)
            assert survivor.poll() is None
        survivor_log = (tmp_path / "worker1.log").read_text()
    assert "resuming task" in survivor_log  # the survivor took the killed worker's tasks over

    ended = outcomes(postgres_url, ids)
    assert set(ended) == set(ids)
    assert {r.outcome for r in ended.values()} <= {"success", "incomplete", "dead_letter"}
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        states = conn.execute("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status").fetchall()
    assert dict(states).keys() <= {"succeeded", "aborted"}  # nothing left waiting, running or failed

    with duckdb.connect(str(db), read_only=True) as con:
        roots = con.execute(
            "SELECT task_id, trace_id, attributes, links FROM spans WHERE name = 'invoke_workflow triage'"
            " AND json_extract_string(attributes, '$.\"agentdeck.task.outcome\"') IS NOT NULL"
        ).fetchall()
        steps = dict(
            con.execute("SELECT trace_id, min(step) FROM spans WHERE step IS NOT NULL GROUP BY trace_id").fetchall()
        )
    ended_roots: dict[str, list[tuple[str, dict[str, object], list[dict[str, object]]]]] = {}
    for task_id, trace_id, attrs, links in roots:
        ended_roots.setdefault(task_id, []).append((trace_id, json.loads(attrs), json.loads(links or "[]")))
    # exactly once: one ended run per task, and its outcome is the ledger's
    assert sorted(ended_roots) == sorted(ids)
    assert all(len(runs) == 1 for runs in ended_roots.values())
    for task_id, [(trace_id, attrs, _)] in ended_roots.items():
        assert attrs[sc.AD_TASK_OUTCOME] == ended[task_id].outcome
        assert ended[task_id].trace_id == trace_id

    resumed = {t: runs[0] for t, runs in ended_roots.items() if runs[0][1].get(sc.AD_RESUMED_FROM)}
    assert resumed, "the killed worker's checkpointed tasks should have resumed"
    assert set(resumed) <= in_flight
    for task_id, (trace_id, attrs, links) in resumed.items():
        killed_trace = str(attrs[sc.AD_RESUMED_FROM])
        assert killed_trace != trace_id
        assert [link["trace_id"] for link in links] == [killed_trace]  # the span link between the runs
        history = checkpoint_tree(postgres_url, task_id)
        before = [c for c in history.checkpoints.values() if c.trace_id == killed_trace]
        assert before, "the killed run left checkpoints"
        assert len(history.roots) == 1 and all(len(k) == 1 for k in history.children.values())  # no re-run branch
        # no step the killed run checkpointed runs again: the resumed run starts after its last one
        assert steps[trace_id] > max(c.step for c in before)
