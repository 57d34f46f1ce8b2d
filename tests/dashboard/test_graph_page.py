"""The Graph page through AppTest on its own collector: success counts steps (retries included) and
never reads below first-attempt success; node area follows steps; the workflow is the sidebar's
one filter, kept in the URL when the colouring changes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import MS, TraceBuilder, otlp_body

WORKFLOW = "review"


def review_runs() -> list[TraceBuilder]:
    """Four runs of planner -> checker. The checker's first attempt fails in one run, which then takes
    three more attempts to succeed: 4 steps, 3 right first time (75%), all 4 in the end (100%), but
    2 of its 7 attempts failed (71% of attempts succeeded: what this page showed as success before)."""
    now = time.time_ns() - 120_000 * MS
    runs = []
    for i in range(4):
        t = TraceBuilder(f"{i + 1:x}" * 32, now + i * 10_000 * MS)
        root = t.workflow(WORKFLOW, 3000, "success")
        t.agent(root, "planner", 0, 100)
        if i == 0:
            t.agent(root, "checker", 200, 100, error="bad json", error_type="ValidationError")
            t.agent(root, "checker", 400, 100, attempt=2, reason="validation", error="bad json",
                    error_type="ValidationError")  # fmt: skip
            t.agent(root, "checker", 600, 100, attempt=3, reason="validation")
        else:
            t.agent(root, "checker", 200, 100)
        runs.append(t)
    # a third agent in one run only: 1 step against the planner's 4
    t = runs[3]
    t.agent(t.spans[0]["spanId"], "auditor", 2000, 100)
    return runs


@pytest.fixture(scope="module")
def graph_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("graph-page") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        runs = review_runs()
        httpx.post(f"{server.url}/v1/traces", json=otlp_body(runs), timeout=10).raise_for_status()
        expected = sum(len(t.spans) for t in runs)
        give_up = time.monotonic() + 10
        while time.monotonic() < give_up:
            rows = httpx.get(f"{server.url}/api/query/traces", timeout=10).json()["rows"]
            if sum(r[7] for r in rows) >= expected:
                break
            time.sleep(0.05)
        yield server.url


@pytest.fixture
def graph_app(app_at: Callable[[str], AppRunner], graph_collector: str) -> AppRunner:
    return app_at(graph_collector)


def the_graph(at: AppTest) -> dict[str, Any]:
    (chart,) = [json.loads(c.proto.spec) for c in at.get("echarts_chart")]
    return dict(chart)


def test_success_counts_steps_and_is_never_below_first_attempt_success(graph_app: AppRunner) -> None:
    at = graph_app("graph", workflow=WORKFLOW, graph_metric="success")
    rows = at.dataframe[0].value.set_index("Agent")
    checker = rows.loc["checker"]
    assert (checker["Steps"], checker["First-attempt success"], checker["Success"]) == (4, 75.0, 100.0)
    assert (rows["Success"] >= rows["First-attempt success"]).all()
    nodes = {n["name"]: n for n in the_graph(at)["series"][0]["data"]}
    assert "success 100.0% · first attempt 75.0%" in nodes["checker"]["tooltip"]["formatter"]
    caption = " ".join(c.value for c in at.caption)
    assert "Success: share of an agent's steps that ended in success, retries included" in caption
    assert "First-attempt success: share of its steps whose first attempt succeeded" in caption


def test_node_area_follows_steps(graph_app: AppRunner) -> None:
    at = graph_app("graph", workflow=WORKFLOW)
    size = {n["name"]: n["symbolSize"] for n in the_graph(at)["series"][0]["data"]}
    # planner and checker: 4 steps each; auditor: 1 step, so a quarter of the area, half the diameter
    assert size["planner"] == size["checker"]
    assert size["auditor"] == pytest.approx(size["planner"] / 2)
    assert "A node's area is proportional to its steps" in " ".join(c.value for c in at.caption)


def test_one_workflow_selector_kept_in_the_url_when_the_colouring_changes(graph_app: AppRunner) -> None:
    at = graph_app("graph", workflow=WORKFLOW)
    assert [s.label for s in at.selectbox if s.label == "Workflow"] == ["Workflow"]  # the sidebar's only
    at.button_group(key="graph_metric").set_value("cost").run()
    assert not at.exception
    assert at.query_params["workflow"] == WORKFLOW  # (the browser test checks the URL a person sees)
    assert the_graph(at)["visualMap"][0]["text"][0].startswith("Cost")


def test_without_a_workflow_each_one_is_a_link_that_draws_it(graph_app: AppRunner) -> None:
    at = graph_app("graph")
    assert not at.get("echarts_chart")
    links = [(p.proto.label, p.proto.query_string) for p in at.get("page_link") if p.proto.label == WORKFLOW]
    assert links and "workflow=review" in links[0][1]
