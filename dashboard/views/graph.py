"""Graph: a workflow's agents and the handoffs observed between them, nodes coloured by a metric."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import agent_graph, charts_graph, components, data, filters, theme

st.title("Agent graph")


SUCCESS_HELP = (
    "Success: share of an agent's steps that ended in success, retries included. First-attempt success: "
    "share of its steps whose first attempt succeeded. A retry can only turn a failed step into a success, "
    "so success is never below first-attempt success."
)


def _workflows(f: filters.Filters) -> list[str]:
    facets = data.query("facets", {**f.params(), "workflow": None})
    return [str(v) for v in facets.loc[facets["dimension"] == "workflow", "value"]] if not facets.empty else []


def pick_workflow(f: filters.Filters) -> None:
    """No workflow chosen: one link per workflow, which sets the sidebar's Workflow filter (in the URL)."""
    workflows = _workflows(f)
    if not workflows:
        components.empty_state(
            "No workflow to draw",
            "Workflows appear once traces name one (`gen_ai.workflow.name`, or the engine's workflow span).",
        )
        return
    st.info("**Pick a workflow to draw**: in the sidebar's Workflow filter, or here.", icon=":material/account_tree:")
    row = st.container(horizontal=True, gap="small")
    for name in workflows:
        row.page_link("views/graph.py", label=name, icon=":material/account_tree:",
                      query_params={**st.query_params.to_dict(), "workflow": name})  # fmt: skip


def body() -> None:
    f = filters.current()
    workflow = f.workflow
    if not workflow:
        pick_workflow(f)
        return
    params = {**f.params(), "workflow": workflow}
    data.prefetch([("transitions", params), ("agent_nodes", params)])
    edges = data.query("transitions", params)
    if edges.empty:
        components.empty_state(
            f"No agent steps of {components.inert(workflow)} in the {f.label.lower()}",
            "Widen the time range, or check that this workflow's traces carry agent spans.",
        )
        return
    nodes = data.query("agent_nodes", params)
    chosen = st.session_state.get("graph_metric")
    metric: agent_graph.NodeMetric = chosen if chosen in agent_graph.METRICS else "latency"
    chart = charts_graph.figure(edges, nodes, metric)
    st.echarts_chart(chart.option, height=chart.height, key="agent_graph")
    st.caption(
        f"{workflow}: arrows are handoffs between consecutive agent steps in a run (retries are not handoffs); "
        "dotted orange arrows go back to an earlier agent (loops). A node's area is proportional to its steps. "
        "Hover a node or an arrow for its numbers. " + SUCCESS_HELP
    )
    if not nodes.empty:
        shown = pd.DataFrame(
            {
                "Agent": nodes["agent_name"],
                "Steps": nodes["invocations"].astype(int),
                "Success": components.percent_points(nodes["success_rate"].astype(float)),
                "First-attempt success": components.percent_points(nodes["first_attempt_success_rate"].astype(float)),
                "Retry rate": components.percent_points(nodes["retry_rate"].astype(float)),
                "p95": [theme.duration(v) for v in nodes["p95_ms"]],
                "Cost": nodes["cost_usd"].astype(float),
                "Cost / task": nodes["cost_per_task"].astype(float),
            }
        )
        components.table(
            shown,
            pinned="Agent",
            column_config={
                "Success": components.success_bar_column(SUCCESS_HELP),
                "First-attempt success": components.success_bar_column(SUCCESS_HELP),
                "Retry rate": components.PERCENT_COLUMN,
                "Cost": components.USD_COLUMN,
                "Cost / task": components.USD_COLUMN,
            },
        )


def main() -> None:
    # The workflow is the sidebar's filter (`?workflow=`), like on every page: one selector, kept in the
    # URL whatever else changes here.
    st.segmented_control(
        "Colour nodes by", list(agent_graph.METRICS), default="latency", key="graph_metric",
        bind="query-params", required=True,
    )  # fmt: skip
    components.live(body)


main()
