"""Span content is inert in a real Chromium (issue 18 item 6): hostile span, workflow, agent, tool and
event names, status and exception messages, sent through a real collector, render as the text they are.

The "remote" host they point at is a local HTTP server: the test asserts it never got a request (no
image loaded), and that no anchor or image element was made from span text on any page (Markdown links,
bare URLs, HTML, plotly's axis labels). The traces table's own CSV download quotes formula-like text.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.conftest import streamlit_server
from tests.dashboard.hostile_seed import FORMULA_WORKFLOW, HOSTILE, build
from tests.dashboard.otlp_seed import post

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORD_JOINER = "\u2060"  # what the dashboard puts inside URLs so Markdown keeps them text
TOOL_SPAN = HOSTILE[:8] + f"{4:08x}"
LLM_SPAN = HOSTILE[:8] + f"{3:08x}"


class RemoteHost:
    """A local server standing in for a remote image and link host; it records every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def remote_host() -> Iterator[RemoteHost]:
    host = RemoteHost()
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    yield host
    host.server.shutdown()
    host.server.server_close()


@pytest.fixture(scope="module")
def hostile_dashboard(remote_host: RemoteHost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("hostile")
    with CollectorServer(CollectorConfig(db_path=tmp / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        post(server.url, build(remote_host.url))
        env = {"AGENTDECK_COLLECTOR_URL": server.url, "AGENTDECK_DASHBOARD_REFRESH_S": "0"}
        with streamlit_server(env, tmp / "streamlit.log") as url:
            yield url


def _settled(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_be_attached()


PAGES = [
    ("trace", f"/?trace_id={HOSTILE}", "![wf]("),  # opens on the failed step: its error, events, LLM call
    ("tool-span", f"/traces?trace_id={HOSTILE}&span_id={TOOL_SPAN}", '<a href="'),
    ("llm-span", f"/traces?trace_id={HOSTILE}&span_id={LLM_SPAN}", "![img]("),
    ("traces", "/traces", "Traces 1 to 2 of 2"),
    ("agents", "/agents", "Agents"),
    ("overview", "/", "Overview"),
    ("costs", "/costs", "Costs"),
    ("alerts", "/alerts", "Rules"),
    ("replay-call", f"/replay?trace_id={HOSTILE}", "LLM call"),
    # A crafted link: the collector's 400 quotes the value back, and the page shows that message.
    ("crafted-link", "/traces?trace_id=![x]({host}/link.png)", "got"),
]


@pytest.mark.parametrize(("name", "path", "literal"), PAGES, ids=[p[0] for p in PAGES])
def test_span_text_never_becomes_markup(
    browser: Any, hostile_dashboard: str, remote_host: RemoteHost, artifacts_dir: Path, name: str, path: str,
    literal: str,
) -> None:  # fmt: skip
    from playwright.sync_api import expect

    remote_host.requests.clear()  # this page's requests only
    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.startswith(remote_host.url) else None)
    try:
        page.goto(hostile_dashboard + path.format(host=remote_host.url))
        _settled(page)
        expect(page.get_by_text(literal).first).to_be_attached()  # the text is there, as text
        page.screenshot(path=str(artifacts_dir / f"inert-{name}.png"), full_page=True)
        made = page.locator(f"a[href^='{remote_host.url}'], img[src^='{remote_host.url}']")
        assert made.count() == 0, [made.nth(i).evaluate("e => e.outerHTML") for i in range(made.count())]
        assert page.locator(".main-svg a").count() == 0  # plotly turns <a href> in labels into links
        assert asked == [] and remote_host.requests == [], (asked, remote_host.requests)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        page.close()


def as_read(text: str) -> re.Pattern[str]:
    """`text` as the page shows it: exactly, give or take the invisible word joiners that keep URLs text."""
    escaped = (f"{WORD_JOINER}?{re.escape(c)}" if c in ":.@" else "\\/" if c == "/" else re.escape(c) for c in text)
    return re.compile("".join(escaped))  # "/" escaped too: Playwright's selector parser needs it


def test_the_trace_page_shows_hostile_text_literally(
    browser: Any, hostile_dashboard: str, remote_host: RemoteHost
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    try:
        page.goto(f"{hostile_dashboard}/?trace_id={HOSTILE}")
        _settled(page)
        expect(page.get_by_role("heading", name=as_read(f"![wf]({remote_host.url}/workflow.png)"))).to_be_visible()
        expect(page.get_by_text(as_read(f'<a href="{remote_host.url}/html">html</a>')).first).to_be_visible()
        axis = page.locator(".main-svg .ytick text").filter(has_text="axis</a>")
        expect(axis).to_have_count(1)  # the tag is shown on the waterfall's axis as written
    finally:
        page.close()


def test_the_tables_csv_download_quotes_formulas(browser: Any, hostile_dashboard: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1400}, accept_downloads=True)
    # Without the native save dialog (absent in headless use), the table downloads its CSV as a file.
    context.add_init_script("delete window.showSaveFilePicker")
    page = context.new_page()
    try:
        page.goto(f"{hostile_dashboard}/traces")
        _settled(page)
        grid = page.get_by_test_id("stDataFrame").first
        grid.hover()
        with page.expect_download() as download:
            grid.get_by_role("button", name="Download as CSV").click()
        path = download.value.path()
        text = Path(path).read_text(encoding="utf-8-sig")
        (artifacts_dir / "inert-traces.csv").write_text(text)
        rows = list(csv.DictReader(io.StringIO(text)))
        workflows = {r["Workflow"] for r in rows}
        assert "'" + FORMULA_WORKFLOW in workflows, workflows
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values() if v), rows
        assert {r["Spans"] for r in rows} == {"4", "3"}  # numbers stay numbers
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        context.close()
