"""Every page through AppTest, reading a real collector that ingested engine-shaped OTLP/JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from streamlit.testing.v1 import AppTest

from agentdeck.dashboard import theme
from tests.conftest import free_port
from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import (
    DILIGENCE,
    MS,
    REFUND_CALL_SPAN,
    REFUND_TEXT,
    TRIAGE_FAILED,
    TRIAGE_OK,
)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The plotly figures of the page (the trace waterfall)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def echarts(at: AppTest) -> list[dict[str, Any]]:
    """The ECharts options of the page (time series, the agent graph)."""
    return [json.loads(c.proto.spec) for c in at.get("echarts_chart")]


def table(at: AppTest, key: str) -> Any:
    frames = [d for d in at.dataframe if d.proto.id and key in d.proto.id] or list(at.dataframe)
    return frames[0].value


def test_overview_shows_the_headline_numbers(app: AppRunner) -> None:
    at = app()
    m = metrics(at)
    assert m["Tasks"] == "3"
    assert m["Completion rate"] == "66.7%"  # the failed triage is the one not completed
    assert m["Spend"] == "$0.0446"  # 0.0065 + 0.0016 + 0.0365, each call counted once
    assert m["Retry rate"] == "20.0%"  # 2 retried attempts of 10 agent attempts
    assert m["Latency p95"] == "4.7 s"
    assert not charts(at)  # no plotly.js on the Overview: it is what made the page slow to draw
    tasks, spend = echarts(at)
    assert (tasks["title"]["text"], spend["title"]["text"]) == ("Tasks by workflow", "Spend by agent")
    assert sum(p[1] for s in tasks["series"] for p in s["data"]) == 3  # every task counted once
    assert {s["name"] for s in tasks["series"]} == {"support_triage", "due_diligence"}
    assert round(sum(p[1] for s in spend["series"] for p in s["data"]), 4) == 0.0446
    failed = at.dataframe[0].value
    assert list(failed["Trace"]) == [TRIAGE_FAILED[:12]] and list(failed["Status"]) == ["failed"]


def test_overview_honours_the_workflow_filter_from_the_url(app: AppRunner) -> None:
    at = app(workflow="due_diligence")
    assert metrics(at)["Tasks"] == "1" and metrics(at)["Spend"] == "$0.0365"
    assert at.selectbox(key="workflow").value == "due_diligence"


def test_deep_link_on_the_default_page_opens_the_trace(app: AppRunner) -> None:
    at = app(trace_id=TRIAGE_FAILED)
    assert [t.value for t in at.title] == ["Trace"]
    m = metrics(at)
    assert (m["Status"], m["Spans"], m["Errors"], m["Cost"], m["Duration"]) == ("failed", "6", "3", "$0.0016", "2.0 s")
    (waterfall,) = charts(at)
    bars = waterfall["data"][0]
    assert len(bars["y"]) == 6 and bars["y"][0].strip().endswith("invoke_workflow support_triage")
    assert "↻ attempt 2 (timeout)  ✖ TimeoutError" in bars["text"]
    colors = bars["marker"]["color"]
    responder = [c for y, c in zip(bars["y"], colors, strict=True) if y.strip().endswith("invoke_agent responder")]
    assert len(set(responder)) == 1  # one agent, one colour, on every attempt
    # the first failed step is opened: its exception event and stack trace are readable
    assert any("TimeoutError" in e.value and "responder exceeded 900 ms" in e.value for e in at.error)
    assert any(c.value.startswith("Traceback") for c in at.code)


def test_a_span_link_shows_its_messages_as_chat_turns(app: AppRunner) -> None:
    at = app("traces", trace_id=TRIAGE_OK, span_id=REFUND_CALL_SPAN)
    roles = [c.proto.name for c in at.get("chat_message")]
    assert roles == ["system", "user", "assistant"]  # the whole conversation, in order
    texts = [t.value for t in at.text]
    assert REFUND_TEXT in texts and "You are a support agent." in texts
    assert any('"category": "billing"' in c.value for c in at.code)  # JSON output pretty-printed
    assert metrics(at)["Input tokens"] == "100" and metrics(at)["Output tokens"] == "20"


def test_trace_list_filters_by_agent_text_and_status(app: AppRunner) -> None:
    at = app("traces")
    assert set(at.dataframe[0].value["Trace"]) == {t[:12] for t in (TRIAGE_OK, TRIAGE_FAILED, DILIGENCE)}
    assert list(app("traces", agent="writer").dataframe[0].value["Trace"]) == [DILIGENCE[:12]]
    assert list(app("traces", q="refund").dataframe[0].value["Trace"]) == [TRIAGE_OK[:12]]
    at = app("traces", status="error")
    assert list(at.dataframe[0].value["Trace"]) == [TRIAGE_FAILED[:12]]
    at = app("traces", agent="writer", status="error")
    assert not at.dataframe and any("No traces match" in i.value for i in at.info)


def test_a_trace_can_be_opened_from_the_list(app: AppRunner) -> None:
    at = app("traces", status="error")
    picker = at.selectbox(key="trace_list_open")
    assert picker.options == [f"support_triage · failed · $0.0016 · 2.0 s · {TRIAGE_FAILED[:12]}"]
    picker.set_value(TRIAGE_FAILED).run()
    assert [t.value for t in at.title] == ["Trace"] and metrics(at)["Status"] == "failed"


def test_agents_page_reports_retries_by_reason(app: AppRunner) -> None:
    at = app("agents")
    rows = at.dataframe[0].value.set_index("Agent")
    assert set(rows.index) == {"classifier", "responder", "reviewer", "researcher", "writer"}
    assert (rows.loc["responder", "Steps"], rows.loc["responder", "Attempts"]) == (2, 4)
    assert rows.loc["responder", "Retries by reason"] == "validation 1 · timeout 1"
    assert rows.loc["responder", "First-attempt success"] == 0.0
    assert rows.loc["researcher", "First-attempt success"] == 100.0  # percent points, shown as "100.0%"
    columns = json.loads(at.dataframe[0].proto.columns)
    # rates in one format (one decimal, as theme.pct), success bars green: never Streamlit's red
    assert {columns[c]["type_config"]["format"] for c in ("First-attempt success", "Retry rate", "Error rate")} == {
        "%.1f%%"
    }
    assert columns["First-attempt success"]["type_config"]["color"] == theme.STATUS_COLORS["success"]
    assert rows.loc["responder", "Top error"] == "TimeoutError"
    assert rows.loc["researcher", "Steps"] == 2 and rows.loc["classifier", "Retry rate"] == 0.0
    titles = [c["title"]["text"] for c in echarts(at)]
    assert titles == ["p95 step latency", "Retry rate", "Spend"] and not charts(at)
    retry = echarts(at)[1]
    assert retry["yAxis"]["axisLabel"]["formatter"] == "{value}%"  # rates are charted in percent
    assert all(0 <= p[1] <= 100 for s in retry["series"] for p in s["data"] if p[1] is not None)


def test_agents_page_focus_filters_the_table_and_the_charts_and_links_to_traces(app: AppRunner) -> None:
    at = app("agents", agent="responder")
    links = {p.proto.label: p.proto.page for p in at.get("page_link")}
    assert "Failed traces of responder" in links
    assert list(at.dataframe[0].value["Agent"]) == ["responder"]  # the table follows the focus too
    spend = next(c for c in echarts(at) if c["title"]["text"].startswith("Spend"))
    assert {s["name"] for s in spend["series"]} == {"responder"}


def test_costs_page_shows_spend_tail_and_retry_cost(app: AppRunner) -> None:
    at = app("costs")
    m = metrics(at)
    assert (m["Spend"], m["Tasks"], m["Spent on retries"]) == ("$0.0446", "3", "$0.0030")
    by_workflow = at.dataframe[0].value.set_index("Workflow")
    assert round(by_workflow.loc["support_triage", "Cost"], 6) == 0.0081
    expensive = at.dataframe[1].value
    assert list(expensive["Trace"]) == [DILIGENCE[:12], TRIAGE_OK[:12], TRIAGE_FAILED[:12]]
    assert not charts(at)  # no plotly.js on this page
    distribution = next(c for c in echarts(at) if c["title"]["text"] == "Cost per task")
    (bars,) = distribution["series"]
    assert sum(n for _, n in bars["data"]) == 3  # every task in a bin
    marks = [m["name"].split() for m in bars["markLine"]["data"]]
    middle = sorted(expensive["Cost"])[1]  # p50 of three tasks: the middle one
    assert [m[0] for m in marks] == ["p50", "p95", "p99"] and marks[0][1] == theme.usd(middle)
    spend = next(c for c in echarts(at) if c["title"]["text"] == "Spend by workflow")
    assert {s["name"] for s in spend["series"]} == {"support_triage", "due_diligence"}


def test_graph_page_draws_the_loop_of_a_workflow(app: AppRunner) -> None:
    at = app("graph", workflow="due_diligence", graph_metric="success")
    assert not charts(at)
    (fig,) = echarts(at)
    (graph,) = fig["series"]
    hovers = [link["tooltip"]["formatter"] for link in graph["links"]]
    assert "writer → researcher: 1 handoffs (loop)" in hovers
    assert "researcher → writer: 1 handoffs" in hovers
    loop = next(link for link in graph["links"] if link["source"] == "writer" and link["target"] == "researcher")
    assert loop["lineStyle"]["type"] == "dotted" and loop["label"]["formatter"] == "{c}" and loop["value"] == 1
    agents = {n["name"]: n for n in graph["data"] if n["name"] not in ("__start__", "__end__")}
    assert set(agents) == {"researcher", "writer"}
    (scale,) = fig["visualMap"]
    assert scale["min"] == 0.0 and scale["max"] == 1.0  # success rate scale
    # each node is coloured by its success rate on that scale: both agents succeeded every step, so green
    assert {n: a["itemStyle"]["color"] for n, a in agents.items()} == {"researcher": "#1a9850", "writer": "#1a9850"}
    assert all("success 100.0% · first attempt 100.0%" in a["tooltip"]["formatter"] for a in agents.values())


def test_pages_explain_how_to_start_when_the_collector_is_down(app_at: Any) -> None:
    run = app_at(f"http://127.0.0.1:{free_port()}")
    for page in (None, "traces", "agents", "costs", "graph"):
        at = run(page)
        notices = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
        assert "agentdeck collector" in notices and "OTEL_EXPORTER_OTLP_ENDPOINT" in notices, page


def test_an_empty_collector_says_how_to_send_traces(app_at: Any, empty_collector: str) -> None:
    at = app_at(empty_collector)()
    (notice,) = [i.value for i in at.info]
    assert "No tasks in the last 24 hours" in notice and f"OTEL_EXPORTER_OTLP_ENDPOINT={empty_collector}" in notice


def test_a_trace_of_5000_spans_opens_page_by_page(app_at: Any, tmp_path: Any) -> None:
    """On a collector of its own: the shared one's numbers ("Tasks 3") must not depend on test order."""
    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer

    with CollectorServer(CollectorConfig(db_path=tmp_path / "big.duckdb", host="127.0.0.1", port=0)) as server:
        pages = _open_a_big_trace(app_at(server.url), server.url)
    assert pages == 17


def _open_a_big_trace(app: AppRunner, collector_url: str) -> int:
    """Open a 4,999-span trace and its last waterfall page; answer how many pages it has."""
    import httpx

    from tests.dashboard.otlp_seed import TraceBuilder, otlp_body

    big = TraceBuilder("5" * 32, time.time_ns() - 60_000 * MS)
    root = big.workflow("bulk_review", 60_000, "success")
    for i in range(2_499):
        step = big.agent(root, f"agent-{i % 7}", i * 20, 15)
        big.llm(step, "claude-haiku-4-5", i * 20 + 1, 10, (10, 5), 0.00001)
    assert len(big.spans) == 4_999
    httpx.post(f"{collector_url}/v1/traces", json=otlp_body([big]), timeout=60).raise_for_status()
    at = app(trace_id=big.trace_id)
    assert metrics(at)["Spans"] == "4,999"
    (waterfall,) = charts(at)
    assert len(waterfall["data"][0]["y"]) == 300
    pager = at.number_input(key="wf_page")
    assert pager.max == 17
    pager.set_value(17).run()
    (waterfall,) = charts(at)
    assert len(waterfall["data"][0]["y"]) == 4_999 - 16 * 300
    assert len(at.dataframe[0].value) == 4_999
    return int(pager.max)
