"""Workers as real subprocesses (`agentdeck worker`) on the test PostgreSQL, and what to read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from agentdeck.engine.ledger import Ledger, TaskRecord
from agentdeck.engine.runner import EngineOptions
from agentdeck.engine.workers.queue import enqueue
from agentdeck.engine.workers.tasks import task_specs

LEASE_S = 3.0  # short, so a killed worker's tasks move within seconds (long enough for a loaded machine)


def start_worker(
    url: str, log: Path, *, concurrency: int = 4, collector_url: str | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("OTEL_EXPORTER_OTLP_ENDPOINT", "ANTHROPIC_API_KEY")}
    export = ["--collector-url", collector_url] if collector_url else ["--no-export"]
    cmd = [sys.executable, "-m", "agentdeck", "worker", "--postgres", url, "--concurrency", str(concurrency)]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*cmd, "--lease", str(LEASE_S), *export],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # a Ctrl-C in the terminal running pytest does not reach it
        )


@contextmanager
def workers(url: str, tmp: Path, n: int, **kw: Any) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [start_worker(url, tmp / f"worker{i}.log", **kw) for i in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)  # finish, flush spans, leave the queue
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=30)


def wait_for(what: str, cond: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def queue_tasks(url: str, workflow: str, n: int, *, latency_scale: float, seed: int = 0) -> list[str]:
    specs = task_specs(workflow, n, EngineOptions(seed=seed, latency_scale=latency_scale))
    enqueue(url, specs)
    return [s.task_id for s in specs]


def outcomes(url: str, task_ids: list[str]) -> dict[str, TaskRecord]:
    with Ledger(url) as ledger:
        return {r.task_id: r for r in ledger.tasks(task_ids=task_ids, limit=len(task_ids) + 1)}


def jobs(url: str) -> list[tuple[int, str, str, int]]:
    """(job id, task id, status, attempts) of every queued job, oldest first."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute("SELECT id, lock, status, attempts FROM procrastinate_jobs ORDER BY id")]
