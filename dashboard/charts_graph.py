"""A workflow's observed agent graph as an ECharts option (`st.echarts_chart`).

Layered left to right from `__start__` (`agent_graph.layered`), handoffs as arrows (width by
count, count as label), loops as dotted orange arrows bending back, node areas proportional to steps,
coloured by the chosen metric, with a colour bar saying what the colours mean.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Final

import pandas as pd

from agentdeck.dashboard import agent_graph, theme
from agentdeck.dashboard.agent_graph import END, START, NodeMetric
from agentdeck.dashboard.charts_series import Option

# Colour stops (low -> high): success reads red to green, the rest light to dark red.
SCALES: Final[dict[str, tuple[str, str, str]]] = {
    "good_high": ("#d73027", "#fee08b", "#1a9850"),
    "bad_high": ("#ffffb2", "#fd8d3c", "#bd0026"),
}
RATE_METRICS: Final = ("success_rate", "retry_rate")
RING_LIFT: Final = 0.34  # a self-loop's ring sits this far (in rows) above its node
NODE_SIZE: Final = 56.0  # pixels across, for the agent with the most steps
MIN_NODE_SIZE: Final = 12.0
MARGIN: Final = (0.45, 0.6)  # axis room around the outermost nodes (layers, rows), for labels and loops


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def shade(stops: tuple[str, str, str], at: float) -> str:
    """The colour at `at` (0..1) along three stops."""
    at = min(max(at, 0.0), 1.0)
    lo, hi, frac = (stops[0], stops[1], at * 2) if at <= 0.5 else (stops[1], stops[2], at * 2 - 1)
    mixed = (round(a + (b - a) * frac) for a, b in zip(_rgb(lo), _rgb(hi), strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def _value(stats: pd.DataFrame, agent: str, column: str) -> float | None:
    if agent not in stats.index:
        return None
    v = stats.loc[agent, column]
    return float(v) if pd.notna(v) else None


def _hover(stats: pd.DataFrame, agent: str) -> str:
    name = html.escape(agent)
    if agent not in stats.index:
        return f"<b>{name}</b>"
    r = stats.loc[agent]
    return (
        f"<b>{name}</b><br>{int(r['invocations'])} steps, {int(r['attempts'])} attempts"
        f"<br>success {theme.pct(r['success_rate'])} · first attempt {theme.pct(r['first_attempt_success_rate'])}"
        f" · retries {theme.pct(r['retry_rate'])}"
        f"<br>p95 {theme.duration(r['p95_ms'])} · cost {theme.usd(r['cost_usd'])}"
    )


def node_size(steps: float, most: float) -> float:
    """A node's diameter in pixels: its area is proportional to its steps (the busiest agent gets
    NODE_SIZE), never below MIN_NODE_SIZE so a rare agent stays visible and clickable."""
    return max(NODE_SIZE * math.sqrt(steps / most), MIN_NODE_SIZE) if most > 0 else MIN_NODE_SIZE


@dataclass(frozen=True, slots=True)
class GraphChart:
    option: Option  # for st.echarts_chart
    height: int  # pixels: room for the tallest layer


def figure(edges: pd.DataFrame, nodes: pd.DataFrame, option: NodeMetric) -> GraphChart:
    """The graph of `transitions` (edges) with `agent_nodes` stats, nodes coloured by `option`."""
    metric, title = agent_graph.METRICS[option]
    lay = agent_graph.layered(edges)
    stats = nodes.set_index("agent_name") if not nodes.empty else pd.DataFrame()
    agents = [n for n in lay.pos if n not in (START, END)]
    values = {n: _value(stats, n, metric) for n in agents}
    known = [v for v in values.values() if v is not None]
    top = 1.0 if metric in RATE_METRICS else (max(known) if known else 1.0) or 1.0
    stops = SCALES["good_high" if metric == "success_rate" else "bad_high"]
    steps = {n: _value(stats, n, "invocations") or 1.0 for n in agents}
    biggest = max(steps.values(), default=1.0) or 1.0

    data: list[Option] = []
    for n in agents:
        v = values[n]
        data.append({
            "name": n, "value": list(lay.pos[n]),
            "symbolSize": node_size(steps[n], biggest),
            "itemStyle": {"color": shade(stops, v / top) if v is not None else theme.MUTED,
                          "borderColor": "#1f2937", "borderWidth": 1.5},
            "tooltip": {"formatter": _hover(stats, n)},
        })  # fmt: skip
    for n in (START, END):
        if n in lay.pos:
            data.append({
                "name": n, "value": list(lay.pos[n]), "symbol": "diamond",
                "symbolSize": 16, "label": {"formatter": "start" if n == START else "end"},
                "itemStyle": {"color": "#d1d5db", "borderColor": "#6b7280", "borderWidth": 1},
                "tooltip": {"show": False},
            })  # fmt: skip

    most = max(float(edges["count"].max()), 1.0)
    links: list[Option] = []
    rings: list[Option] = []  # ECharts draws no edge from a node to itself: a dotted ring above it
    for s, t, c in zip(edges["source"], edges["target"], edges["count"], strict=True):
        s, t = str(s), str(t)
        hops = lay.layer[t] - lay.layer[s]
        back = hops < 0 or s == t  # work sent back to an earlier agent (or the same one): a loop
        color = agent_graph.LOOP_COLOR if back else agent_graph.EDGE_COLOR
        width = 1.5 + 5 * math.sqrt(float(c) / most)
        text = html.escape(f"{s} → {t}: {int(c)} handoffs" + (" (loop)" if back else ""))
        if s == t:
            x, y = lay.pos[s]
            rings.append({
                "name": text, "value": [x, y + RING_LIFT], "symbolSize": 22,
                "itemStyle": {"color": "rgba(0,0,0,0)", "borderColor": color, "borderWidth": width * 0.7,
                              "borderType": "dotted"},
                "label": {"show": True, "position": "top", "formatter": str(int(c)), "color": color, "fontSize": 11},
                "tooltip": {"formatter": text},
            })  # fmt: skip
            continue
        # loops bend one way, edges skipping a layer (or within one) the other, clear of other nodes
        bend = 0.3 if back else (0.25 if hops > 1 or hops == 0 else 0.0)
        links.append({
            "source": s, "target": t, "value": int(c),
            "lineStyle": {"color": color, "width": width, "type": "dotted" if back else "solid", "curveness": bend,
                          "opacity": 0.9},
            "label": {"show": True, "formatter": "{c}", "color": color, "fontSize": 11},
            "tooltip": {"formatter": text},
        })  # fmt: skip

    label = {"p95_ms": theme.duration, "cost_usd": theme.usd}.get(metric, lambda v: theme.pct(v, 0))
    rows = max((sum(1 for v in lay.layer.values() if v == lv) for lv in set(lay.layer.values())), default=1)
    bar: Option = {
        "type": "continuous", "min": 0.0, "max": top, "seriesIndex": [], "calculable": False,
        "orient": "vertical", "right": 0, "top": "middle", "text": [f"{title} {label(top)}", label(0.0)],
        "itemHeight": 120,
        "inRange": {"color": list(stops)}, "formatter": "{value}", "precision": 2,
    }  # fmt: skip
    described = "; ".join(item["tooltip"]["formatter"] for item in (*links, *rings))
    xs = [x for x, _ in lay.pos.values()]
    ys = [y for _, y in lay.pos.values()]
    chart: Option = {
        "animation": False,
        # nodes sit on hidden axes (layer, row), so a one-row graph keeps round nodes
        "grid": {"left": 30, "right": 150 if known else 30, "top": 10, "bottom": 10},
        "xAxis": {"type": "value", "show": False, "min": min(xs) - MARGIN[0], "max": max(xs) + MARGIN[0]},
        "yAxis": {"type": "value", "show": False, "min": min(ys) - MARGIN[1], "max": max(ys) + MARGIN[1]},
        "aria": {"enabled": True, "label": {"description": f"Agent graph, nodes coloured by {title}: {described}"}},
        "tooltip": {"trigger": "item"},
        "visualMap": [bar] if known else [],
        "series": [{
            "type": "graph", "layout": "none", "coordinateSystem": "cartesian2d", "data": data, "links": links,
            "edgeSymbol": ["none", "arrow"], "edgeSymbolSize": 10,
            "label": {"show": True, "position": "bottom", "fontSize": 12},
            "edgeLabel": {"show": True},
            "emphasis": {"focus": "adjacency"},
        }, *([{"type": "scatter", "name": "self-loops", "data": rings, "z": 1}] if rings else [])],
    }  # fmt: skip
    return GraphChart(chart, max(360, 140 * rows))
