"""The `agentdeck` command as a user types it: help for every command, and errors that say what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_readme import subcommands


def agentdeck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_command_has_help(command: str) -> None:
    out = agentdeck(*command.split(), "--help")
    assert out.returncode == 0, out.stderr
    assert f"agentdeck {command}" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "no_such_flow", "--no-export"), "unknown workflow 'no_such_flow'; choose one of: code_review"),
        (("run", "triage", "--tasks", "0", "--no-export"), "--tasks must be at least 1"),
        (("run", "triage", "--chaos", "1.5", "--no-export"), "--chaos is a rate between 0 and 1"),
        (("load", "missing-file.pb"), "missing-file.pb: no such file or directory"),
        (("collector", "--port", "70000"), "port 70000 is not a TCP port"),
        (("collector", "--host", "0.0.0.0"), "refusing to bind 0.0.0.0"),
        # a feature command's error raised through `python -m dashboard.cli` (not a traceback)
        (("alerts", "check", "--db", "missing.duckdb"), "missing.duckdb is not a file"),
    ],
)
def test_bad_input_gets_exit_2_and_a_message_saying_what_to_fix(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    out = agentdeck(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_run_executes_tasks_offline_and_reports_outcomes(tmp_path: Path) -> None:
    out = agentdeck("run", "triage", "--tasks", "3", "--latency-scale", "0", "--no-export",
                    "--checkpoint-db", str(tmp_path / "cp.sqlite"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("3 tasks (")
    assert (tmp_path / "cp.sqlite").exists()
