"""`agentdeck dashboard --workflows PATH` in a real Chromium: the Replay page opens a thread of the user's
own workflow (not importable from where the dashboard runs), and the fixed prompt's replay succeeds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.cli.launch import wait_until_ok
from tests.conftest import free_port
from tests.dashboard.user_workflow_env import FIXED, UserRun, user_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["user_run"]
CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"


@pytest.fixture(scope="module")
def dashboard(user_run: UserRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard as a user starts it, from a folder where the workflow's module does not import."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")}
    env.update(AGENTDECK_CHECKPOINT_DB=str(user_run.checkpoint_db), AGENTDECK_DASHBOARD_REFRESH_S="0")
    workflow_file = user_run.project / "expenses" / "workflow.py"
    cmd = [sys.executable, "-c", CONSOLE_SCRIPT, "dashboard", "--port", str(port), "--workflows", str(workflow_file)]
    log = cwd / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--collector-url", user_run.collector_url], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ok(f"{url}/_stcore/health", 60, is_alive=lambda: proc.poll() is None):
            pytest.fail(f"agentdeck dashboard did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_replay_a_thread_of_your_own_workflow(
    browser: Any, dashboard: str, user_run: UserRun, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(f"{dashboard}/replay?trace_id={user_run.failed_trace}")
        expect(page.get_by_role("heading", name="Replay")).to_be_visible()
        expect(page.get_by_text(f"Task {user_run.failed_thread}")).to_be_visible()
        prompt = page.get_by_label("Prompt: triager")
        expect(prompt).to_have_value(re.compile(r"^File this expense claim"))
        page.screenshot(path=str(artifacts_dir / "replay-own-workflow-1.png"), full_page=True)
        prompt.fill(FIXED)
        prompt.press("Control+Enter")
        page.get_by_role("button", name="Run replay from this checkpoint").click()
        outcome = page.get_by_test_id("stMetric").filter(has_text="Outcome")
        expect(outcome.get_by_test_id("stMetricValue")).to_have_text("success", timeout=60_000)
        expect(outcome).to_contain_text("was dead_letter")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "replay-own-workflow-2.png"), full_page=True)
    finally:
        page.close()
