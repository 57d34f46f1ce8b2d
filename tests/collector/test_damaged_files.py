"""Damaged files are never silent (issue 18, item 8).

A collector is killed with acknowledged spans still in its write-ahead log, the WAL is then cut to
a third or replaced by random bytes (DuckDB itself would replay what it can and say nothing), or
the main file is cut short. The next start refuses with exit 2 and an `agentdeck collector: ...`
message saying what to do, leaves the damaged files as they are, and following the message gets a
working collector holding what was readable.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from collector_helpers import stored_rows
from otlp_payloads import S, new_trace_id, request

REPO = Path(__file__).resolve().parents[2]
PB = {"Content-Type": "application/x-protobuf"}


def command(db: Path) -> list[str]:
    return [sys.executable, "-m", "agentdeck.collector", "--db-path", str(db), "--port", "0", "--ingest-workers", "0"]


def start(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(command(db), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        pytest.fail(f"collector did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split("listening on ", 1)[1].split()[0]


def killed_with_spans_in_the_wal(db: Path, requests: int = 30, per_request: int = 100) -> int:
    """Acknowledged spans, all still in the WAL when the collector is killed."""
    proc, url = start(db)
    acked = 0
    with httpx.Client(timeout=30) as client:
        for _ in range(requests):
            t = new_trace_id()
            spans = [S(f"s{i}", t, attrs={"text": "lorem ipsum " * 20}) for i in range(per_request)]
            r = client.post(url + "/v1/traces", content=request(spans).SerializeToString(), headers=PB)
            assert r.status_code == 200
            acked += per_request
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return acked


def refused(db: Path) -> str:
    result = subprocess.run(command(db), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("agentdeck collector: ")
    return result.stderr


def wal_of(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@pytest.mark.parametrize("damage", ["truncated to a third", "random bytes"])
def test_a_damaged_wal_is_refused_with_what_to_do_and_left_as_it_is(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "agentdeck.duckdb"
    acked = killed_with_spans_in_the_wal(db)
    wal = wal_of(db)
    size = wal.stat().st_size
    assert size > 100_000, "the spans were not in the WAL"
    if damage == "truncated to a third":
        with wal.open("r+b") as f:
            f.truncate(size // 3)
    else:
        wal.write_bytes(random.Random(1).randbytes(size))
    before = (db.read_bytes(), wal.read_bytes())

    message = refused(db)
    assert f"{acked:,} were acknowledged" in message
    assert "is truncated or corrupt" in message and "Nothing was changed" in message
    assert f"mv {db}.ack {db}.ack.damaged" in message
    assert (db.read_bytes(), wal.read_bytes()) == before, "the damaged files were touched"
    assert refused(db) == message  # and again: never a silent start

    # Following the message: keep a copy, move the record aside, start with what is readable.
    Path(f"{db}.ack").rename(f"{db}.ack.damaged")
    proc, url = start(db)
    with httpx.Client(timeout=30) as client:
        r = client.post(
            url + "/v1/traces", content=request([S("after", new_trace_id())]).SerializeToString(), headers=PB
        )
        assert r.status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert "no acknowledgement record" in (proc.stderr.read() if proc.stderr else "")  # said out loud
    ((count,),) = stored_rows(db, "SELECT count(*) FROM spans")
    assert 1 <= int(str(count)) < acked + 1


def test_a_truncated_main_file_is_refused_with_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "agentdeck.duckdb"
    proc, url = start(db)
    with httpx.Client(timeout=30) as client:
        for _ in range(5):
            spans = [S(f"s{i}", new_trace_id(), attrs={"text": "x" * 2000}) for i in range(200)]
            assert (
                client.post(url + "/v1/traces", content=request(spans).SerializeToString(), headers=PB).status_code
                == 200
            )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0  # checkpointed: everything is in the main file
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.truncate(size // 3)
    message = refused(db)
    assert "is damaged and cannot be read" in message and f"mv {db} {db}.damaged" in message
    assert db.stat().st_size == size // 3


def test_a_record_left_beside_a_deleted_file_does_not_block_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "agentdeck.duckdb"
    killed_with_spans_in_the_wal(db, requests=2, per_request=10)
    db.unlink()
    wal_of(db).unlink()
    proc, _ = start(db)  # a new, empty store; the stale record is rewritten
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
