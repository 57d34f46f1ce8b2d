"""Graph: a workflow's agents and the handoffs observed between them, nodes coloured by a metric."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import agent_graph, charts_graph, components, data, filters, theme

st.title("Agent graph")


def _workflows(f: filters.Filters) -> list[str]:
    facets = data.query("facets", {**f.params(), "workflow": None})
    return [str(v) for v in facets.loc[facets["dimension"] == "workflow", "value"]] if not facets.empty else []


def body() -> None:
    f = filters.current()
    workflow = st.session_state.get("graph_wf") or f.workflow
    if not workflow:
        components.empty_state(
            "No workflow to draw",
            "Pick a workflow above (or in the sidebar). Workflows appear once traces name one "
            "(`gen_ai.workflow.name`, or the engine's workflow span).",
        )
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
        "Arrows are handoffs between consecutive agent steps in a run (retries are not handoffs); "
        "dotted orange arrows go back to an earlier agent (loops). Node size = steps. "
        "Hover a node or an arrow for its numbers."
    )
    if not nodes.empty:
        shown = pd.DataFrame(
            {
                "Agent": nodes["agent_name"],
                "Steps": nodes["invocations"].astype(int),
                "Success rate": nodes["success_rate"].astype(float),
                "First-attempt success": nodes["first_attempt_success_rate"].astype(float),
                "Retry rate": nodes["retry_rate"].astype(float),
                "p95": [theme.duration(v) for v in nodes["p95_ms"]],
                "Cost": nodes["cost_usd"].astype(float),
                "Cost / task": nodes["cost_per_task"].astype(float),
            }
        )
        components.table(
            shown,
            pinned="Agent",
            column_config={
                "Success rate": components.PERCENT_BAR_COLUMN,
                "First-attempt success": components.PERCENT_COLUMN,
                "Retry rate": components.PERCENT_COLUMN,
                "Cost": components.USD_COLUMN,
                "Cost / task": components.USD_COLUMN,
            },
        )


def main() -> None:
    f = filters.current()
    try:
        options = _workflows(f)
    except data.DataError as exc:
        components.data_error(exc)
        return
    wanted = st.query_params.get("graph_wf") or f.workflow
    if wanted and wanted not in options:
        options.append(wanted)
    cols = st.columns([2, 3])
    if options:
        cols[0].selectbox("Workflow", options, index=options.index(wanted) if wanted in options else 0,
                          key="graph_wf", bind="query-params")  # fmt: skip
    cols[1].segmented_control(
        "Colour nodes by", list(agent_graph.METRICS), default="latency", key="graph_metric",
        bind="query-params", required=True,
    )  # fmt: skip
    components.live(body)


main()
