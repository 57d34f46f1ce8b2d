"""In a real Chromium: with the Alerts page open on the demo's data, a task that breaches its budget
arrives and joins the rule's one alert without a reload (worst first: its link comes first); its
trace link opens the trace. One card per rule and scope, never one per task."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TASK = "e" * 32


def test_a_new_alert_appears_live_and_links_to_its_trace(
    browser: Any, dashboard_url: str, sample_collector: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{dashboard_url}/alerts")
        expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
        expect(page.get_by_text("task-over-budget").first).to_be_visible()  # the sample data's alerts
        expect(page.get_by_role("link", name=f"Trace {TASK[:8]}")).to_have_count(0)
        banner = page.locator(".st-key-alert_banner")
        expect(banner).to_contain_text("alert(s) firing")
        expect(banner.get_by_role("link", name="Open Alerts")).to_be_visible()

        post_task(sample_collector, over_budget_task(TASK))  # the page stays open, no reload
        alert = wait_for_alert(sample_collector, TASK)
        card = page.locator(f".st-key-alert_{alert['id']}")
        expect(card.get_by_role("link", name=f"Trace {TASK[:8]}")).to_be_visible(timeout=45_000)
        expect(card).to_contain_text(re.compile(r"task-over-budget · critical · firing · \d+ tasks?"))
        # the alert's value is its worst task's, this one's 5x
        expect(card).to_contain_text(re.compile(r"Value 5\.00\u00d7 (>=|≥) threshold 1\.00\u00d7"))  # markdown shows ≥
        expect(card.get_by_role("link", name="Replay")).to_have_attribute(
            "href", re.compile(f"replay\\?trace_id={TASK}")
        )
        # one card per rule and scope: the sample data's over-budget tasks share one card
        cards = page.locator("[class*='st-key-alert_']:not(.st-key-alert_banner)").filter(has_text="task-over-budget")
        expect(cards).to_have_count(1)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "alerts-page.png"), full_page=True)
        page.get_by_test_id("stPlotlyChart").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "alerts-burn-down.png"), full_page=True)

        card.get_by_role("link", name=f"Trace {TASK[:8]}").click()
        expect(page).to_have_url(f"{dashboard_url}/traces?trace_id={TASK}")
        expect(page.get_by_text(TASK).first).to_be_visible()
        expect(page.get_by_text("invoke_agent researcher").first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "alerts-trace-link.png"), full_page=True)
    finally:
        page.close()


@pytest.fixture
def own_dashboard(tmp_path: Path) -> Any:
    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer
    from tests.conftest import streamlit_server

    with CollectorServer(CollectorConfig(db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0)) as server:
        post_task(server.url, over_budget_task(TASK))
        wait_for_alert(server.url, TASK)
        with streamlit_server({"AGENTDECK_COLLECTOR_URL": server.url}, tmp_path / "streamlit.log") as url:
            yield url


def test_acknowledging_takes_the_alert_off_the_count_and_the_banner_at_once(
    browser: Any, own_dashboard: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(f"{own_dashboard}/alerts")
        expect(page.get_by_role("heading", name="Firing now: 1")).to_be_visible()
        banner = page.locator(".st-key-alert_banner")
        expect(banner).to_contain_text("1 alert(s) firing, 1 critical")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("heading", name="Firing now: 0")).to_be_visible()
        expect(banner).to_have_count(0)  # no waiting for the banner's next refresh
        card = page.locator("[class*='st-key-alert_']").filter(has_text="task-over-budget")
        expect(card).to_contain_text("acknowledged")  # still listed, marked
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "alerts-acknowledged.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()
