"""SIGKILL mid-stream: every span that got a 200 is in the store after a restart, and none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from otlp_payloads import S, new_trace_id, request

REPO = Path(__file__).resolve().parents[2]
PB = {"Content-Type": "application/x-protobuf"}


def start(db: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.collector", "--db-path", str(db), "--port", "0", "--flush-interval-ms", "2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "agentdeck collector listening on http://127.0.0.1:PORT (db: ...)"
    if "listening on " not in line:
        proc.kill()
        pytest.fail(f"collector did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split("listening on ", 1)[1].split()[0]


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_span(tmp_path: Path) -> None:
    db = tmp_path / "agentdeck.duckdb"
    proc, url = start(db)
    bodies: list[tuple[bytes, list[str]]] = []
    for _ in range(400):
        t = new_trace_id()
        spans = [S(f"s{i}", t) for i in range(25)]
        bodies.append((request(spans).SerializeToString(), [s.span_id for s in spans]))

    acked: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def sender(chunk: list[tuple[bytes, list[str]]]) -> None:
        with httpx.Client(timeout=5) as client:
            for body, ids in chunk:
                try:
                    r = client.post(url + "/v1/traces", content=body, headers=PB)
                except httpx.HTTPError:
                    return  # the collector died under us
                if r.status_code == 200:
                    with lock:
                        acked.extend(ids)
                        if len(acked) >= 2000:
                            enough.set()

    threads = [threading.Thread(target=sender, args=(bodies[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    assert enough.wait(60), "the collector acknowledged too little before the kill"
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the senders are still posting
    proc.wait(10)
    for t in threads:
        t.join(30)
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) < 400 * 25, "the kill came after everything was sent; not mid-stream"

    proc, url = start(db)
    with httpx.Client(timeout=10) as client:  # resend everything, as exporters would
        for body, _ in bodies[:50]:
            assert client.post(url + "/v1/traces", content=body, headers=PB).status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    stored = {row[0] for row in stored_rows(db, "SELECT span_id FROM spans")}
    assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged spans were lost"
    ((total, distinct),) = stored_rows(db, "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans")
    assert total == distinct
    assert stored >= {sid for _, ids in bodies[:50] for sid in ids}


def test_sigterm_drains_and_exits_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "agentdeck.duckdb"
    proc, url = start(db)
    t = new_trace_id()
    r = httpx.post(url + "/v1/traces", content=request([S("one", t)]).SerializeToString(), headers=PB)
    assert r.status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert stored_rows(db, "SELECT name FROM spans") == [("one",)]


def test_bad_settings_exit_with_a_message(tmp_path: Path) -> None:
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.collector", "--db-path", str(tmp_path / "x.duckdb"), "--host", "0.0.0.0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0" in result.stderr and "--token" in result.stderr
