"""The whole Replay journey in a real Chromium: a task the weak classifier prompt dead-lettered ->
Open in Replay -> fix the prompt -> run -> the replay succeeds and the comparison shows the fixed
step and the cost delta. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.conftest import streamlit_server
from tests.dashboard.replay_env import ReplayEnv, replay_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["replay_env"]


@pytest.fixture(scope="module")
def replay_dashboard(replay_env: ReplayEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard process reading the collector and the checkpoint file of `replay_env`."""
    log = tmp_path_factory.mktemp("replay-dashboard") / "streamlit.log"
    env: dict[str, str | None] = {
        "AGENTDECK_COLLECTOR_URL": replay_env.collector_url,
        "AGENTDECK_CHECKPOINT_DB": str(replay_env.checkpoint_db),
        "AGENTDECK_DASHBOARD_REFRESH_S": "0",
        "AGENTDECK_DASHBOARD_PASSWORD": None,
    }
    with streamlit_server(env, log) as url:
        yield url


def test_fix_a_weak_prompt_failure_in_replay(
    browser: Any, replay_dashboard: str, replay_env: ReplayEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    dead = replay_env.weak_prompt_failure
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(f"{replay_dashboard}/?trace_id={dead.trace_id}")  # the failed task's trace
        expect(page.get_by_text(dead.trace_id).first).to_be_visible()
        page.get_by_text("Open in Replay").click()

        expect(page.get_by_role("heading", name="Replay")).to_be_visible()
        expect(page.get_by_text(f"Task {dead.task_id}")).to_be_visible()
        expect(page.get_by_text("dead_letter").first).to_be_visible()
        picked = page.get_by_role("combobox", name="Replay from checkpoint")
        expect(picked).to_have_value(re.compile(r"step \d+ · next: classify"))  # where the failed step ran from
        page.screenshot(path=str(artifacts_dir / "replay-1-history.png"), full_page=True)

        prompt = page.get_by_label("Prompt: classifier")
        expect(prompt).to_have_value(re.compile(r"^Classify this support ticket\."))
        prompt.fill(CLASSIFIER_PROMPT_FIXED)
        prompt.press("Control+Enter")
        page.get_by_role("button", name="Run replay from this checkpoint").click()

        outcome = page.get_by_test_id("stMetric").filter(has_text="Outcome")
        expect(outcome.get_by_test_id("stMetricValue")).to_have_text("success", timeout=60_000)
        expect(outcome).to_contain_text("was dead_letter")
        cost = page.get_by_test_id("stMetric").filter(has_text="Cost")
        expect(cost.get_by_test_id("stMetricDelta")).to_have_text(re.compile(r"^\+\$\d"))
        expect(page.get_by_text("classify — output changed")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "replay=" in page.url
        page.screenshot(path=str(artifacts_dir / "replay-2-comparison.png"), full_page=True)
    finally:
        page.close()


def test_replay_shows_why_the_step_failed_next_to_an_editor_holding_the_whole_prompt(
    browser: Any, replay_dashboard: str, replay_env: ReplayEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    dead = replay_env.weak_prompt_failure
    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    try:
        page.goto(f"{replay_dashboard}/replay?trace_id={dead.trace_id}")
        expect(page.get_by_text(f"Task {dead.task_id}")).to_be_visible()
        why = page.get_by_test_id("stAlertContainer").filter(has_text="Why classifier failed in the original run")
        expect(why).to_be_visible()
        expect(why).to_contain_text("validation")
        message = page.get_by_test_id("stCode").filter(has_text="validation error")
        expect(message.first).to_be_visible()  # the validation error itself, in full
        prompt = page.get_by_label("Prompt: classifier")
        expect(prompt).to_have_value(re.compile(r"^Classify this support ticket\."))
        top, editor = why.bounding_box(), prompt.bounding_box()
        assert top["y"] < editor["y"] < top["y"] + top["height"] + 400  # right above the editor
        # Every prompt editor is tall enough to read its prompt whole: nothing scrolls inside one.
        editors = page.locator("textarea[aria-label^='Prompt: ']")
        expect(editors).to_have_count(len(editors.all()))
        sizes = {
            e.get_attribute("aria-label"): e.evaluate("e => [e.scrollHeight, e.clientHeight]") for e in editors.all()
        }
        assert len(sizes) >= 3 and all(inner <= shown for inner, shown in sizes.values()), sizes
        page.screenshot(path=str(artifacts_dir / "replay-why-it-failed.png"), full_page=True)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        page.close()
