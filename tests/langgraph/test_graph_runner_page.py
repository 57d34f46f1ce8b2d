"""The Replay page on a trace of an adapted graph whose module the dashboard cannot import: it says what
to configure instead of failing (AppTest against a real collector holding the trace)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from streamlit.testing.v1 import AppTest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.telemetry import shutdown as shutdown_provider
from agentdeck.langgraph import instrument
from tests.dashboard.as_read import as_read
from tests.engine.fake_anthropic import FakeAnthropic
from tests.langgraph.graphs import builder
from tests.langgraph.test_example_cli import query

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def unimportable_trace(fake_llm: FakeAnthropic, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(collector url, trace id) of a run of a graph whose reference names a module that does not exist."""
    with CollectorServer(CollectorConfig(db_path=tmp_path / "store.duckdb", host="127.0.0.1", port=0)) as server:
        provider = make_tracer_provider(server.url)
        graph = instrument(
            builder(fake_llm.url, fail_first=False).compile(checkpointer=InMemorySaver()),
            ref="gone_app.flows:graph",
            tracer_provider=provider,
        )
        graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "gone-1"}})
        shutdown_provider(provider)
        deadline = time.monotonic() + 30
        rows = query(server.url, "traces")
        while not rows and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = query(server.url, "traces")
        yield server.url, rows[0]["trace_id"]


def _errors(at: AppTest) -> list[str]:
    """The page's error texts as a reader sees them (the Markdown escapes of span text removed)."""
    return [as_read(e.value) for e in at.error]


def _open(trace: tuple[str, str], monkeypatch: pytest.MonkeyPatch, workflows: str | None) -> AppTest:
    url, trace_id = trace
    monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", url)
    monkeypatch.setenv("AGENTDECK_DASHBOARD_REFRESH_S", "0")
    if workflows is None:
        monkeypatch.delenv("AGENTDECK_WORKFLOWS", raising=False)
    else:
        monkeypatch.setenv("AGENTDECK_WORKFLOWS", workflows)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.switch_page("views/replay.py")
    at.query_params["trace_id"] = trace_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_graph_the_dashboard_was_not_told_about_is_not_imported(
    unimportable_trace: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reference comes from a span, which anyone who can reach the collector can send: the dashboard
    # imports only modules its operator named, and says how to name one.
    errors = _errors(_open(unimportable_trace, monkeypatch, workflows=None))
    assert any("gone_app.flows:graph, which the dashboard was not told about" in e for e in errors), errors
    assert any("AGENTDECK_WORKFLOWS" in e for e in errors), errors
    assert not any("no module named" in e for e in errors), errors  # it did not even try


def test_an_unimportable_graph_says_what_to_configure(
    unimportable_trace: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = _errors(_open(unimportable_trace, monkeypatch, workflows="gone_app"))
    assert any("no module named 'gone_app'" in e and "start it where gone_app.flows imports" in e for e in errors), (
        errors
    )
