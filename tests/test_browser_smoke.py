"""The newcomer's first look, in a real Chromium: the dashboard on the sample data shows traces.

Overview has numbers, Traces lists the sample tasks, and a deep link opens one trace's waterfall
and span tree with its agents. Every page is screenshotted to test-artifacts/ and must be free of
Streamlit exception boxes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def failed_triage_trace(collector: str) -> str:
    body = httpx.get(
        f"{collector}/api/query/traces",
        params={"workflow": "triage", "status": "error", "limit": 1, "start_ns": 0},
        timeout=10,
    ).json()
    assert body["rows"], "the sample data must hold failed triage tasks"
    return str(body["rows"][0][body["columns"].index("trace_id")])


def no_exceptions(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_dashboard_shows_the_sample_traces(
    browser: Any, dashboard_url: str, sample_collector: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(dashboard_url)
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
        tasks = page.get_by_test_id("stMetric").filter(has_text="Tasks").get_by_test_id("stMetricValue")
        expect(tasks).to_have_text(re.compile(r"^[1-9][0-9,]*$"))
        expect(page.get_by_test_id("stEChartsChart").first.locator("canvas")).to_be_visible()  # the Overview's charts
        no_exceptions(page)
        page.screenshot(path=str(artifacts_dir / "smoke-overview.png"), full_page=True)

        page.get_by_test_id("stSidebarNav").get_by_text("Traces").click()
        expect(page.get_by_text("Traces 1 to")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        no_exceptions(page)
        page.screenshot(path=str(artifacts_dir / "smoke-traces.png"), full_page=True)

        trace_id = failed_triage_trace(sample_collector)
        page.goto(f"{dashboard_url}/?trace_id={trace_id}")
        expect(page.get_by_text(trace_id).first).to_be_visible()
        expect(page.get_by_text("Waterfall")).to_be_visible()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        expect(page.get_by_text("invoke_agent classifier").first).to_be_visible()
        no_exceptions(page)
        page.screenshot(path=str(artifacts_dir / "smoke-trace.png"), full_page=True)
    finally:
        page.close()
