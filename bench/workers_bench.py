"""Workers on PostgreSQL: throughput with 1, 2 and 4 workers, recovery after a SIGKILL, queue overhead.

    .venv/bin/python bench/workers_bench.py

Starts its own PostgreSQL (Debian's package, fsync on) and runs `agentdeck worker` processes against
it, spans not exported (--no-export), offline simulator with its realistic faults.

1. Throughput: 1, 2 and 4 workers of --concurrency each drain a batch of --waves tasks per slot, at
   simulated latency --latency-scale (1.0 = the simulator's realistic model latencies: a triage task
   takes ~10-20 s, a few run to their 120 s deadline); steady-state tasks per minute (between 10% and
   90% of the batch ended, workers registered before it is queued), a fresh database each.
2. Recovery: two workers, lease --lease; one is killed with SIGKILL while running tasks; the time
   until every task it held runs again on the other (the bound is lease + lease/3 + 1 s poll).
3. Overhead per task: the same tasks at zero latency, one at a time, run locally with run_tasks into
   the same PostgreSQL (checkpoints and ledger there) and through the queue by one worker of
   concurrency 1, in alternated rounds (medians); the difference per task is what the queue adds
   (enqueueing, LISTEN/NOTIFY, taking and closing the job, the ledger look-up, the span flush).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from agentdeck.engine.ledger import Ledger  # noqa: E402
from agentdeck.engine.providers.simulator import FaultRates  # noqa: E402
from agentdeck.engine.runner import EngineOptions, run_tasks  # noqa: E402
from agentdeck.engine.telemetry import make_tracer_provider  # noqa: E402
from agentdeck.engine.workers.queue import enqueue  # noqa: E402
from agentdeck.engine.workers.tasks import task_specs  # noqa: E402
from tests.postgres_server import new_database, running_postgres  # noqa: E402

LOGS = Path(tempfile.mkdtemp(prefix="agentdeck-workers-bench-"))


def start_worker(url: str, concurrency: int, lease: float, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT")}
    cmd = [sys.executable, "-m", "agentdeck", "worker", "--postgres", url, "--no-export"]
    with (LOGS / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [*cmd, "--concurrency", str(concurrency), "--lease", str(lease), "--name", name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def ended(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM agentdeck_tasks").fetchone()[0])


def kill_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def queue(url: str, n: int, latency: float, seed: int) -> list[str]:
    specs = task_specs("triage", n, EngineOptions(seed=seed, latency_scale=latency))
    enqueue(url, specs)
    return [s.task_id for s in specs]


def throughput(server: str, workers: int, args: argparse.Namespace) -> tuple[float, int, float]:
    """(tasks/min, tasks, seconds to the last outcome) for a batch of `waves` tasks per slot (workers x
    concurrency), the workers up and registered before it is queued. The rate is steady state: tasks
    ended between the 10th and the 90th percent of the batch over that time, so neither start-up nor
    the tail (a few tasks run to their deadline: up to 120 s at scale 1) decide it."""
    url = new_database(server, f"throughput_{workers}")
    n = workers * args.concurrency * args.waves
    specs = task_specs("triage", n, EngineOptions(seed=workers, latency_scale=args.latency_scale))
    procs = [start_worker(url, args.concurrency, 30, f"tp{workers}-{i}") for i in range(workers)]
    marks: dict[float, float] = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                ready = conn.execute("SELECT to_regclass('procrastinate_workers')").fetchone()[0]
                if ready and conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] == workers:
                    break
                time.sleep(0.2)
        t0 = time.monotonic()
        enqueue(url, specs)
        while (done := ended(url)) < n:
            for share in (0.1, 0.9):
                if done >= share * n:
                    marks.setdefault(share, time.monotonic())
            time.sleep(0.2)
        last = time.monotonic() - t0
    finally:
        kill_all(procs)
    marks.setdefault(0.9, t0 + last)
    return 0.8 * n / ((marks[0.9] - marks[0.1]) / 60), n, last


def recovery(server: str, args: argparse.Namespace) -> tuple[float, int]:
    """Seconds from the SIGKILL until every task the killed worker held runs on the survivor."""
    url = new_database(server, "recovery")
    queue(url, 40, 0.3, seed=99)
    victim = start_worker(url, 4, args.lease, "victim")
    procs = [victim]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rows = conn.execute("SELECT id, worker_id FROM procrastinate_jobs WHERE status = 'doing'").fetchall()
                if len(rows) == 4:
                    break
                time.sleep(0.05)
            held = [r[0] for r in rows]
            victim_id = rows[0][1]
            procs.append(start_worker(url, 4, args.lease, "survivor"))
            time.sleep(1.0)  # the survivor is up and working on other tasks
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while time.monotonic() < killed_at + 10 * args.lease:
                moved = conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY(%s)"
                    " AND (status = 'succeeded' OR (status = 'doing' AND worker_id IS DISTINCT FROM %s))",
                    (held, victim_id),
                ).fetchone()[0]
                if moved == len(held):
                    return time.monotonic() - killed_at, len(held)
                time.sleep(0.05)
    finally:
        kill_all(procs)
    raise RuntimeError("the killed worker's tasks did not move")


def overhead(server: str, args: argparse.Namespace) -> tuple[float, float]:
    """Median (local s/task, queued s/task) over alternated rounds, zero latency, one task at a time,
    into the same PostgreSQL; each round new task ids (another seed)."""
    local_url = new_database(server, "overhead_local")
    url = new_database(server, "overhead_queue")
    proc = start_worker(url, 1, 30, "overhead")
    local: list[float] = []
    queued: list[float] = []
    try:
        time.sleep(5)  # the worker is up (its start is not a per-task cost)
        for r in range(args.rounds):
            t = time.perf_counter()
            run_tasks(
                "triage",
                args.overhead_tasks,
                seed=100 + r,
                concurrency=1,
                checkpoint_db=local_url,
                latency_scale=0.0,
                faults=FaultRates.realistic(),
                tracer_provider=make_tracer_provider(),
            )
            local.append((time.perf_counter() - t) / args.overhead_tasks)
            t = time.perf_counter()
            ids = queue(url, args.overhead_tasks, 0.0, seed=100 + r)
            with Ledger(url) as ledger:
                while len(ledger.tasks(task_ids=ids, limit=len(ids) + 1)) < len(ids):
                    time.sleep(0.01)
            queued.append((time.perf_counter() - t) / args.overhead_tasks)
    finally:
        kill_all([proc])
    return statistics.median(local), statistics.median(queued)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-scale", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=8, help="tasks per worker (default: 8)")
    ap.add_argument("--waves", type=int, default=3, help="tasks per worker slot in the batch (default: 3)")
    ap.add_argument("--lease", type=float, default=5.0, help="lease for the recovery figure (default: 5)")
    ap.add_argument("--overhead-tasks", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5, help="alternated local/queued rounds (default: 5)")
    args = ap.parse_args()
    with running_postgres(fsync=True) as server:
        local, queued = overhead(server, args)
        print(f"overhead: local {local * 1000:.1f} ms/task, queued {queued * 1000:.1f} ms/task", flush=True)
        rec, held = recovery(server, args)
        print(f"recovery: {held} tasks moved {rec:.1f} s after the SIGKILL (lease {args.lease:g} s)", flush=True)
        for n in (1, 2, 4):
            tpm, tasks, last = throughput(server, n, args)
            print(
                f"throughput: {n} worker(s) x {args.concurrency}: {tpm:.0f} tasks/min"
                f" ({tasks} tasks, the last after {last:.0f} s; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    print(f"worker logs: {LOGS}")


if __name__ == "__main__":
    main()
