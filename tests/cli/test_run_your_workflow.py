"""`agentdeck run MODULE:ATTR` on the example under examples/expense_approval, as a user runs it: a
subprocess in the example's folder, a real collector, then `agentdeck replay` of a failed claim with
a fixed prompt, and every mistake answered with `agentdeck: ...` and exit 2."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.cli.replay_seed import wait_for_traces
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard import data
from agentdeck.refs import SPAN_ATTRIBUTE

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "expense_approval"
REF = "expenses.workflow:WORKFLOW"
CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"
FIXED = (
    "File this expense claim by {employee}: {description} (${amount_usd}). Give its category and amount."
    " Choose the category from the allowed list."
)


def agentdeck(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """What the `agentdeck` console script runs, in `cwd` (not the repository)."""
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def tasks_in(db: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT task_id, outcome, trace_id FROM agentdeck_tasks").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example project (runs write nothing into the repository)."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "expense_approval"))


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("collector") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        yield server.url


@pytest.mark.slow
def test_example_runs_traced_resumes_and_replays_from_the_thread_alone(project: Path, collector: str) -> None:
    db = project / "checkpoints.sqlite"
    common = ["--checkpoint-db", str(db), "--collector-url", collector, "--latency-scale", "0"]
    first = agentdeck(project, "run", REF, "--tasks-file", "tasks.jsonl", *common)
    assert first.returncode == 0, first.stderr
    assert "12 tasks" in first.stdout and "expenses [" in first.stderr  # the summary and the progress bar
    done = tasks_in(db)
    assert sorted(done) == [f"exp-{n:03d}" for n in range(1, 13)]  # the `id` field is the task id
    failed = sorted(t for t, (outcome, _) in done.items() if outcome == "dead_letter")
    assert failed, "the weak triager prompt dead-letters some claims"

    trace_ids = [trace for _, trace in done.values()]
    assert wait_for_traces(collector, trace_ids)
    settings = data.Settings(collector_url=collector, token=None, refresh_s=0, timeout_s=15)
    frame = data.fetch_table("trace", {"trace_id": done[failed[0]][1]}, settings).to_pandas()
    root = frame[frame["parent_span_id"].isna()].iloc[0]
    assert json.loads(root["attributes"])[SPAN_ATTRIBUTE] == REF
    with sqlite3.connect(db) as conn:
        metadata = conn.execute("SELECT metadata FROM checkpoints WHERE thread_id = ?", (failed[0],)).fetchone()[0]
    assert json.loads(metadata)["agentdeck_workflow_ref"] == REF

    again = agentdeck(project, "run", REF, "--tasks-file", "tasks.jsonl", *common)
    assert again.returncode == 0, again.stderr
    assert "12 already done in this checkpoint file, not re-run" in again.stdout

    # replay names only the thread: the workflow's code is found from the reference its checkpoints hold
    replayed = agentdeck(
        project,
        "replay",
        failed[0],
        "--prompt",
        f"triager={FIXED}",
        "--checkpoint-db",
        str(db),
        "--collector-url",
        collector,
        "--json",
    )
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["original_outcome"] == "dead_letter" and report["outcome"] == "success"
    assert report["steps"][0]["node"] == "triager" and report["steps"][0]["replay"]["status"] == "ok"


def test_bad_lines_are_named_and_the_others_still_run(project: Path) -> None:
    (project / "mixed.jsonl").write_text(
        '{"id": "a", "employee": "Ana", "description": "Taxi", "amount_usd": 30}\n'
        "{not json\n"
        "\n"
        '{"id": "b", "employee": "Mei", "descripton": "Lunch", "amount_usd": 20}\n'
        '["a", "list"]\n'
        '{"employee": "Jonas", "description": "Monitor", "amount_usd": 300}\n'
    )
    db = project / "c.sqlite"
    run = agentdeck(project, "run", REF, "--tasks-file", "mixed.jsonl", "--checkpoint-db", str(db), "--no-export")
    assert run.returncode == 2
    assert "agentdeck: mixed.jsonl line 2: not JSON" in run.stderr
    assert "line 4: field 'descripton' is not in the workflow's state" in run.stderr
    assert "line 5: a JSON list, not an object" in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(tasks_in(db)) == ["6", "a"]  # no `id`: the line number is the task id


def test_strict_runs_nothing_when_a_line_is_bad(project: Path) -> None:
    (project / "bad.csv").write_text("id,employee,description,amount_usd\nx1,Ana,Taxi,30\nx2,Mei,Lunch\n")
    db = project / "c.sqlite"
    run = agentdeck(project, "run", REF, "--tasks-file", "bad.csv", "--checkpoint-db", str(db), "--strict")
    assert run.returncode == 2
    assert "bad.csv line 3: 3 values for 4 columns" in run.stderr and "nothing ran (--strict)" in run.stderr
    assert not db.exists()


def test_csv_rows_run_with_their_ids(project: Path) -> None:
    (project / "t.csv").write_text("employee,description,amount_usd\nAna,Taxi to the office,30\nMei,Team lunch,20\n")
    db = project / "c.sqlite"
    run = agentdeck(project, "run", REF, "--tasks-file", "t.csv", "--checkpoint-db", str(db), "--no-export")
    assert run.returncode == 0, run.stderr
    assert sorted(tasks_in(db)) == ["2", "3"]  # the header is line 1


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("expenses.nowhere:WORKFLOW", "no module named 'expenses.nowhere'"),
        ("expenses.workflow:NOTHING", "has no attribute 'NOTHING'"),
        ("expenses.workflow:Filing", "is the class Filing, not a workflow"),
        ("expenses.workflow:LIMITS_USD", "is a dict, not a workflow"),
        ("expenses/workflow.py:after_policy", "is a function, not a workflow"),
        ("no_such_example", "unknown workflow 'no_such_example'"),
    ],
)
def test_a_reference_that_is_not_a_workflow_says_so(project: Path, ref: str, says: str) -> None:
    db = project / "c.sqlite"
    run = agentdeck(project, "run", ref, "--tasks-file", "tasks.jsonl", "--checkpoint-db", str(db))
    assert run.returncode == 2
    assert run.stderr.startswith("agentdeck: ") and says in run.stderr and "Traceback" not in run.stderr
    assert not db.exists()


def test_an_id_another_workflow_holds_is_refused_before_anything_runs(project: Path) -> None:
    db = project / "c.sqlite"
    assert (
        agentdeck(project, "run", "triage", "--tasks", "1", "--checkpoint-db", str(db), "--no-export").returncode == 0
    )
    (project / "clash.jsonl").write_text(
        '{"id": "triage-s0-00000", "employee": "Ana", "description": "Taxi", "amount_usd": 30}\n'
    )
    before = tasks_in(db)
    run = agentdeck(project, "run", REF, "--tasks-file", "clash.jsonl", "--checkpoint-db", str(db), "--no-export")
    assert run.returncode == 2 and "already a task of workflow triage" in run.stderr
    assert tasks_in(db) == before


def test_prompts_are_named_by_agent(project: Path) -> None:
    db = project / "c.sqlite"
    run = agentdeck(
        project, "run", REF, "--tasks-file", "tasks.jsonl", "--checkpoint-db", str(db), "--prompt", "nobody=hi"
    )
    assert run.returncode == 2 and "has no agent 'nobody'; choose one of: triager, policy, controller" in run.stderr
    fixed = agentdeck(
        project, "run", REF, "--tasks-file", "tasks.jsonl", "--checkpoint-db", str(db), "--no-export",
        "--latency-scale", "0", "--prompt", f"triager={FIXED}",
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    assert set(o for o, _ in tasks_in(db).values()) == {"success"}  # the fix cures every claim


def test_a_saved_prompt_version_runs_when_asked_for_by_name(project: Path) -> None:
    from agentdeck.engine.prompts import PromptStore

    db = project / "c.sqlite"
    with PromptStore(db) as store:  # what Replay's "save as a new version" does, in the checkpoint file
        saved = store.save(f"{project}/expenses/workflow.py:WORKFLOW", "triager", FIXED, author="ana", reason="fix")
    assert saved.version == "v2" and saved.workflow == "expenses"  # keyed by the workflow's name
    args = ["--tasks-file", "tasks.jsonl", "--checkpoint-db", str(db), "--no-export", "--latency-scale", "0"]
    run = agentdeck(project, "run", REF, *args, "--prompt-version", "triager=v2")
    assert run.returncode == 0, run.stderr
    assert {o for o, _ in tasks_in(db).values()} == {"success"}
    missing = agentdeck(project, "run", REF, *args, "--prompt-version", "triager=v9")
    assert missing.returncode == 2 and "triager has no prompt version 'v9'; choose one of: v1, v2" in missing.stderr
