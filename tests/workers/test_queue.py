"""`agentdeck run --postgres` and `agentdeck worker`: enqueue, wait, run once, and each bad input's message."""

from __future__ import annotations

import asyncio
import json
import socket
import textwrap
from pathlib import Path

import psycopg
import pytest
from worker_helpers import jobs, outcomes, wait_for, workers

from agentdeck.cli.main import main
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.replay.history import checkpoint_tree
from agentdeck.engine.runner import EngineOptions
from agentdeck.engine.workers.queue import QUEUE, TASK_NAME, enqueue, make_app, prepare_schema
from agentdeck.engine.workers.tasks import task_specs

RUN = ["run", "triage", "--tasks", "5", "--seed", "3", "--latency-scale", "0.05", "--no-export"]


def test_enqueue_twice_wait_and_run_once(postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*RUN, "--postgres", postgres_url]) == 0
    assert "queued 5 tasks of triage" in capsys.readouterr().err
    assert main([*RUN, "--postgres", postgres_url]) == 0  # the same task ids again
    assert "queued 0 tasks of triage" in capsys.readouterr().err.replace("; 5 already queued", "")
    assert len(jobs(postgres_url)) == 5
    with workers(postgres_url, tmp_path, 2, concurrency=2):
        assert main([*RUN, "--postgres", postgres_url, "--wait"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 tasks (") and "$" in out  # the same summary line as a local run
    ids = [f"triage-s3-{i:05d}" for i in range(5)]
    assert set(outcomes(postgres_url, ids)) == set(ids)
    for task_id in ids:  # each ran once: one input checkpoint, one run, no branch
        history = checkpoint_tree(postgres_url, task_id)
        assert [c.source for c in history.checkpoints.values()].count("input") == 1
        assert len(history.runs()) == 1
    assert [status for _, _, status, _ in jobs(postgres_url)] == ["succeeded"] * 5
    # queued again once done: nothing is queued, nothing runs
    assert main([*RUN, "--postgres", postgres_url, "--wait"]) == 0
    captured = capsys.readouterr()
    assert "5 already done" in captured.err and "5 already done in this checkpoint file" in captured.out
    assert len(jobs(postgres_url)) == 5
    # the replay commands read the same PostgreSQL, also through the old --checkpoint-db spelling
    assert main(["checkpoints", ids[0], "--postgres", postgres_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thread_id"] == ids[0]
    assert main(["checkpoints", ids[0], "--checkpoint-db", postgres_url]) == 0


def test_env_var_is_the_postgres_setting(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTDECK_POSTGRES_URL", postgres_url)
    assert main(RUN) == 0
    assert "queued 5 tasks" in capsys.readouterr().err
    assert len(jobs(postgres_url)) == 5


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres:secret@127.0.0.1:{port}/postgres"


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--no-export", "--postgres"],
        [*RUN, "--postgres"],
        [*RUN, "--checkpoint-db"],  # a local run keeping its records there
        ["checkpoints", "triage-s0-00000", "--postgres"],
        ["replay", "triage-s0-00000", "--checkpoint-db"],
    ],
)
def test_unreachable_postgres(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    url = _closed_port_url()
    assert main([*argv, url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentdeck: cannot reach PostgreSQL at postgresql://postgres:***@127.0.0.1")
    assert "secret" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["worker"], RUN, ["checkpoints", "x"], ["dashboard"]])
def test_not_a_postgres_url(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--postgres", "localhost:5432"]) == 2
    assert "wants a postgresql://USER@HOST:PORT/DB URL, got 'localhost:5432'" in capsys.readouterr().err


def _user_workflow(folder: Path) -> None:
    folder.mkdir()
    (folder / "team_flows.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import replace
            from agentdeck.engine.workflows import triage
            WORKFLOW = replace(triage.WORKFLOW, name="team_triage")
            """
        )
    )


def test_user_workflow_runs_where_it_imports_and_dead_letters_where_not(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    _user_workflow(code)
    monkeypatch.syspath_prepend(str(code))  # the enqueuing side can import it
    options = EngineOptions(seed=1, latency_scale=0.05)
    specs = task_specs("team_flows:WORKFLOW", 2, options)
    assert [s.task_id for s in specs] == ["team_triage-s1-00000", "team_triage-s1-00001"]
    enqueue(postgres_url, specs[:1])
    with workers(postgres_url, tmp_path, 1, cwd=code):  # a worker that can import it runs it
        wait_for("the task to end", lambda: len(outcomes(postgres_url, [specs[0].task_id])) == 1)
    ran = outcomes(postgres_url, [specs[0].task_id])[specs[0].task_id]
    assert ran.workflow == "team_triage" and ran.trace_id and "cannot load" not in ran.detail  # it ran

    enqueue(postgres_url, specs[1:])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with workers(postgres_url, tmp_path, 1, cwd=elsewhere):  # one that cannot: a dead letter, once
        wait_for("the task to end", lambda: len(outcomes(postgres_url, [specs[1].task_id])) == 1)
        wait_for("its job to close", lambda: jobs(postgres_url)[-1][2] != "doing")
    record = outcomes(postgres_url, [specs[1].task_id])[specs[1].task_id]
    assert record.outcome == "dead_letter"
    assert "cannot load workflow 'team_flows:WORKFLOW'" in record.detail and "team_flows" in record.detail
    with Ledger(postgres_url) as ledger:
        [letter] = ledger.dead_letters(specs[1].task_id)
    assert letter.error_type == "WorkflowNotLoadable"
    assert json.loads(letter.failing_input)["workflow"] == "team_flows:WORKFLOW"
    assert jobs(postgres_url)[-1][2:] == ("succeeded", 1)  # one attempt that ended it, not a retry loop


def _old_queue_with_a_job(url: str) -> None:
    """A database an older agentdeck set up: procrastinate's tables without agentdeck's version stamp,
    one task waiting in them."""
    from procrastinate.schema import SchemaManager

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SchemaManager.get_schema())

    async def defer() -> None:
        app = make_app(url)
        async with app.open_async():
            spec = task_specs("triage", 1, EngineOptions(seed=9, latency_scale=0.05))[0]
            await app.configure_task(TASK_NAME, queue=QUEUE, lock=spec.task_id).defer_async(**spec.payload())

    asyncio.run(defer())


def test_older_schema_is_refused_then_upgraded_keeping_the_queue(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_queue_with_a_job(postgres_url)
    for argv in (["worker", "--no-export"], RUN):
        assert main([*argv, "--postgres", postgres_url]) == 2
        err = capsys.readouterr().err
        assert err.startswith("agentdeck: the queue in PostgreSQL at") and "older than this agentdeck" in err
        assert "--upgrade-schema" in err and "queued tasks are kept" in err
    assert [(lock, status) for _, lock, status, _ in jobs(postgres_url)] == [("triage-s9-00000", "todo")]
    assert main(["worker", "--postgres", postgres_url, "--upgrade-schema"]) == 0
    prepare_schema(postgres_url)  # now accepted
    with workers(postgres_url, tmp_path, 1):  # and the task queued before the upgrade runs
        wait_for("the old task to end", lambda: len(outcomes(postgres_url, ["triage-s9-00000"])) == 1)


def test_checkpoint_db_url_runs_here_with_every_record_there(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old spelling, `run --checkpoint-db postgresql://...`, still runs the tasks in this process,
    now with the ledger in that PostgreSQL too (it needed a SQLite dead-letter file before)."""
    assert main([*RUN, "--checkpoint-db", postgres_url]) == 0
    assert capsys.readouterr().out.startswith("5 tasks (")
    ids = [f"triage-s3-{i:05d}" for i in range(5)]
    assert set(outcomes(postgres_url, ids)) == set(ids)
    assert checkpoint_tree(postgres_url, ids[0]).checkpoints
    assert main([*RUN, "--checkpoint-db", postgres_url]) == 0  # finished tasks are not run again
    assert "5 already done" in capsys.readouterr().out
