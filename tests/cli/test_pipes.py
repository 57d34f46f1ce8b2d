"""`agentdeck ... | head`: a reader that leaves early ends the command quietly, with no BrokenPipe
traceback, for every command that prints (run, checkpoints, alerts check --json, alerts list)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine.runner import run_tasks, task_id_for
from tests.cli.cli_helpers import CONSOLE_SCRIPT, cli_env
from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert

SIGPIPE_STATUS = 141


def into_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is gone before the command prints (what `| head -0` does)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSOLE_SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=cli_env(),
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    return subprocess.CompletedProcess(args, proc.wait(timeout=180), "", err)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A checkpoint file with one triage task, and a collector holding an over-budget task."""
    tmp = tmp_path_factory.mktemp("pipes")
    run_tasks("triage", 1, checkpoint_db=tmp / "cp.sqlite", latency_scale=0)
    with CollectorServer(CollectorConfig(db_path=tmp / "a.duckdb", host="127.0.0.1", port=0)) as server:
        post_task(server.url, over_budget_task("d" * 32))
        wait_for_alert(server.url, "d" * 32)
        yield tmp, server.url


def commands(tmp: Path, url: str) -> list[tuple[str, ...]]:
    return [
        ("checkpoints", task_id_for("triage", 0, 0), "--checkpoint-db", str(tmp / "cp.sqlite")),
        ("checkpoints", task_id_for("triage", 0, 0), "--checkpoint-db", str(tmp / "cp.sqlite"), "--json"),
        ("alerts", "check", "--json", "--collector-url", url),
        ("alerts", "list", "--collector-url", url),
        ("run", "triage", "--tasks", "1", "--latency-scale", "0", "--no-export",
         "--checkpoint-db", str(tmp / "cp.sqlite")),
    ]  # fmt: skip


@pytest.mark.parametrize("which", range(5))
def test_a_reader_that_leaves_gets_no_traceback(data: tuple[Path, str], which: int) -> None:
    tmp, url = data
    args = commands(tmp, url)[which]
    out = into_closed_pipe(*args, cwd=tmp)
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, (args, out.stderr)
    assert "Exception ignored" not in out.stderr, (args, out.stderr)
    assert out.returncode == SIGPIPE_STATUS, (args, out.returncode, out.stderr)
