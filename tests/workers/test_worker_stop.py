"""Ctrl-C on a worker: the first finishes its running tasks, a second hands them back to the queue."""

from __future__ import annotations

import signal
from pathlib import Path

import psycopg
from worker_helpers import outcomes, queue_tasks, start_worker, wait_for, workers

from agentdeck.engine.replay.history import checkpoint_tree


def _doing(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT lock FROM procrastinate_jobs WHERE status = 'doing'")}


def _has_checkpoint(url: str, task_id: str) -> bool:
    try:
        return bool(checkpoint_tree(url, task_id).checkpoints)
    except LookupError:
        return False


def test_ctrl_c_finishes_running_tasks(postgres_url: str, tmp_path: Path) -> None:
    ids = queue_tasks(postgres_url, "triage", 12, latency_scale=0.3)
    worker = start_worker(postgres_url, tmp_path / "w.log", concurrency=2)
    try:
        wait_for("two running tasks", lambda: len(_doing(postgres_url)) == 2)
        running = _doing(postgres_url)
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=120) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    ended = outcomes(postgres_url, ids)
    assert running <= set(ended)  # what it was running, it finished
    assert not _doing(postgres_url)
    assert len(ended) < len(ids)  # and took nothing new after the Ctrl-C
    assert "finishing 2 running task(s)" in (tmp_path / "w.log").read_text()


def test_second_ctrl_c_hands_tasks_back(postgres_url: str, tmp_path: Path) -> None:
    ids = queue_tasks(postgres_url, "triage", 4, latency_scale=1.0)
    worker = start_worker(postgres_url, tmp_path / "w.log", concurrency=2)
    try:
        wait_for(
            "two tasks running past their first checkpoint",
            lambda: (
                len(running := _doing(postgres_url)) == 2 and all(_has_checkpoint(postgres_url, t) for t in running)
            ),
        )
        running = _doing(postgres_url)
        worker.send_signal(signal.SIGINT)
        wait_for("the worker to stop taking tasks", lambda: "finishing" in (tmp_path / "w.log").read_text())
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=60) == 130
    finally:
        if worker.poll() is None:
            worker.kill()
    assert not _doing(postgres_url)  # handed back at once, not left for the lease to expire
    handed_back = running - set(outcomes(postgres_url, ids))
    assert handed_back, "the tasks were still running when handed back"
    with workers(postgres_url, tmp_path, 1, concurrency=2):
        wait_for("every task to end", lambda: len(outcomes(postgres_url, ids)) == len(ids))
    log = (tmp_path / "worker0.log").read_text()
    for task_id in handed_back:  # the next worker resumed them from their checkpoints
        assert f"task {task_id}: " in log and "[resumed]" in log.split(f"task {task_id}: ")[1].splitlines()[0]
