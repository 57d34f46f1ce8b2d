"""PostgresSaver against a real PostgreSQL server started by the test (Debian's postgresql package)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    found = sorted(root.glob("*/bin/pg_ctl")) if root.exists() else []
    return found[-1].parent if found and (found[-1].parent / "initdb").exists() else None


def _as_postgres() -> list[str]:
    """Run server binaries as the `postgres` user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql")
    prefix = _as_postgres()
    base = Path(tempfile.mkdtemp(prefix="agentdeck-pg-"))
    base.chmod(0o755)
    data = base / "data"
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(base)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None:
                pytest.fail("PostgreSQL exited during start-up")
            time.sleep(0.1)
        else:
            pytest.fail("PostgreSQL did not become ready in 60 s")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def test_runs_checkpoint_to_postgres(postgres_url: str, tmp_path: Path) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    summary = run_tasks(
        "triage",
        4,
        seed=3,
        concurrency=2,
        checkpoint_db=postgres_url,
        dead_letter_db=tmp_path / "dlq.sqlite",
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    assert len(summary.tasks) == 4
    with PostgresSaver.from_conn_string(postgres_url) as saver:
        for t in summary.tasks:
            metas = [c.metadata for c in saver.list({"configurable": {"thread_id": t.thread_id}})]
            assert metas and all(m["agentdeck_trace_id"] == t.trace_id for m in metas)
    again = run_tasks(
        "triage",
        4,
        seed=3,
        checkpoint_db=postgres_url,
        dead_letter_db=tmp_path / "dlq.sqlite",
        latency_scale=0.0,
        faults=FaultRates(),
        tracer_provider=make_tracer_provider(),
    )
    assert all(t.from_ledger for t in again.tasks)  # finished tasks are not run twice


def test_postgres_needs_a_dead_letter_file(postgres_url: str) -> None:
    with pytest.raises(ValueError, match="dead_letter_db"):
        run_tasks("triage", 1, checkpoint_db=postgres_url)
