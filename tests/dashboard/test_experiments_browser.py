"""From failures to proof in a real Chromium: the Traces page's dead-letter filter saved as a dataset,
an experiment run on the Experiments page with the fixed classifier prompt, and its comparison read.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.engine.experiments import ExperimentStore
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.conftest import streamlit_server
from tests.dashboard.replay_env import ReplayEnv, replay_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["replay_env"]


@pytest.fixture(scope="module")
def experiments_dashboard(replay_env: ReplayEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("experiments-dashboard") / "streamlit.log"
    env: dict[str, str | None] = {
        "AGENTDECK_COLLECTOR_URL": replay_env.collector_url,
        "AGENTDECK_CHECKPOINT_DB": str(replay_env.checkpoint_db),
        "AGENTDECK_DASHBOARD_REFRESH_S": "0",
        "AGENTDECK_DASHBOARD_PASSWORD": None,
    }
    with streamlit_server(env, log) as url:
        yield url


def test_a_dataset_from_the_traces_page_runs_as_an_experiment_and_is_compared(
    browser: Any, experiments_dashboard: str, replay_env: ReplayEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    dead = [t for t in replay_env.summary.tasks if t.outcome == "dead_letter"]
    by_classifier = [t for t in dead if t.detail.startswith("classifier")]
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    try:
        page.goto(f"{experiments_dashboard}/traces?status=dead_letter")
        expect(page.get_by_role("heading", name="Traces")).to_be_visible()
        page.get_by_text("Save these traces as a dataset").click()
        page.get_by_label("Dataset name").fill("dead")
        page.get_by_label("Dataset name").press("Enter")
        page.get_by_role("button", name="Save dataset").click()
        expect(page.get_by_text(f"Saved dataset dead v1: {len(dead)} items.")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(artifacts_dir / "experiments-1-dataset.png"), full_page=True)

        page.goto(f"{experiments_dashboard}/experiments")
        expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
        expect(page.get_by_text("No experiment has run this dataset yet.")).to_be_visible()
        prompt = page.get_by_label("Prompt: classifier")
        prompt.fill(CLASSIFIER_PROMPT_FIXED)
        prompt.press("Control+Enter")
        page.get_by_label("Experiment name").fill("classifier-v2")
        page.get_by_label("Experiment name").press("Enter")
        page.get_by_role("button", name="Run experiment").click()

        fixed = page.get_by_test_id("stMetric").filter(has_text="Fixed")
        expect(fixed.get_by_test_id("stMetricValue")).to_have_text(str(len(by_classifier)), timeout=60_000)
        broken = page.get_by_test_id("stMetric").filter(has_text="Broken")
        expect(broken.get_by_test_id("stMetricValue")).to_have_text("0")
        expect(page.get_by_test_id("stMetric").filter(has_text="Cost delta")).to_contain_text("$")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "experiment=classifier-v2" in page.url
        page.screenshot(path=str(artifacts_dir / "experiments-2-comparison.png"), full_page=True)
    finally:
        page.close()
    with ExperimentStore(replay_env.checkpoint_db) as store:
        results = store.results("classifier-v2")
    assert sorted(results) == sorted(t.task_id for t in dead)


def test_a_person_scores_a_trace_from_its_page(
    browser: Any, experiments_dashboard: str, replay_env: ReplayEnv, artifacts_dir: Path
) -> None:
    import httpx
    from playwright.sync_api import expect

    trace_id = replay_env.weak_prompt_failure.trace_id
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    try:
        page.goto(f"{experiments_dashboard}/traces?trace_id={trace_id}")
        page.get_by_text("Scores", exact=True).click()
        expect(page.get_by_text("No score yet.")).to_be_visible()
        page.get_by_text("Bad (thumbs down)").click()
        page.get_by_label("Comment (optional)").fill("picked a category outside the list")
        page.get_by_label("Comment (optional)").press("Enter")
        page.get_by_role("button", name="Save score").click()
        expect(page.get_by_text("Score saved.")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "experiments-3-human-score.png"), full_page=True)
    finally:
        page.close()
    body = httpx.get(f"{replay_env.collector_url}/api/scores", params={"trace_id": trace_id}, timeout=10).json()
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    assert [(r["name"], r["value"], r["source"], r["comment"]) for r in rows] == [
        ("thumbs", 0.0, "human", "picked a category outside the list")
    ]


def test_any_two_traces_side_by_side_from_the_traces_page(
    browser: Any, experiments_dashboard: str, replay_env: ReplayEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    failed = replay_env.weak_prompt_failure
    ok = next(t for t in replay_env.summary.tasks if t.outcome == "success")
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    try:
        page.goto(f"{experiments_dashboard}/traces?trace_id={failed.trace_id}")
        page.get_by_text("Compare with another trace").click()
        page.get_by_label("Other trace id").fill(ok.trace_id)
        page.get_by_label("Other trace id").press("Enter")
        page.get_by_role("button", name="Compare side by side").click()
        expect(page.get_by_role("heading", name="Two traces side by side")).to_be_visible()
        outcomes = page.get_by_test_id("stMetric").filter(has_text="Outcome").get_by_test_id("stMetricValue")
        expect(outcomes).to_have_text(["dead_letter", "success"])
        expect(page.get_by_text("classify · failed → ok · changed")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert f"compare={ok.trace_id}" in page.url
        page.screenshot(path=str(artifacts_dir / "traces-side-by-side.png"), full_page=True)
    finally:
        page.close()
