"""The trace page in a real Chromium at 1440 px (issue 13 items 7 and 8): a failed trace opens on its
failed step with the error and the failing LLM call's whole conversation side by side (system prompt
sent apart as `gen_ai.system_instructions`, the user turn, an answer longer than any old clip),
attributes read as JSON, a link's `span_id` picks the span, and tables keep their name column in view.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine import semconv as sc
from tests.conftest import streamlit_server
from tests.dashboard.otlp_seed import MS, TraceBuilder, post

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAILED: Final = "6" * 32
CALL_SPAN: Final = FAILED[:8] + f"{3:08x}"  # the classifier's LLM call
SYSTEM: Final = "SYSTEM-PROMPT: you classify support tickets into billing, bug or other."
USER: Final = "USER-TURN: my invoice for March is wrong"
ANSWER: Final = "ANSWER-START " + "the category is probably billing, " * 1000 + "ANSWER-END"  # ~34,000 characters
VALIDATION: Final = "1 validation error for Classification: category must be one of billing, bug, other"


def failed_trace() -> TraceBuilder:
    t = TraceBuilder(FAILED, time.time_ns() - 60_000 * MS)
    w = t.workflow("support_triage", 1000, "failed", error="classifier gave up")
    a = t.agent(w, "classifier", 0, 500, error=VALIDATION, error_type="ValidationError")
    t.span(
        "chat claude-haiku-4-5",
        a,
        10,
        400,
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: "claude-haiku-4-5",
            sc.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": SYSTEM}]),
            sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [{"type": "text", "content": USER}]}]),
            sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}]
            ),
            sc.GEN_AI_USAGE_INPUT_TOKENS: 120, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 9000,
        },
    )  # fmt: skip
    t.agent(w, "responder", 500, 100)
    return t


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("trace-detail")
    with CollectorServer(CollectorConfig(db_path=tmp / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        post(server.url, [failed_trace()])
        env = {"AGENTDECK_COLLECTOR_URL": server.url, "AGENTDECK_DASHBOARD_REFRESH_S": "0"}
        with streamlit_server(env, tmp / "streamlit.log") as url:
            yield url


def _open(browser: Any, url: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1600})
    page.goto(url)
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()
    return page


def test_a_failed_trace_opens_on_its_error_beside_the_whole_conversation(
    browser: Any, dashboard: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = _open(browser, f"{dashboard}/?trace_id={FAILED}")
    try:
        panel = page.get_by_test_id("stColumn").filter(has=page.get_by_role("tab", name="Messages"))
        expect(panel.get_by_role("heading", name="invoke_agent classifier")).to_be_visible()
        expect(panel.get_by_test_id("stAlertContentError")).to_contain_text(VALIDATION)
        messages = panel.get_by_role("tabpanel", name="Messages")
        expect(messages).to_contain_text("chat claude-haiku-4-5")  # the step's LLM call, named
        expect(messages.get_by_text(SYSTEM)).to_be_visible()
        expect(messages.get_by_text(USER)).to_be_visible()
        answer = messages.get_by_text("ANSWER-START")
        expect(answer).to_be_visible()
        assert answer.text_content().strip() == ANSWER  # the whole answer, unclipped
        page.screenshot(path=str(artifacts_dir / "trace-failed-step.png"), full_page=True)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()


def test_a_span_id_link_picks_the_span_and_its_attributes_read_as_json(
    browser: Any, dashboard: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = _open(browser, f"{dashboard}/traces?trace_id={FAILED}&span_id={CALL_SPAN}")
    try:
        panel = page.get_by_test_id("stColumn").filter(has=page.get_by_role("tab", name="Messages"))
        expect(panel.get_by_role("heading", name="chat claude-haiku-4-5")).to_be_visible()
        panel.get_by_role("tab", name="Attributes").click()
        attributes = panel.get_by_role("tabpanel", name="Attributes").get_by_test_id("stJson").first
        # gen_ai.input.messages is a JSON string on the wire: shown decoded, its keys are keys of the viewer
        expect(attributes.get_by_text("role", exact=True).first).to_be_visible()
        expect(attributes.get_by_text("parts", exact=True).first).to_be_visible()
        assert '\\"role\\"' not in attributes.inner_text()
        page.screenshot(path=str(artifacts_dir / "trace-span-link.png"), full_page=True)
    finally:
        page.close()


def _scrolled_columns(grid: Any, last_column: str) -> set[str]:
    """The column headers the table shows once scrolled all the way to the right (its last one in view)."""
    from playwright.sync_api import expect

    grid.locator(".dvn-scroller").evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    expect(grid.locator("th[aria-colindex]").filter(has_text=last_column).first).to_be_attached()
    return set(grid.locator("th[aria-colindex]").all_inner_texts())


@pytest.mark.parametrize(
    ("path", "name_column", "next_column", "last_column"),
    [("/traces", "Workflow", "Started (UTC)", "Trace"), (f"/?trace_id={FAILED}", "Span", "Status", "Model")],
    ids=["traces", "span-tree"],
)
def test_tables_keep_their_name_column_when_scrolled(
    browser: Any, dashboard: str, artifacts_dir: Path, path: str, name_column: str, next_column: str, last_column: str
) -> None:
    from playwright.sync_api import expect

    page = _open(browser, dashboard + path)
    try:
        grid = page.get_by_test_id("stDataFrame").first
        expect(grid.locator("th[aria-colindex]").first).to_be_attached()
        content = page.get_by_test_id("stMainBlockContainer").evaluate(
            "e => { const s = getComputedStyle(e); return e.clientWidth - parseFloat(s.paddingLeft)"
            " - parseFloat(s.paddingRight); }"
        )
        share = 0.95 if name_column == "Workflow" else 0.45  # the span tree shares the row with the span
        assert grid.bounding_box()["width"] >= share * content
        shown = _scrolled_columns(grid, last_column)
        # Scrolled to its last column, the table has moved the columns after the name out of view, not the name.
        assert last_column in shown and next_column not in shown and name_column in shown, shown
        page.screenshot(path=str(artifacts_dir / f"table-scrolled-{path.strip('/').split('?')[0] or 'trace'}.png"))
    finally:
        page.close()
