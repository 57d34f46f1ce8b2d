"""Overview: the headline numbers of the range against the previous period, and where it went wrong."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from dashboard import charts, components, data, filters, theme

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
    """The alerts firing now, worst first, each a line; the Alerts page has the rest."""
    firing = data.alerts("firing")
    if firing.empty:
        return
    with st.container(border=True, key="overview_alerts"):
        st.markdown(f"**:red[:material/notifications_active:] {len(firing)} alert(s) firing**")
        for a in firing.head(5).itertuples():
            st.markdown(f"- **{a.rule}** ({a.severity}) · {a.target}: {a.value:.4g} {a.comparison} {a.threshold:.4g}")
        st.page_link("views/alerts.py", label="See all alerts", icon=":material/notifications:")


def headline() -> None:
    firing_alerts()
    f = filters.current()
    params = {**f.params(), "buckets": 48}
    tasks_q = {**params, "metric": "tasks", "group_by": "workflow"}
    spend_q = {**params, "metric": "spend", "group_by": "agent"}
    failed_q = {**f.params(), "status": "error", "limit": 10}
    data.prefetch([("overview", f.params()), ("overview", f.previous().params()),
                   ("timeseries", tasks_q), ("timeseries", spend_q), ("traces", failed_q)])  # fmt: skip
    cur = data.query("overview", f.params()).iloc[0]
    if not cur["tasks"]:
        components.no_data(f.label)
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
            f"{p99 / avg:.0f}x the average. See **Costs** for the tasks behind it.",
            icon=":material/trending_up:",
        )

    left, right = st.columns(2)
    span = (f.start_ns, f.end_ns)
    with left:
        tasks = data.query("timeseries", tasks_q)
        st.plotly_chart(
            charts.over_time(tasks, "count", title="Tasks by workflow", dimension="workflow", span_ns=span, buckets=48)
        )
    with right:
        spend = data.query("timeseries", spend_q)
        st.plotly_chart(
            charts.over_time(spend, "usd", title="Spend by agent", dimension="agent", span_ns=span, buckets=48)
        )

    failed = data.query("traces", failed_q)
    st.subheader("Latest failed tasks")
    if failed.empty:
        st.success("No failed tasks in this range.", icon=":material/check_circle:")
    else:
        components.trace_table(failed, key="overview_failed")


components.live(headline)
