"""The firing-alerts banner at the top of every page, and how an alert reads wherever it is shown.

The banner, the Overview and the Alerts page count the same alerts: firing, and neither acknowledged
nor silenced (`needs_attention`, computed by the collector). Values read in one format per unit.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import data, theme

ALERTS_PAGE = "views/alerts.py"
# Shares of 0..1 read as percentages; multiples (of a budget, of a baseline) as ratios.
PERCENT_METRICS = frozenset({"retry_rate", "error_rate", "completion_rate", "state_conflict_rate"})
RATIO_METRICS = frozenset({"budget_burn", "tokens_per_task_vs_baseline", "task_budget_breach"})


def alert_value(metric: str, value: float) -> str:
    """An alert's value or threshold in its metric's unit: $0.0003, 31.2 s, 12.5%, 1.20 times (theme.ratio), 9."""
    if metric in ("cost_per_task", "spend"):
        return theme.usd(value)
    if metric == "p95_latency_ms":
        return theme.duration(value)
    if metric in PERCENT_METRICS:
        return theme.pct(value)
    if metric in RATIO_METRICS:
        return theme.ratio(value)
    return f"{value:g}"


def started_ns(alert: pd.Series) -> float:
    """When the alert started: when it fired, or, while pending, when its condition was first seen."""
    fired = alert.get("fired_ns")
    return float(fired) if fired is not None and pd.notna(fired) else float(alert["first_seen_ns"])


def needing_attention(frame: pd.DataFrame) -> pd.DataFrame:
    """The alerts a person has not dealt with: firing, not acknowledged, not silenced."""
    if frame.empty:
        return frame
    return frame[frame["needs_attention"].astype(bool)]


def show() -> None:
    """A one-line notice while alerts need attention (refreshed with the live interval); nothing otherwise."""

    @st.fragment(run_every=data.settings().refresh_s or None)
    def _banner() -> None:
        try:
            firing = needing_attention(data.alerts("firing"))
        except data.DataError:
            return  # the page itself says when the collector is unreachable
        if firing.empty:
            return
        critical = int((firing["severity"] == "critical").sum())
        worst = f", {critical} critical" if critical else ""
        with st.container(border=True, key="alert_banner"):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.markdown(
                f":red[:material/notifications_active:] **{len(firing)} alert(s) firing{worst}**: "
                + ", ".join(sorted(set(firing["rule"])))
            )
            right.page_link(ALERTS_PAGE, label="Open Alerts", icon=":material/arrow_forward:")

    _banner()
