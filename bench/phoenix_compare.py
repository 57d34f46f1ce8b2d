"""Side by side with Arize Phoenix: the same OTLP/protobuf bodies into Phoenix and into agentdeck.

Phoenix runs from its own venv (never the project's): `python -m venv /tmp/phoenix-venv &&
/tmp/phoenix-venv/bin/pip install arize-phoenix`. It answers OTLP requests before storing (it
queues), so a span counts as stored when it is in Phoenix's SQLite file: the rate is spans found
there divided by the time from the first request to the last span found (or to the time budget).
agentdeck is measured on the same bodies in the same run (acknowledged = committed), and the
result is the ratio of the two rates. Used by bench/ingest_bench.py with --phoenix-venv.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from ingest_bench import end_to_end, post_all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
    except sqlite3.Error:
        return 0


def run_phoenix(venv: Path, bodies: list[bytes], total: int, budget_s: float, workdir: Path) -> dict[str, float]:
    port, grpc_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (workdir / "phoenix.log").open("w")
    proc = subprocess.Popen([str(venv / "bin" / "phoenix"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {proc.returncode}; see {workdir / 'phoenix.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"phoenix did not answer on {url} within 120 s")
            time.sleep(0.5)
        db = workdir / "phoenix.db"
        started = time.perf_counter()
        post_all(url + "/v1/traces", bodies, 2)
        acked = time.perf_counter() - started
        last, last_at = 0, started
        while time.perf_counter() - started < budget_s:
            count = _stored(db)
            if count != last:
                last, last_at = count, time.perf_counter()
            if count >= total:
                break
            time.sleep(1.0)
        elapsed = (last_at if last >= total else time.perf_counter()) - started
        return {
            "spans_sent": total,
            "spans_stored": last,
            "seconds": elapsed,
            "ack_seconds": acked,
            "spans_per_s": last / elapsed,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def compare(
    venv: Path, bodies: list[bytes], args: argparse.Namespace, tmp: Path, sustained: float
) -> dict[str, object]:
    """Phoenix and agentdeck on the first bodies (about 5,000 spans: Phoenix stores a few hundred a
    second at most); `sustained` is agentdeck's median spans/s on every body, from the same run (five
    requests are too few for agentdeck to reach its sustained rate, so both ratios are given)."""
    subset = bodies[: max(2, 5000 // args.spans_per_request)]
    total = sum(_count(b) for b in subset)
    with tempfile.TemporaryDirectory(dir=tmp) as work:
        phoenix = run_phoenix(venv, subset, total, args.phoenix_seconds, Path(work))
    ours = end_to_end(subset, total, args.senders, tmp / "phoenix-side.duckdb", None)
    return {
        "phoenix": {k: round(v, 2) for k, v in phoenix.items()},
        "agentdeck_spans_per_s": round(ours["spans_per_s"], 1),
        "agentdeck_to_phoenix_same_bodies": round(ours["spans_per_s"] / max(phoenix["spans_per_s"], 1e-9), 1),
        "agentdeck_sustained_spans_per_s": round(sustained, 1),
        "agentdeck_sustained_to_phoenix": round(sustained / max(phoenix["spans_per_s"], 1e-9), 1),
    }


def _count(body: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest.FromString(body)
    return sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
