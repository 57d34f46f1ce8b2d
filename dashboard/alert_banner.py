"""The small firing-alerts banner at the top of every page, linking to the Alerts page."""

from __future__ import annotations

import streamlit as st

from agentdeck.dashboard import data

ALERTS_PAGE = "views/alerts.py"


def show() -> None:
    """A one-line notice while alerts fire (refreshed with the live interval); nothing otherwise."""

    @st.fragment(run_every=data.settings().refresh_s or None)
    def _banner() -> None:
        try:
            firing = data.alerts("firing")
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
