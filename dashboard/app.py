"""agentdeck dashboard entrypoint: page routing and the global filters, nothing else.

Run: `agentdeck dashboard` (or `streamlit run` on this file), with AGENTDECK_COLLECTOR_URL
pointing at the collector (default http://127.0.0.1:4318) and AGENTDECK_TOKEN when it needs one.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from agentdeck.dashboard import alert_banner, auth, filters

st.set_page_config(page_title="agentdeck", page_icon=":material/monitoring:", layout="wide")
# Nothing renders before the login when one is in force (always when listening beyond loopback).
auth.require_login()

HERE = Path(__file__).parent
overview = st.Page(HERE / "views/overview.py", title="Overview", icon=":material/dashboard:", default=True)
traces = st.Page(HERE / "views/traces.py", title="Traces", icon=":material/timeline:", url_path="traces")
agents = st.Page(HERE / "views/agents.py", title="Agents", icon=":material/smart_toy:", url_path="agents")
costs = st.Page(HERE / "views/costs.py", title="Costs", icon=":material/payments:", url_path="costs")
graph = st.Page(HERE / "views/graph.py", title="Graph", icon=":material/account_tree:", url_path="graph")
replay = st.Page(HERE / "views/replay.py", title="Replay", icon=":material/history:", url_path="replay")
experiments = st.Page(
    HERE / "views/experiments.py", title="Experiments", icon=":material/science:", url_path="experiments"
)
alerts = st.Page(HERE / "views/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts")
review = st.Page(HERE / "views/review.py", title="Review", icon=":material/rule:", url_path="review")
page = st.navigation(
    {"Observe": [overview, traces, agents, costs, graph], "Act": [replay, review, experiments, alerts]}
)

# `/?trace_id=...` (a link from an alert, a log line or a colleague) opens that trace.
if page.url_path == overview.url_path and st.query_params.get("trace_id"):
    st.switch_page(traces, query_params=st.query_params.to_dict())

filters.sidebar()
alert_banner.show()
page.run()
