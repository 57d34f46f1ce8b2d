"""A user's own workflow (examples/expense_approval) run through `agentdeck run MODULE:ATTR` against a
real collector: the threads, one of them dead-lettered by the weak triager prompt, for the Replay tests."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentdeck.cli.replay_seed import wait_for_traces
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer

REPO = Path(__file__).resolve().parents[2]
REF = "expenses.workflow:WORKFLOW"
FIXED = (
    "File this expense claim by {employee}: {description} (${amount_usd}). Give its category and amount."
    " Choose the category from the allowed list."
)


@dataclass(frozen=True)
class UserRun:
    collector_url: str
    checkpoint_db: Path
    project: Path
    failed_thread: str
    failed_trace: str


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserRun]:
    tmp = tmp_path_factory.mktemp("user-workflow")
    project = Path(shutil.copytree(REPO / "examples" / "expense_approval", tmp / "expense_approval"))
    db = tmp / "checkpoints.sqlite"
    with CollectorServer(CollectorConfig(db_path=tmp / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        run = ["run", REF, "--tasks-file", "tasks.jsonl", "--checkpoint-db", str(db), "--collector-url", server.url]
        run += ["--latency-scale", "0"]
        ran = subprocess.run(
            [sys.executable, "-c", "import sys; from agentdeck.cli.main import main; sys.exit(main())", *run],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ran.returncode == 0, ran.stderr
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT thread_id, trace_id, outcome FROM agentdeck_tasks ORDER BY task_id").fetchall()
        assert wait_for_traces(server.url, [r[1] for r in rows])
        thread, trace, _ = next(r for r in rows if r[2] == "dead_letter")
        yield UserRun(server.url, db, project, thread, trace)
