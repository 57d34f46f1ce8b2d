"""In a real Chromium on the demo's sample data (six workflows, many agents): no chart draws more than
8 series plus "other", legends are whole, "Focus on agent" narrows the table as well as the charts.
Screenshots: test-artifacts/charts-*.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SERIES = re.compile(r": (\d+) series: ")


def series_counts(page: Any) -> dict[str, int]:
    """Each time-series chart's title and how many series it draws (from its accessible description)."""
    out = {}
    for chart in page.get_by_test_id("stEChartsChart").all():
        label = chart.get_attribute("aria-label") or ""
        m = SERIES.search(label)
        if m:
            out[label.split(":")[0]] = int(m.group(1))
    return out


def test_overview_and_costs_fold_many_agents_into_other(browser: Any, dashboard_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    try:
        page.goto(dashboard_url + "/")
        charts = page.get_by_test_id("stEChartsChart")
        expect(charts).to_have_count(2)
        expect(charts.nth(1)).to_have_attribute("aria-label", re.compile(r"Spend by agent: 9 series: .*, other$"))
        assert all(n <= 9 for n in series_counts(page).values())
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "charts-overview.png"), full_page=True)

        page.goto(dashboard_url + "/costs?cost_by=agent")
        spend = page.get_by_test_id("stEChartsChart").first
        expect(spend).to_have_attribute("aria-label", re.compile(r"Spend by agent: 9 series: .*, other$"))
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "charts-costs.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()


def test_focus_on_agent_narrows_the_table_and_the_charts(browser: Any, dashboard_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    try:
        page.goto(dashboard_url + "/agents")
        grid = page.get_by_test_id("stDataFrame").first.locator("[aria-rowcount]").first
        expect(grid).to_have_attribute("aria-rowcount", re.compile(r"^(1[0-9]|[2-9][0-9])$"))  # many agents (+ header)
        page.screenshot(path=str(artifacts_dir / "charts-agents-all.png"), full_page=True)
        page.get_by_test_id("stSelectbox").filter(has_text="Focus on agent").click()
        page.get_by_role("option", name="classifier", exact=True).click()
        expect(page).to_have_url(re.compile(r"agent=classifier"))
        expect(grid).to_have_attribute("aria-rowcount", "2")  # the header and the classifier's row
        for chart in page.get_by_test_id("stEChartsChart").all():
            expect(chart).to_have_attribute("aria-label", re.compile(r"· classifier: 1 series: classifier$"))
        expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
        page.screenshot(path=str(artifacts_dir / "charts-agents-focus.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()
