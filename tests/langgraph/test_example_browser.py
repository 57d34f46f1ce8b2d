"""The LangGraph example's failed ticket fixed in the dashboard, in a real Chromium: open the failed
trace in Replay -> the graph's checkpoint before billing is picked -> fix the billing prompt -> run ->
the replay succeeds and the comparison shows the billing step that changed. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import streamlit_server
from tests.langgraph.conftest import ExampleEnv, example_env
from tests.langgraph.test_example_cli import BILLING_FIXED, GRAPH, failed_task

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["example_env"]


@pytest.fixture(scope="module")
def graph_dashboard(example_env: ExampleEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard started where the example app imports (its folder on PYTHONPATH, its settings set)."""
    log = tmp_path_factory.mktemp("graph-dashboard") / "streamlit.log"
    env: dict[str, str | None] = {
        **{k: v for k, v in example_env.env().items() if k not in ("PATH", "HOME")},
        "AGENTDECK_COLLECTOR_URL": example_env.collector_url,
        "AGENTDECK_DASHBOARD_REFRESH_S": "0",
        "AGENTDECK_DASHBOARD_PASSWORD": None,
        "AGENTDECK_WORKFLOWS": "support_graph",  # the dashboard imports only graphs it was told about
    }
    with streamlit_server(env, log) as url:
        yield url


def test_fix_the_failed_ticket_in_the_dashboard(
    browser: Any, graph_dashboard: str, example_env: ExampleEnv, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    task = failed_task(example_env)
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(f"{graph_dashboard}/replay?trace_id={task['trace_id']}")
        expect(page.get_by_role("heading", name="Replay")).to_be_visible()
        expect(page.get_by_text(GRAPH).first).to_be_visible()
        expect(page.get_by_text("failed").first).to_be_visible()
        picked = page.get_by_role("combobox", name="Replay from checkpoint")
        expect(picked).to_have_value("step 1 · next: billing")  # where the failed step ran from
        prompt = page.get_by_label("Prompt: billing")
        expect(prompt).to_have_value(re.compile(r"^You are the billing agent\. Help the customer"))
        page.screenshot(path=str(artifacts_dir / "graph-replay-1-checkpoint.png"), full_page=True)

        prompt.fill(BILLING_FIXED)
        prompt.press("Control+Enter")
        page.get_by_role("button", name="Run replay from this checkpoint").click()

        outcome = page.get_by_test_id("stMetric").filter(has_text="Outcome")
        expect(outcome.get_by_test_id("stMetricValue")).to_have_text("success", timeout=60_000)
        expect(outcome).to_contain_text("was failed")
        expect(page.get_by_text("billing — output changed")).to_be_visible()
        expect(page.get_by_text('+  "answer": "Invoice INV-1042 was paid twice').first).to_be_visible()
        expect(page.get_by_text("writer — output changed: — not run → ok")).to_be_visible()  # only the replay got there
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "replay=" in page.url
        page.screenshot(path=str(artifacts_dir / "graph-replay-2-comparison.png"), full_page=True)
    finally:
        page.close()
