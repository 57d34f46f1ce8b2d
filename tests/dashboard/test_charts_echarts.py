"""The ECharts options of the Overview, Agents and Graph pages: what a reader of the chart sees."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agentdeck.dashboard import charts_graph, charts_series, theme

HOUR_NS = 3_600_000_000_000


def series_frame(rows: list[tuple[int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["bucket_start_ns", "group", "value"])


def test_bars_keep_the_top_groups_and_fold_the_rest_into_other() -> None:
    rows = [(0, f"agent-{i}", float(10 - i)) for i in range(10)] + [(HOUR_NS, "agent-9", 5.0)]
    option = charts_series.over_time(
        series_frame(rows), "usd", title="Spend", dimension="agent", top=3, span_ns=(0, 2 * HOUR_NS), buckets=2
    )
    assert option["series"][-1]["itemStyle"]["color"] == theme.MUTED  # grey means "other"
    names = [s["name"] for s in option["series"]]
    assert names == ["agent-0", "agent-1", "agent-2", "other"]
    other = option["series"][-1]["data"]
    # the 7 folded agents in the first bucket (7+6+...+1 = 28) and agent-9 alone in the second
    assert sorted(other) == [[HOUR_NS // 2 // 1_000_000, 28.0], [3 * HOUR_NS // 2 // 1_000_000, 5.0]]
    # a bucket without spend is a zero-height bar, so every bar is one bucket wide
    assert option["series"][0]["data"] == [[HOUR_NS // 2 // 1_000_000, 10.0], [3 * HOUR_NS // 2 // 1_000_000, 0.0]]
    assert all(s["stack"] == "total" for s in option["series"])  # stacked: the bars add up to the total
    assert option["xAxis"]["min"] == 0 and option["xAxis"]["max"] == 2 * HOUR_NS // 1_000_000
    assert option["tooltip"]["valueFormatter"] == "$%.4f"
    json.dumps(option, allow_nan=False)  # what st.echarts_chart accepts: plain JSON, no NaN


def test_rate_lines_are_drawn_in_percent_and_missing_points_stay_gaps() -> None:
    rows = [(0, "a", 0.25), (HOUR_NS, "a", float("nan")), (0, "b", 0.5)]
    option = charts_series.over_time(series_frame(rows), "pct", title="Retry rate", dimension="agent", kind="line")
    by_name = {s["name"]: s["data"] for s in option["series"]}
    assert by_name == {"a": [[0, 25.0], [HOUR_NS // 1_000_000, None]], "b": [[0, 50.0]]}
    assert option["yAxis"]["axisLabel"]["formatter"] == "{value}%"
    assert all(s["type"] == "line" for s in option["series"])


def test_an_empty_answer_draws_empty_axes_over_the_range() -> None:
    option = charts_series.over_time(series_frame([]), "count", title="Tasks", span_ns=(0, HOUR_NS), buckets=4)
    assert option["series"] == [] and option["xAxis"]["max"] == HOUR_NS // 1_000_000
    assert option["legend"]["show"] is False


def test_graph_marks_back_edges_and_self_loops_as_loops() -> None:
    edges = pd.DataFrame(
        {
            "source": ["__start__", "researcher", "writer", "writer", "researcher"],
            "target": ["researcher", "writer", "researcher", "writer", "__end__"],
            "count": [3, 3, 2, 1, 3],
        }
    )
    chart = charts_graph.figure(edges, pd.DataFrame(), "latency")
    graph, rings = chart.option["series"]
    loops = {link["tooltip"]["formatter"] for link in graph["links"] if link["lineStyle"]["type"] == "dotted"}
    assert loops == {"writer → researcher: 2 handoffs (loop)"}
    # writer -> writer: a dotted ring just above the writer node, labelled with its count
    (ring,) = rings["data"]
    writer = next(n for n in graph["data"] if n["name"] == "writer")
    assert ring["tooltip"]["formatter"] == "writer → writer: 1 handoffs (loop)" and ring["label"]["formatter"] == "1"
    assert ring["value"][0] == writer["value"][0] and ring["value"][1] > writer["value"][1]
    assert ring["itemStyle"]["borderType"] == "dotted"
    assert not any(link["source"] == link["target"] for link in graph["links"])
    assert "writer → writer: 1 handoffs (loop)" in chart.option["aria"]["label"]["description"]
    x = {n["name"]: n["value"][0] for n in graph["data"]}
    assert x["__start__"] < x["researcher"] < x["writer"] < x["__end__"]  # layered left to right
    assert chart.option["visualMap"] == []  # no stats: no colour scale to explain
    assert chart.height >= 360


def test_sideways_edges_are_not_loops() -> None:
    edges = pd.DataFrame(
        {
            "source": ["__start__", "__start__", "security", "critic"],
            "target": ["security", "critic", "critic", "__end__"],
            "count": [5, 5, 2, 5],
        }
    )
    (graph,) = charts_graph.figure(edges, pd.DataFrame(), "cost").option["series"]  # no self-loop: no rings
    sideways = next(link for link in graph["links"] if link["source"] == "security")
    assert sideways["tooltip"]["formatter"] == "security → critic: 2 handoffs"
    assert sideways["lineStyle"]["type"] == "solid"


def test_nodes_are_coloured_by_the_chosen_metric_on_its_scale() -> None:
    edges = pd.DataFrame({"source": ["__start__", "a"], "target": ["a", "b"], "count": [4, 4]})
    nodes = pd.DataFrame(
        {
            "agent_name": ["a", "b"],
            "invocations": [4, 4],
            "attempts": [4, 6],
            "success_rate": [1.0, 0.5],
            "first_attempt_success_rate": [1.0, 0.25],
            "retry_rate": [0.0, 0.33],
            "p95_ms": [100.0, 400.0],
            "cost_usd": [0.01, 0.02],
        }
    )
    chart = charts_graph.figure(edges, nodes, "latency")
    colours = {n["name"]: n["itemStyle"]["color"] for n in chart.option["series"][0]["data"]}
    scale_colours = charts_graph.SCALES["bad_high"]
    assert colours["b"] == scale_colours[2]  # the slowest agent is the top of the scale
    assert colours["a"] == charts_graph.shade(scale_colours, 0.25) != scale_colours[0]  # 100 of 400 ms
    (scale,) = chart.option["visualMap"]
    assert (scale["min"], scale["max"]) == (0.0, 400.0) and scale["text"][0] == "p95 latency 400 ms"
    hover = next(n for n in chart.option["series"][0]["data"] if n["name"] == "b")["tooltip"]["formatter"]
    assert "4 steps, 6 attempts" in hover and "p95 400 ms" in hover
    assert "success 50.0% · first attempt 25.0%" in hover
    success = charts_graph.figure(edges, nodes, "success").option["series"][0]["data"]
    assert {n["name"]: n["itemStyle"]["color"] for n in success}["a"] == charts_graph.SCALES["good_high"][2]


def test_shade_runs_through_the_three_stops() -> None:
    stops = ("#000000", "#808080", "#ffffff")
    assert [charts_graph.shade(stops, at) for at in (-1.0, 0.0, 0.5, 1.0, 2.0)] == [
        "#000000",
        "#000000",
        "#808080",
        "#ffffff",
        "#ffffff",
    ]
    assert charts_graph.shade(stops, 0.25) == "#404040"


def test_cost_distribution_bins_every_task_even_when_all_cost_the_same() -> None:
    same = charts_series.distribution(pd.Series([0.002] * 5), title="Cost per task")
    (bars,) = same["series"]
    assert [n for _, n in bars["data"]] == [5]
    assert [m["name"] for m in bars["markLine"]["data"]] == ["p50 $0.0020", "p95 $0.0020", "p99 $0.0020"]
    # each mark sits at its value, not rounded to ECharts' default 2 decimals ($0.0020 would be drawn at $0)
    assert bars["markLine"]["precision"] >= 6
    assert same["yAxis"]["max"] == 7  # headroom above the 5 tasks' bar for the marks' labels
    spread = charts_series.distribution(pd.Series([0.001, 0.002, 0.010, 0.020]), title="Cost per task", bins=4)
    (bars,) = spread["series"]
    assert sum(n for _, n in bars["data"]) == 4 and spread["xAxis"]["min"] == 0.001 and spread["xAxis"]["max"] == 0.02
    (empty,) = charts_series.distribution(pd.Series([], dtype=float), title="Cost per task")["series"]
    assert empty["data"] == [] and empty["markLine"]["data"] == []


def test_lines_leave_a_gap_over_buckets_without_data() -> None:
    # data in the first and the last of 24 hourly buckets only: no straight line across the 22 hours between
    rows = [(0, "a", 0.1), (23 * HOUR_NS, "a", 0.3)]
    option = charts_series.over_time(
        series_frame(rows), "pct", title="Retry rate", dimension="agent", kind="line", span_ns=(0, 24 * HOUR_NS),
        buckets=24,
    )  # fmt: skip
    (line,) = option["series"]
    values = [v for _, v in line["data"]]
    assert len(values) == 24 and values[0] == 10.0 and values[-1] == 30.0
    assert values[1:-1] == [None] * 22 and line["connectNulls"] is False


def test_no_chart_draws_more_than_eight_series_lines_fold_the_rest_into_an_average() -> None:
    rows = [(0, f"agent-{i:02d}", 0.01 * (i + 1)) for i in range(12)]
    bars = charts_series.over_time(series_frame(rows), "usd", title="Spend", dimension="agent")
    assert len(bars["series"]) == 9 and bars["series"][-1]["name"] == "other"
    lines = charts_series.over_time(series_frame(rows), "pct", title="Retry rate", dimension="agent", kind="line")
    assert len(lines["series"]) == 9
    other = lines["series"][-1]
    assert other["name"] == "other (4, average)"  # agent-00..03, the four smallest
    assert other["data"] == [[0, pytest.approx(2.5)]]  # mean of 1%, 2%, 3%, 4%


def test_the_legend_is_never_paginated_and_has_room_for_every_name() -> None:
    rows = [(0, f"a-rather-long-agent-name-{i}", 1.0) for i in range(8)]
    option = charts_series.over_time(series_frame(rows), "usd", title="Spend", dimension="agent")
    assert option["legend"]["type"] == "plain"  # "scroll" pages the names and hides most of them
    rows_needed = charts_series.legend_rows([s["name"] for s in option["series"]])
    assert rows_needed == 8  # one 25-character name per row at 380 px
    assert option["grid"]["bottom"] >= rows_needed * charts_series.LEGEND_ROW_PX
    assert charts_series.legend_rows(["a", "b", "c"]) == 1


def test_latency_is_charted_in_seconds_like_every_table_writes_it() -> None:
    option = charts_series.over_time(series_frame([(0, "a", 25_300.0)]), "ms", title="p95", kind="line")
    assert option["series"][0]["data"] == [[0, pytest.approx(25.3)]]
    assert option["yAxis"]["axisLabel"]["formatter"] == "{value} s" and option["tooltip"]["valueFormatter"] == "%.1f s"


def test_the_series_of_one_chart_never_share_a_colour() -> None:
    # more agents than the palette has colours: some share a colour page-wide, never within a chart
    names = [f"agent-{i:02d}" for i in range(40)]
    theme.assign_colors("agent", names)
    clashing = next(
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if theme.agent_color(a) == theme.agent_color(b)
    )
    rows = [(0, name, 10.0 if name in clashing else 1.0) for name in names]
    option = charts_series.over_time(series_frame(rows), "usd", title="Spend", dimension="agent")
    colours = [s["itemStyle"]["color"] for s in option["series"]]
    assert set(clashing) <= {s["name"] for s in option["series"]}
    assert len(set(colours)) == len(colours) == 9
