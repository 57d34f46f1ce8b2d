"""Each page in real Chromium against a real collector: it renders data, not an exception box.

Screenshots land in test-artifacts/pages-*.png for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import streamlit_server
from tests.dashboard.otlp_seed import REFUND_CALL_SPAN, TRIAGE_FAILED, TRIAGE_OK

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def dashboard(seeded_collector: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("pages-log") / "streamlit.log"
    env = {"AGENTDECK_COLLECTOR_URL": seeded_collector, "AGENTDECK_DASHBOARD_REFRESH_S": "0"}
    with streamlit_server(env, log) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "name", "expect_text"),
    [
        ("/", "overview", "Latest failed tasks"),
        ("/traces", "traces", "Traces 1 to 3 of 3"),
        (f"/?trace_id={TRIAGE_FAILED}", "trace", "Span tree"),
        (f"/traces?trace_id={TRIAGE_OK}&span_id={REFUND_CALL_SPAN}", "span", "You are a support agent."),
        ("/agents?agent=responder", "agents", "Failed traces of responder"),
        ("/costs", "costs", "Most expensive tasks"),
        ("/graph?workflow=due_diligence", "graph", "Colour nodes by"),
    ],
)
def test_page_renders_in_chromium(
    browser: Any, dashboard: str, artifacts_dir: Path, path: str, name: str, expect_text: str
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1500, "height": 1900})  # the app scrolls inside: show it all
    try:
        page.goto(dashboard + path)
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
        expect(page.get_by_text(expect_text).first).to_be_visible()
        if name in ("trace", "span"):  # plotly: the waterfall
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
            expect(page.locator(".main-svg").first).to_be_visible()
        if name in ("overview", "agents", "graph", "costs"):  # ECharts: every chart of the page has drawn its canvas
            charts = page.get_by_test_id("stEChartsChart")
            expect(charts).to_have_count({"overview": 2, "agents": 3, "graph": 1, "costs": 2}[name])
            for chart in charts.all():
                expect(chart.locator("canvas")).to_be_visible()
        if name == "graph":  # the drawn graph names its handoffs, the loop included (its accessible description)
            graph = page.get_by_test_id("stEChartsChart")
            expect(graph).to_have_attribute("aria-label", re.compile("writer → researcher: 1 handoffs \\(loop\\)"))
            expect(graph).to_have_attribute("aria-label", re.compile("researcher → writer: 1 handoffs"))
        if name in ("overview", "traces", "agents", "costs"):  # the data grid has drawn its rows
            grid = page.get_by_test_id("data-grid-canvas").first
            expect(grid).to_have_attribute("width", re.compile(r"^[1-9][0-9]{2,}$"))
        page.wait_for_load_state("networkidle")
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / f"pages-{name}.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()


def test_filter_to_failed_tasks_and_open_one(browser: Any, dashboard: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1500, "height": 1900})
    try:
        page.goto(dashboard + "/traces")
        expect(page.get_by_text("Traces 1 to 3 of 3")).to_be_visible()
        page.get_by_test_id("stSelectbox").filter(has_text="Status").click()
        page.get_by_role("option", name="error").click()
        expect(page.get_by_text("Traces 1 to 1 of 1")).to_be_visible()
        assert "status=error" in page.url
        page.get_by_test_id("stSelectbox").filter(has_text="Open a trace").click()
        page.get_by_role("option", name=re.compile("support_triage · failed")).click()
        expect(page.get_by_text("Span tree")).to_be_visible()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        assert f"trace_id={TRIAGE_FAILED}" in page.url
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "pages-open-failed.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()


def test_graph_keeps_the_workflow_in_the_url_when_the_colouring_changes(
    browser: Any, dashboard: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    try:
        page.goto(dashboard + "/graph?workflow=due_diligence")
        expect(page.get_by_test_id("stEChartsChart").locator("canvas")).to_be_visible()
        # one workflow selector: the sidebar's filter, none on the page
        expect(page.get_by_test_id("stSelectbox").filter(has_text="Workflow")).to_have_count(1)
        expect(
            page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Workflow")
        ).to_be_visible()
        page.get_by_test_id("stButtonGroup").get_by_text("success", exact=True).click()
        expect(page).to_have_url(re.compile(r"graph_metric=success"))
        assert "workflow=due_diligence" in page.url
        expect(page.get_by_test_id("stEChartsChart")).to_have_attribute("aria-label", re.compile("coloured by Success"))
        page.get_by_test_id("stButtonGroup").get_by_text("cost", exact=True).click()
        expect(page).to_have_url(re.compile(r"graph_metric=cost"))
        assert "workflow=due_diligence" in page.url
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "pages-graph-cost.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()
