"""`agentdeck.langgraph.replay.fork` exports like engine replays: to the target and headers it is given,
and counts the spans that target did not accept (a real collector with a token, the real OTLP exporter);
and a graph found from a thread's trace is imported only when the user could have named it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard import data
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.telemetry import shutdown as shutdown_provider
from agentdeck.langgraph import instrument
from agentdeck.langgraph.replay import fork
from tests.engine.fake_anthropic import FakeAnthropic
from tests.langgraph.graphs import builder

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _arrived(settings: data.Settings, trace_id: str) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if data.fetch_table("trace", {"trace_id": trace_id}, settings).num_rows:
            return True
        time.sleep(0.2)
    return False


def test_a_graph_replay_sends_its_headers_and_counts_what_was_refused(fake_llm: FakeAnthropic, tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "store.duckdb", host="127.0.0.1", port=0, token=TOKEN)
    with CollectorServer(config) as server:
        settings = data.Settings(collector_url=server.url, token=TOKEN, refresh_s=0, timeout_s=10)
        provider = make_tracer_provider(server.url, headers=AUTH)
        saver = SqliteSaver(sqlite3.connect(tmp_path / "app.sqlite", check_same_thread=False))
        graph = instrument(
            builder(fake_llm.url, fail_first=False).compile(checkpointer=saver),
            ref="app:graph",
            tracer_provider=provider,
        )
        graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t-1"}})
        shutdown_provider(provider)
        first = graph.get_state({"configurable": {"thread_id": "t-1"}}).metadata["agentdeck_trace_id"]
        assert _arrived(settings, first)
        start = next(s for s in graph.get_state_history({"configurable": {"thread_id": "t-1"}}) if s.next == ("act",))
        checkpoint = str(start.config["configurable"]["checkpoint_id"])
        common = {"original": [], "original_trace_id": first, "checkpoint_id": checkpoint, "endpoint": server.url}

        refused = fork(graph, "t-1", **common)  # type: ignore[arg-type]
        assert refused.result.outcome == "success"
        assert refused.undelivered_spans >= 3  # the root, the act step and its LLM call: 401 without the token
        assert refused.to_json()["undelivered_spans"] == refused.undelivered_spans

        delivered = fork(graph, "t-1", headers=AUTH, **common)  # type: ignore[arg-type]
        assert delivered.undelivered_spans == 0
        assert _arrived(settings, delivered.result.trace_id)
        assert not data.fetch_table("trace", {"trace_id": refused.result.trace_id}, settings).num_rows


def test_a_file_a_trace_names_is_not_run_unless_the_user_names_it(
    fake_llm: FakeAnthropic, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentdeck.cli.main import main

    script = tmp_path / "evil.py"
    script.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.delenv("AGENTDECK_WORKFLOWS", raising=False)
    config = CollectorConfig(db_path=tmp_path / "store.duckdb", host="127.0.0.1", port=0, token=TOKEN)
    with CollectorServer(config) as server:
        provider = make_tracer_provider(server.url, headers=AUTH)
        graph = instrument(
            builder(fake_llm.url, fail_first=False).compile(checkpointer=InMemorySaver()),
            ref=f"{script}:graph",
            tracer_provider=provider,
        )
        graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t-9"}})
        shutdown_provider(provider)
        settings = data.Settings(collector_url=server.url, token=TOKEN, refresh_s=0, timeout_s=10)
        assert _arrived(
            settings, graph.get_state({"configurable": {"thread_id": "t-9"}}).metadata["agentdeck_trace_id"]
        )
        args = ["--checkpoint-db", str(tmp_path / "none.sqlite"), "--collector-url", server.url, "--token", TOKEN]
        assert main(["checkpoints", "t-9", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentdeck: thread t-9's trace names the file") and f"pass --graph {script}:graph" in err
    assert not (tmp_path / "ran").exists() and not (tmp_path / "none.sqlite").exists()
