"""The `agentdeck` command as a user types it: help for every command, and errors that say what to fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.test_readme import subcommands


def agentdeck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdeck", *args], capture_output=True, text=True, timeout=120, cwd=cwd
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
        # a feature command's error raised through `python -m agentdeck` (not a traceback)
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


def test_run_uses_a_saved_prompt_version(tmp_path: Path, empty_collector: str) -> None:
    from agentdeck.engine.prompts import PromptStore
    from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED

    db = tmp_path / "cp.sqlite"
    template = CLASSIFIER_PROMPT_FIXED
    with PromptStore(db) as store:
        saved = store.save("triage", "classifier", template, author="test", reason="stricter")
    assert saved.version == "v2"
    base = ("run", "triage", "--tasks", "2", "--latency-scale", "0", "--checkpoint-db", str(db))
    out = agentdeck(*base, "--prompt-version", "classifier=v9", "--no-export")
    assert out.returncode == 2
    assert "classifier has no prompt version 'v9'; choose one of: v1, v2" in out.stderr
    out = agentdeck(*base, "--prompt-version", "classifier=v2", "--collector-url", empty_collector)
    assert out.returncode == 0, out.stderr
    traces = httpx.get(f"{empty_collector}/api/query/traces", params={"start_ns": "0"}, timeout=10).json()
    versions = set()
    for row in traces["rows"]:
        trace_id = row[traces["columns"].index("trace_id")]
        spans = httpx.get(f"{empty_collector}/api/query/trace", params={"trace_id": trace_id}, timeout=10).json()
        for span in spans["rows"]:
            attrs = json.loads(span[spans["columns"].index("attributes")])
            if attrs.get("gen_ai.agent.name") == "classifier" and "agentdeck.prompt.version" in attrs:
                versions.add(attrs["agentdeck.prompt.version"])
    assert versions == {saved.label}
    # the same tasks with the built-in prompt are other tasks: they run, and are not taken for these
    again = agentdeck(*base, "--no-export")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("2 tasks (") and "already done" not in again.stdout
    repeat = agentdeck(*base, "--prompt-version", "classifier=v2", "--no-export")
    assert repeat.returncode == 0, repeat.stderr
    assert "2 already done in this checkpoint file, not re-run" in repeat.stdout
