"""The Replay page on a thread of a user's own workflow (examples/expense_approval, run through the CLI
against a real collector): it says what to configure when the code is not importable, finds it through
AGENTDECK_WORKFLOWS (what `agentdeck dashboard --workflows` sets) or an `agentdeck.workflows` entry
point, and then forks and runs the thread with a fixed prompt."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from agentdeck.dashboard.replay import workflows
from tests.dashboard.as_read import as_read
from tests.dashboard.user_workflow_env import FIXED, REF, UserRun, user_run

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
__all__ = ["user_run"]
ENV = ("AGENTDECK_COLLECTOR_URL", "AGENTDECK_CHECKPOINT_DB", "AGENTDECK_DASHBOARD_REFRESH_S", workflows.ENV_VAR)


@pytest.fixture(autouse=True)
def env(user_run: UserRun) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ENV}
    address = config.get_option("server.address")
    os.environ.update(
        AGENTDECK_COLLECTOR_URL=user_run.collector_url,
        AGENTDECK_CHECKPOINT_DB=str(user_run.checkpoint_db),
        AGENTDECK_DASHBOARD_REFRESH_S="0",
    )
    os.environ.pop(workflows.ENV_VAR, None)
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", address)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    for name in [m for m in sys.modules if m == "expenses" or m.startswith("expenses.")]:
        del sys.modules[name]  # the next test starts without the user's code loaded


def open_replay(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("views/replay.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_workflow_the_dashboard_cannot_import_says_what_to_configure(user_run: UserRun) -> None:
    at = open_replay(trace_id=user_run.failed_trace)
    errors = " ".join(e.value for e in at.error)
    assert f"`{REF}`, cannot be imported here" in errors and "no module named 'expenses'" in errors
    assert "--workflows MODULE" in errors and "AGENTDECK_WORKFLOWS" in errors and "agentdeck.workflows" in errors
    assert not any(b.key == "replay_run" for b in at.button)  # nothing to run until it is configured


def test_told_where_it_lives_the_page_forks_and_runs_the_thread(user_run: UserRun) -> None:
    os.environ[workflows.ENV_VAR] = str(user_run.project / "expenses" / "workflow.py")
    at = open_replay(trace_id=user_run.failed_trace)
    assert not at.error, [e.value for e in at.error]
    assert at.text_area(key="replay_prompt_triager").value.startswith("File this expense claim")
    picked = at.selectbox(key="replay_checkpoint")
    assert "next: triager" in picked.format_func(picked.value)
    at.text_area(key="replay_prompt_triager").input(FIXED).run()
    at.button(key="replay_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    outcome = next(m for m in at.metric if m.label == "Outcome")
    assert (as_read(outcome.value), as_read(str(outcome.delta))) == ("success", "was dead_letter")


def test_an_entry_point_finds_a_workflow_whose_module_moved(user_run: UserRun, tmp_path: Path) -> None:
    dist = tmp_path / "site"
    info = dist / "expenses_example-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: expenses-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{workflows.ENTRY_POINT_GROUP}]\nexpenses = {REF}\n")
    sys.path[:0] = [str(dist), str(user_run.project)]
    try:
        assert workflows.resolve("old_name.flows:WORKFLOW", "expenses") == REF
        with pytest.raises(workflows.WorkflowNotFound, match="cannot be imported here"):
            workflows.resolve("old_name.flows:WORKFLOW", "another_workflow")
    finally:
        del sys.path[:2]
