"""`agentdeck review list|approve|reject` as a person runs them (subprocesses), and `agentdeck run`
resuming the decided tasks afterwards (the process that runs the tasks takes the decisions)."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.engine.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"
TASKS = "12"
pytestmark = pytest.mark.slow


def agentdeck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )


def test_list_approve_edit_reject_then_the_runner_resumes_the_tasks(tmp_path: Path) -> None:
    db = tmp_path / "checkpoints.sqlite"
    run_args = ("run", "support_mcp", "--tasks", TASKS, "--latency-scale", "0", "--no-export", "--checkpoint-db")
    ran = agentdeck(*run_args, str(db))
    assert "wait for review: `agentdeck review list --checkpoint-db" in ran.stdout
    listed = agentdeck("review", "list", "--json", "--checkpoint-db", str(db))
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert len(items) >= 3 and all(i["status"] == "pending" and i["agent"] == "classifier" for i in items)
    first, second, third = items[:3]
    assert first["reason"].startswith("confidence ") and "ticket_id" in first["inputs"] and first["age_s"] >= 0

    bad = agentdeck(
        "review", "approve", str(second["id"]), "--output", '{"category": "weather"}', "--checkpoint-db", str(db)
    )
    assert bad.returncode == 2 and bad.stderr.startswith("agentdeck: the edited output does not fit")
    assert "Traceback" not in bad.stderr
    not_json = agentdeck("review", "approve", str(second["id"]), "--output", "{oops", "--checkpoint-db", str(db))
    assert not_json.returncode == 2 and "--output is not valid JSON" in not_json.stderr
    missing = agentdeck("review", "reject", "999", "--reason", "x", "--checkpoint-db", str(db))
    assert missing.returncode == 2 and missing.stderr.strip() == (
        "agentdeck: no review item 999: `agentdeck review list` shows the pending ones"
    )

    ok = agentdeck("review", "approve", str(first["id"]), "--checkpoint-db", str(db))
    assert ok.returncode == 0, ok.stderr
    edited = {**second["proposed"], "priority": "urgent" if second["proposed"]["priority"] != "urgent" else "low"}
    ok = agentdeck(
        "review",
        "approve",
        str(second["id"]),
        "--output",
        json.dumps(edited),
        "--by",
        "Mei",
        "--checkpoint-db",
        str(db),
    )
    assert ok.returncode == 0 and "edited by Mei" in ok.stdout
    ok = agentdeck(
        "review", "reject", str(third["id"]), "--reason", "duplicate", "--by", "Liam", "--checkpoint-db", str(db)
    )
    assert ok.returncode == 0 and "rejected by Liam" in ok.stdout
    again = agentdeck("review", "reject", str(third["id"]), "--reason", "twice", "--checkpoint-db", str(db))
    assert again.returncode == 2 and "already rejected by Liam" in again.stderr

    everything = json.loads(agentdeck("review", "list", "--all", "--json", "--checkpoint-db", str(db)).stdout)
    by_id = {i["id"]: i for i in everything}
    assert by_id[first["id"]]["decided_by"] == getpass.getuser() and by_id[first["id"]]["decided_ns"]
    assert by_id[second["id"]]["output"] == edited and by_id[second["id"]]["status"] == "edited"

    agentdeck("run", "support_mcp", "--tasks", TASKS, "--latency-scale", "0", "--no-export", "--checkpoint-db", str(db))
    with Ledger(db) as ledger:
        rejected = ledger.task(third["task_id"])
        assert rejected is not None and (rejected.outcome, rejected.detail) == ("dead_letter", "classifier: rejected")
        for item in (first, second):
            record = ledger.task(item["task_id"])
            assert record is not None and record.outcome in ("success", "incomplete", "dead_letter")
    pending = json.loads(agentdeck("review", "list", "--json", "--checkpoint-db", str(db)).stdout)
    assert {i["id"] for i in pending} == {i["id"] for i in items[3:]}
    applied = json.loads(agentdeck("review", "list", "--all", "--json", "--checkpoint-db", str(db)).stdout)
    assert all(i["applied"] for i in applied if i["id"] in (first["id"], second["id"], third["id"]))
