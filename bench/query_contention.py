"""Heavy reads against ingest (issue 18, item 12): ingest latency idle and under 32 heavy query
clients, for two builds of the collector in the same run (before: another checkout's interpreter).

    .venv/bin/python bench/query_contention.py --before-python /work/main/.venv/bin/python \\
        --before-repo /work/main --spans 1000000 --clients 32 --runs 3

The store file is built once by `query_bench.build_file` (the ingest benchmark's traces, copied over
30 days) and cached; each run copies it, starts the collector (`python -m agentdeck.collector`,
default settings) on the copy, then a producer posts 10-span OTLP requests one after another for
`--idle-s` seconds with nothing else running, and again for `--loaded-s` seconds while `--clients`
threads loop over full-history named queries (agent_metrics, overview, timeseries, traces with a
text search). Reported per build: the median over runs of ingest p50/p95 idle and loaded, their
ratio, and how the queries were answered (200, 503 busy, 500).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from ingest_bench import build_bodies  # noqa: E402
from query_bench import build_file  # noqa: E402

HEAVY = (
    ("agent_metrics", {"start_ns": "0"}),
    ("overview", {"start_ns": "0"}),
    ("timeseries", {"start_ns": "0"}),
    ("traces", {"start_ns": "0", "q": "refund"}),
)


def start(
    python: str, repo: Path, db: Path, env: dict[str, str] | None = None, stderr: int = subprocess.DEVNULL
) -> tuple[subprocess.Popen[str], str]:
    """`python -m agentdeck.collector` of the build at `repo` on `db`, on a free port; returns once it listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [python, "-m", "agentdeck.collector", "--db-path", str(db), "--port", str(port)],
        cwd=repo,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # "listening on ..."
    return proc, f"http://127.0.0.1:{port}"


def produce(url: str, bodies: list[bytes], seconds: float) -> list[float]:
    """Post bodies one after another for `seconds`; the latency of each acknowledged one (ms)."""
    latencies = []
    give_up = time.monotonic() + seconds
    with httpx.Client(timeout=120) as client:
        i = 0
        while time.monotonic() < give_up:
            t = time.perf_counter()
            r = client.post(
                url + "/v1/traces", content=bodies[i % len(bodies)], headers={"Content-Type": "application/x-protobuf"}
            )
            if r.status_code == 200:
                latencies.append((time.perf_counter() - t) * 1000)
            else:
                time.sleep(float(r.headers.get("Retry-After", "1")))
            i += 1
    return latencies


def query_load(url: str, clients: int, stop: threading.Event, answers: Counter[str]) -> list[threading.Thread]:
    def loop(k: int) -> None:
        with httpx.Client(timeout=120) as client:
            n = k
            while not stop.is_set():
                name, params = HEAVY[n % len(HEAVY)]
                n += 1
                try:
                    status = str(client.get(f"{url}/api/query/{name}", params=params).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                answers[status] += 1
                if status == "503":
                    stop.wait(2)

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in range(clients)]
    for th in threads:
        th.start()
    return threads


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def one_run(python: str, repo: Path, cached: Path, bodies: list[bytes], args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        shutil.copy(cached, db)
        proc, url = start(python, repo, db)
        try:
            produce(url, bodies, 1.0)  # warm-up
            idle = produce(url, bodies, args.idle_s)
            stop, answers = threading.Event(), Counter[str]()
            threads = query_load(url, args.clients, stop, answers)
            time.sleep(2.0)  # let the queries pile up
            loaded = produce(url, bodies, args.loaded_s)
            stop.set()
            for th in threads:
                th.join(120)
        finally:
            proc.terminate()
            proc.wait(60)
    return {
        "idle_p50_ms": pct(idle, 0.5),
        "idle_p95_ms": pct(idle, 0.95),
        "loaded_p50_ms": pct(loaded, 0.5),
        "loaded_p95_ms": pct(loaded, 0.95),
        "queries_200": answers["200"],
        "queries_503": answers["503"],
        "queries_other": sum(v for k, v in answers.items() if k not in ("200", "503")),
    }


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared with bench/alert_check_bench.py: the build to compare and the cached store."""
    parser.add_argument("--before-python", help="interpreter of the build to compare against (its own checkout)")
    parser.add_argument("--before-repo", type=Path, help="that build's repository (the collector's working dir)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "agentdeck-query-bench")


def cached_store(args: argparse.Namespace) -> Path:
    """The store file of `args.spans` spans, built once into `args.cache`."""
    args.cache.mkdir(parents=True, exist_ok=True)
    cached = args.cache / f"spans-{args.spans}.duckdb"
    if not cached.exists():
        build_file(cached, args.spans)
    return cached


def builds(args: argparse.Namespace) -> list[tuple[str, str, Path]]:
    """(label, interpreter, repository) of each build to measure: "before" (when given), then this one."""
    found = [("after", sys.executable, REPO)]
    if args.before_python:
        found.insert(0, ("before", args.before_python, args.before_repo or REPO))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-s", type=float, default=6.0)
    parser.add_argument("--loaded-s", type=float, default=10.0)
    add_build_arguments(parser)
    args = parser.parse_args()
    cached = cached_store(args)
    bodies, _ = build_bodies(200, 10, seed=5)
    report = {}
    for label, python, repo in builds(args):
        runs = [one_run(python, repo, cached, bodies, args) for _ in range(args.runs)]
        summary = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        summary["p50_ratio"] = round(summary["loaded_p50_ms"] / summary["idle_p50_ms"], 2)
        summary["p95_ratio"] = round(summary["loaded_p95_ms"] / summary["idle_p95_ms"], 2)
        report[label] = {k: round(v, 1) if isinstance(v, float) else v for k, v in summary.items()}
        print(label, json.dumps(report[label]), flush=True)
    print(json.dumps({"spans": args.spans, "clients": args.clients, "runs": args.runs, **report}, indent=2))


if __name__ == "__main__":
    main()
