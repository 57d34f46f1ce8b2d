"""Agents: how each agent does (success, retries and why, latency, cost), and its traces."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from agentdeck.dashboard import charts_series, components, data, filters, theme
from agentdeck.engine.semconv import RETRY_REASONS

st.title("Agents")


def _reasons(row: pd.Series) -> str:
    parts = [f"{r.replace('_', ' ')} {int(row[f'retries_{r}'])}" for r in RETRY_REASONS if row.get(f"retries_{r}", 0)]
    return " · ".join(parts)


def metrics_table(frame: pd.DataFrame, by_workflow: bool) -> None:
    shown = pd.DataFrame(
        {
            **({"Workflow": frame["workflow_name"].fillna("(none)")} if by_workflow else {}),
            "Agent": frame["agent_name"],
            "Steps": frame["invocations"].astype(int),
            "Attempts": frame["attempts"].astype(int),
            "First-attempt success": components.percent_points(frame["first_attempt_success_rate"].astype(float)),
            "Retry rate": components.percent_points(frame["retry_rate"].astype(float)),
            "Retries by reason": [_reasons(r) for _, r in frame.iterrows()],
            "Error rate": components.percent_points(frame["error_rate"].astype(float)),
            "p50": [theme.duration(v) for v in frame["p50_ms"]],
            "p95": [theme.duration(v) for v in frame["p95_ms"]],
            "p99": [theme.duration(v) for v in frame["p99_ms"]],
            "Tokens in": frame["input_tokens"].astype(int),
            "Tokens out": frame["output_tokens"].astype(int),
            "Cost": frame["cost_usd"].astype(float),
            "Cost / task": frame["cost_per_task"].astype(float),
            "Top error": frame["top_error_type"].fillna(""),
        }
    )
    components.table(
        shown,
        pinned="Agent",
        column_config={
            "First-attempt success": components.success_bar_column(
                "Share of the agent's steps whose first attempt succeeded (no retry needed)."
            ),
            "Retry rate": components.PERCENT_COLUMN,
            "Error rate": components.PERCENT_COLUMN,
            "Cost": components.USD_COLUMN,
            "Cost / task": components.USD_COLUMN,
            "Tokens in": st.column_config.NumberColumn(format="localized"),
            "Tokens out": st.column_config.NumberColumn(format="localized"),
        },
    )


def body() -> None:
    f = filters.current()
    by_workflow = bool(st.session_state.get("by_wf"))
    params = {**f.params(), "buckets": 48, "group_by": "agent"}
    metrics_q = {**f.params(), "by_workflow": by_workflow}
    series_qs = [("timeseries", {**params, "metric": m}) for m in ("latency_p95", "retry_rate", "spend")]
    data.prefetch([("agent_metrics", metrics_q), *series_qs])
    frame = data.query("agent_metrics", metrics_q)
    if frame.empty:
        components.no_data(f.label)
        return
    focus = st.session_state.get("agent") or None
    if focus:  # the table follows the focus, like the charts
        frame = frame[frame["agent_name"] == focus]
        if frame.empty:
            components.empty_state(
                f"No steps of {focus} in the {f.label.lower()}", "Pick another agent or widen the range."
            )
            return
    metrics_table(frame, by_workflow)

    charts_row = st.columns(3)
    plots: tuple[tuple[str, charts_series.Unit, Literal["bar", "line"], str], ...] = (
        ("latency_p95", "ms", "line", "p95 step latency"),
        ("retry_rate", "pct", "line", "Retry rate"),
        ("spend", "usd", "bar", "Spend"),
    )
    for col, (metric, unit, kind, title) in zip(charts_row, plots, strict=True):
        series = data.query("timeseries", {**params, "metric": metric})
        if focus:
            series = series[series["group"] == focus]
        chart = charts_series.over_time(
            series,
            unit,
            title=title + (f" · {focus}" if focus else ""),
            dimension="agent",
            kind=kind,
            span_ns=(f.start_ns, f.end_ns),
            buckets=48,
        )
        col.echarts_chart(chart, height=charts_series.HEIGHT, key=f"agent_chart_{metric}")


def main() -> None:
    f = filters.current()
    top = st.columns([2, 1, 3])
    try:
        facets = data.query("facets", f.params())
        agents = [str(v) for v in facets.loc[facets["dimension"] == "agent", "value"]] if not facets.empty else []
    except data.DataError:
        agents = []
    wanted = st.query_params.get("agent")
    options = ["", *agents, *([wanted] if wanted and wanted not in agents else [])]
    top[0].selectbox(
        "Focus on agent", options, format_func=lambda v: v or "All agents", key="agent", bind="query-params"
    )
    top[1].toggle("Per workflow", key="by_wf", bind="query-params")
    focus = st.session_state.get("agent")
    if focus:
        name = components.inert(focus)
        with top[2]:
            links = st.columns(2)
            links[0].page_link(components.TRACES_PAGE, label=f"Traces of {name}", icon=":material/timeline:",
                               query_params={"agent": focus})  # fmt: skip
            links[1].page_link(components.TRACES_PAGE, label=f"Failed traces of {name}", icon=":material/error:",
                               query_params={"agent": focus, "status": "error"})  # fmt: skip
    components.live(body)


main()
