"""dashboard/data.py against real collectors: Arrow answers, clear errors, tokens, live refresh."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import streamlit as st

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard import data
from tests.conftest import free_port
from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import TRIAGE_OK, build_traces, otlp_body, seed

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def locked_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("locked-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0, token=TOKEN)) as server:
        seed(server.url, token=TOKEN)
        yield server.url


def settings_for(url: str, token: str | None = None) -> data.Settings:
    return replace(data.settings({}), collector_url=url, token=token)


def test_queries_answer_typed_arrow_tables(seeded_collector: str) -> None:
    table = data.fetch_table("traces", {"agent": "reviewer"}, settings_for(seeded_collector))
    assert table.column("trace_id").to_pylist() == [TRIAGE_OK]
    assert str(table.schema.field("cost_usd").type) == "double"


def test_a_missing_collector_says_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(data.CollectorUnavailable) as err:
        data.fetch_table("overview", {}, settings_for(url))
    assert url in err.value.message
    assert "agentdeck collector" in err.value.hint and f"OTEL_EXPORTER_OTLP_ENDPOINT={url}" in err.value.hint


def test_a_bad_parameter_names_it(seeded_collector: str) -> None:
    with pytest.raises(data.QueryFailed) as err:
        data.fetch_table("traces", {"limit": "0"}, settings_for(seeded_collector))
    assert "'limit'" in err.value.message and "400" in err.value.message


def test_a_token_protected_collector_needs_agentdeck_token(locked_collector: str) -> None:
    with pytest.raises(data.QueryFailed) as err:
        data.fetch_table("overview", {}, settings_for(locked_collector))
    assert "AGENTDECK_TOKEN" in err.value.hint
    table = data.fetch_table("overview", {}, settings_for(locked_collector, TOKEN))
    assert table.column("tasks").to_pylist() == [3]


def test_a_refresh_shows_new_tasks_and_keeps_the_selection(app: AppRunner, seeded_collector: str) -> None:
    at = app("agents", agent="responder", by_wf="true")
    before = at.dataframe[0].value
    assert at.selectbox(key="agent").value == "responder" and "Workflow" in before.columns
    steps = int(before.set_index("Agent").loc["responder", "Steps"].sum())

    import httpx

    fresh = [t for t in build_traces() if t.trace_id == TRIAGE_OK]
    fresh[0].trace_id = "4" * 32
    for span in fresh[0].spans:
        span["traceId"] = fresh[0].trace_id
        span["spanId"] = "4" + span["spanId"][1:]
        if "parentSpanId" in span:
            span["parentSpanId"] = "4" + span["parentSpanId"][1:]
    httpx.post(f"{seeded_collector}/v1/traces", json=otlp_body(fresh), timeout=10).raise_for_status()
    st.cache_data.clear()  # the next refresh, without waiting out the 5 s answer cache
    at.run()
    after = at.dataframe[0].value
    assert at.selectbox(key="agent").value == "responder" and "Workflow" in after.columns
    assert int(after.set_index("Agent").loc["responder", "Steps"].sum()) == steps + 1


def test_query_returns_frames_that_say_when_rows_were_left_out(
    seeded_collector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", seeded_collector)
    page = data.query("traces", {"limit": 1, "start_ns": 0, "status": None, "replays_only": False})
    assert len(page) == 1 and data.is_truncated(page)
    everything = data.query("traces", {"limit": 100, "start_ns": 0})
    assert len(everything) >= 3 and not data.is_truncated(everything)
