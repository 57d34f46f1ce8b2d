"""Costs: where the money goes over time, the cost-per-task tail, the priciest tasks, and retries."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import cache_view, charts_series, components, data, filters, theme

st.title("Costs")
DIMENSIONS = {"workflow": "Workflow", "agent": "Agent", "model": "Model"}


def body() -> None:
    f = filters.current()
    dim = st.session_state.get("cost_by") or "workflow"
    series_q = {**f.params(), "metric": "spend", "group_by": dim, "buckets": 48}
    data.prefetch([("cost_breakdown", {**f.params(), "group_by": dim}), ("task_costs", f.params()),
                   ("timeseries", series_q)])  # fmt: skip
    breakdown = data.query("cost_breakdown", {**f.params(), "group_by": dim})
    if breakdown.empty:
        components.no_data(f.label)
        return
    total = float(breakdown["cost_usd"].sum())
    retry = float(breakdown["retry_cost_usd"].sum())
    tasks = data.query("task_costs", f.params())
    cols = st.columns(5)
    cols[0].metric("Spend", theme.usd(total), border=True)
    cols[1].metric("Tasks", theme.count(len(tasks)) + ("+" if data.is_truncated(tasks) else ""), border=True)
    costs = tasks["cost_usd"].astype(float) if not tasks.empty else pd.Series(dtype=float)
    cols[2].metric("Cost / task p50", theme.usd(costs.quantile(0.5) if len(costs) else None), border=True)
    cols[3].metric("Cost / task p99", theme.usd(costs.quantile(0.99) if len(costs) else None), border=True)
    cols[4].metric("Spent on retries", theme.usd(retry), delta=f"{retry / total:.1%} of spend" if total else None,
                   delta_color="off", delta_arrow="off", border=True)  # fmt: skip

    series = data.query("timeseries", series_q)
    spend = charts_series.over_time(
        series, "usd", title=f"Spend by {dim}", dimension=dim, span_ns=(f.start_ns, f.end_ns), buckets=48,
        width_px=charts_series.FULL_WIDTH_PX,
    )  # fmt: skip
    st.echarts_chart(spend, height=charts_series.HEIGHT, key="spend_over_time")

    left, right = st.columns(2)
    with left:
        if len(costs):
            chart = charts_series.distribution(costs, title="Cost per task")
            st.echarts_chart(chart, height=340, key="cost_distribution")
    with right:
        st.markdown(f"##### Spend by {DIMENSIONS[dim].lower()}")
        shown = pd.DataFrame(
            {
                DIMENSIONS[dim]: breakdown["group"],
                "Cost": breakdown["cost_usd"].astype(float),
                "Share": components.percent_points(breakdown["cost_usd"].astype(float) / total) if total else 0.0,
                "Retry cost": breakdown["retry_cost_usd"].astype(float),
                "LLM calls": breakdown["calls"].astype(int),
                "Tokens in": breakdown["input_tokens"].astype(int),
                "Tokens out": breakdown["output_tokens"].astype(int),
            }
        )
        components.table(
            shown,
            pinned=DIMENSIONS[dim],
            column_config={
                "Cost": components.USD_COLUMN,
                "Retry cost": components.USD_COLUMN,
                "Share": components.PERCENT_BAR_COLUMN,
                "Tokens in": st.column_config.NumberColumn(format="localized"),
                "Tokens out": st.column_config.NumberColumn(format="localized"),
            },
        )

    cache_view.show(f)  # semantic cache hit rate and savings per agent (only when the cache was used)
    st.markdown("##### Most expensive tasks")
    top = tasks.head(20)
    if not top.empty:
        shown = pd.DataFrame(
            {
                "Started (UTC)": [theme.timestamp(v) for v in top["start_ns"]],
                "Workflow": top["workflow_name"].fillna(""),
                "Cost": top["cost_usd"].astype(float),
                "Of median": top["cost_usd"].astype(float) / costs.median() if costs.median() else None,
                "Duration": [theme.duration(v) for v in top["duration_ms"]],
                "Status": [components.status_badge(s, o) for s, o in zip(top["status"], top["outcome"], strict=True)],
                "Trace": [theme.short_id(v, 12) for v in top["trace_id"]],
            }
        )
        event = components.table(
            shown,
            pinned="Workflow",
            style=components.color_status,
            on_select="rerun",
            selection_mode="single-row",
            key="expensive_tasks",
            column_config={
                "Cost": components.USD_COLUMN,
                "Of median": st.column_config.NumberColumn(
                    format="%.1f" + theme.TIMES, help="The task's cost as a multiple of the median task's"
                ),
            },
        )
        rows = event.selection.rows if event else []  # type: ignore[union-attr]
        if rows:
            components.open_trace(str(top["trace_id"].iloc[rows[0]]))


st.segmented_control(
    "Break spend down by", list(DIMENSIONS), default="workflow", key="cost_by",
    bind="query-params", required=True,
)  # fmt: skip
components.live(body)
