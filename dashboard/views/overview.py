"""Overview: the headline numbers of the range against the previous period, and where it went wrong."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from agentdeck.dashboard import alert_banner, charts_series, components, data, filters, theme

st.title("Overview")


def _delta(cur: float | None, prev: float | None, kind: str) -> str | None:
    """'+12% vs prev.' for amounts, '+1.5 pts' for rates; None when there is nothing to compare."""
    if cur is None or prev is None or any(isinstance(v, float) and math.isnan(v) for v in (cur, prev)):
        return None
    if kind == "rate":
        return f"{(cur - prev) * 100:+.1f} pts"
    if prev == 0:
        return None
    return f"{(cur - prev) / prev * 100:+.0f}%"


def _value(row: pd.Series, key: str) -> float | None:
    v = row.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def firing_alerts() -> None:
    """The alerts firing now that nobody acknowledged or silenced, worst first, one compact line each
    (at most 5); the Alerts page has the rest."""
    firing = alert_banner.needing_attention(data.alerts("firing"))
    if firing.empty:
        return
    with st.container(border=True, key="overview_alerts"):
        lines = [
            f"**{a.rule}** ({a.severity}) · {components.inert(a.target)}: "
            f"{alert_banner.alert_value(str(a.metric), float(a.value))} "
            f"{a.comparison} {alert_banner.alert_value(str(a.metric), float(a.threshold))}"
            for a in firing.head(5).itertuples()
        ]
        more = f" · {len(firing) - 5} more" if len(firing) > 5 else ""
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(
            f":red[:material/notifications_active:] **{len(firing)} alert(s) firing**{more}  \n" + "  \n".join(lines)
        )
        right.page_link("views/alerts.py", label="See all alerts", icon=":material/notifications:")


def headline() -> None:
    f = filters.current()
    params = {**f.params(), "buckets": 48}
    tasks_q = {**params, "metric": "tasks", "group_by": "workflow"}
    spend_q = {**params, "metric": "spend", "group_by": "agent"}
    failed_q = {**f.params(), "status": "error", "limit": 10}
    # the slowest questions first (the range's overview and the failed-trace search), so the fifth,
    # which waits for a free thread, is a quick one
    data.prefetch([("overview", f.params()), ("traces", failed_q), ("overview", f.previous().params()),
                   ("timeseries", tasks_q), ("timeseries", spend_q)])  # fmt: skip
    cur = data.query("overview", f.params()).iloc[0]
    if not cur["tasks"]:
        components.no_data(f.label)
        firing_alerts()
        return
    prev = data.query("overview", f.previous().params()).iloc[0]
    st.caption(f"{f.label}, compared with the period of the same length before it.")
    tiles = [
        ("Tasks", theme.count, "tasks", "amount", "normal"),
        ("Completion rate", theme.pct, "completion_rate", "rate", "normal"),
        ("Latency p95", theme.duration, "latency_p95_ms", "amount", "inverse"),
        ("Retry rate", theme.pct, "retry_rate", "rate", "inverse"),
        ("Spend", theme.usd, "spend_usd", "amount", "inverse"),
        ("Cost / task (avg)", theme.usd, "cost_per_task_avg", "amount", "inverse"),
        ("Cost / task (p99)", theme.usd, "cost_per_task_p99", "amount", "inverse"),
    ]
    cols = [*st.columns(4), *st.columns(4)[:3]]
    for col, (label, fmt, key, kind, colour) in zip(cols, tiles, strict=True):
        value = _value(cur, key)
        col.metric(
            label,
            fmt(value),
            delta=_delta(value, _value(prev, key), kind) if prev["tasks"] else None,
            delta_color=colour,  # type: ignore[arg-type]
            border=True,
        )
    avg, p99 = _value(cur, "cost_per_task_avg"), _value(cur, "cost_per_task_p99")
    if avg and p99 and p99 > 5 * avg:
        st.warning(
            f"Tail cost: the most expensive 1% of tasks cost {theme.usd(p99)} or more, "
            f"{theme.ratio(p99 / avg)} the average. See **Costs** for the tasks behind it.",
            icon=":material/trending_up:",
        )
    firing_alerts()  # after the numbers, so a long list never pushes them down

    left, right = st.columns(2)
    span = (f.start_ns, f.end_ns)
    tasks = charts_series.over_time(data.query("timeseries", tasks_q), "count", title="Tasks by workflow",
                                    dimension="workflow", span_ns=span, buckets=48,
                                    width_px=charts_series.HALF_WIDTH_PX)  # fmt: skip
    left.echarts_chart(tasks, height=charts_series.HEIGHT, key="overview_tasks")
    spend = charts_series.over_time(data.query("timeseries", spend_q), "usd", title="Spend by agent",
                                    dimension="agent", span_ns=span, buckets=48,
                                    width_px=charts_series.HALF_WIDTH_PX)  # fmt: skip
    right.echarts_chart(spend, height=charts_series.HEIGHT, key="overview_spend")

    failed = data.query("traces", failed_q)
    st.subheader("Latest failed tasks")
    if failed.empty:
        st.success("No failed tasks in this range.", icon=":material/check_circle:")
    else:
        components.trace_table(failed, key="overview_failed")


components.live(headline)
