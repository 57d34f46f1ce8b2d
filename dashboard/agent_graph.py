"""A workflow's observed agent graph as a plotly figure: layered left to right from `__start__`,
handoffs as arrows (width by count), loops as curved orange arrows, nodes coloured by a metric."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd
import plotly.graph_objects as go

from dashboard import theme

START: Final = "__start__"
END: Final = "__end__"
LOOP_COLOR: Final = "#E69F00"
EDGE_COLOR: Final = "#6b7280"

NodeMetric = Literal["latency", "success", "cost", "retries"]
# option (as shown, and as the URL spells it) -> (agent_nodes column, colour-bar title)
METRICS: Final[dict[str, tuple[str, str]]] = {
    "latency": ("p95_ms", "p95 latency"),
    "success": ("success_rate", "Success rate"),
    "cost": ("cost_usd", "Cost"),
    "retries": ("retry_rate", "Retry rate"),
}


@dataclass(frozen=True, slots=True)
class Layout:
    pos: dict[str, tuple[float, float]]
    layer: dict[str, int]


def layered(edges: pd.DataFrame) -> Layout:
    """Layer = shortest hop count from __start__; __end__ after the deepest layer."""
    succ: dict[str, list[str]] = defaultdict(list)
    nodes: set[str] = set()
    for s, t in zip(edges["source"], edges["target"], strict=True):
        succ[str(s)].append(str(t))
        nodes.update((str(s), str(t)))
    layer: dict[str, int] = {START: 0}
    queue = deque([START])
    while queue:
        n = queue.popleft()
        for t in succ[n]:
            if t not in layer and t != END:
                layer[t] = layer[n] + 1
                queue.append(t)
    deepest = max(layer.values(), default=0)
    for n in sorted(nodes):  # reached only through __end__ or not from __start__: put them mid-way
        if n not in layer and n != END:
            deepest += 1
            layer[n] = deepest
    layer[END] = deepest + 1
    by_layer: dict[int, list[str]] = defaultdict(list)
    for n, lv in layer.items():
        if n in nodes or n in (START, END):
            by_layer[lv].append(n)
    pos: dict[str, tuple[float, float]] = {}
    for lv, members in by_layer.items():
        members.sort()
        for i, n in enumerate(members):
            pos[n] = (float(lv), (len(members) - 1) / 2 - i)
    return Layout(pos, layer)


def _curve(a: tuple[float, float], b: tuple[float, float], bend: float, n: int = 24) -> tuple[list[float], list[float]]:
    (x0, y0), (x1, y1) = a, b
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    cx, cy = mx - dy / length * bend, my + dx / length * bend
    ts = [i / n for i in range(n + 1)]
    xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1 for t in ts]
    ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1 for t in ts]
    return xs, ys


def figure(edges: pd.DataFrame, nodes: pd.DataFrame, option: NodeMetric) -> go.Figure:
    metric, title = METRICS[option]
    lay = layered(edges)
    fig = go.Figure()
    top = max(float(edges["count"].max()), 1.0)
    annotations = []
    for s, t, c in zip(edges["source"], edges["target"], edges["count"], strict=True):
        a, b = lay.pos[str(s)], lay.pos[str(t)]
        width = 1.5 + 5 * math.sqrt(float(c) / top)
        hops = lay.layer[str(t)] - lay.layer[str(s)]
        back = hops < 0 or s == t  # work sent back to an earlier agent (or the same one): a loop
        color = LOOP_COLOR if back else EDGE_COLOR
        if s == t:  # self loop: a small ring above the node
            ring = [i / 24 * 2 * math.pi for i in range(25)]
            xs = [a[0] + 0.12 * math.sin(r) for r in ring]
            ys = [a[1] + 0.18 + 0.14 * (1 - math.cos(r)) / 2 * 2 for r in ring]
            label_at = (a[0], a[1] + 0.48)
        else:
            # loops bend below; edges skipping a layer or within one arc above, clear of other nodes
            xs, ys = _curve(a, b, 0.35 if back else (0.3 if hops > 1 or hops == 0 else 0.0))
            label_at = (xs[len(xs) // 2], ys[len(ys) // 2])
            annotations.append(
                {"x": xs[-1] - (xs[-1] - xs[-2]) * 3, "y": ys[-1] - (ys[-1] - ys[-2]) * 3, "ax": xs[-5], "ay": ys[-5],
                 "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3,
                 "arrowsize": 1.2, "arrowwidth": width * 0.6, "arrowcolor": color, "text": ""}
            )  # fmt: skip
        style = {"color": color, "width": width, "dash": "dot" if back else "solid"}
        fig.add_scatter(x=xs, y=ys, mode="lines", line=style, hoverinfo="text", showlegend=False,
                        hovertext=f"{s} → {t}: {int(c)} handoffs" + (" (loop)" if back else ""))  # fmt: skip
        annotations.append({"x": label_at[0], "y": label_at[1], "text": f"{int(c)}", "showarrow": False,
                            "font": {"size": 11, "color": color}, "bgcolor": "rgba(255,255,255,0.8)"})  # fmt: skip

    stats = nodes.set_index("agent_name") if not nodes.empty else pd.DataFrame()
    agents = [n for n in lay.pos if n not in (START, END)]
    values = [
        float(stats.loc[n, metric]) if n in stats.index and pd.notna(stats.loc[n, metric]) else None for n in agents
    ]
    known = [v for v in values if v is not None]
    scale = "RdYlGn" if metric == "success_rate" else "YlOrRd"
    hover = []
    for n in agents:
        if n in stats.index:
            r = stats.loc[n]
            hover.append(
                f"<b>{n}</b><br>{int(r['invocations'])} steps, {int(r['attempts'])} attempts"
                f"<br>success {theme.pct(r['success_rate'])} · retries {theme.pct(r['retry_rate'])}"
                f"<br>p95 {theme.duration(r['p95_ms'])} · cost {theme.usd(r['cost_usd'])}"
            )
        else:
            hover.append(f"<b>{n}</b>")
    steps = [float(stats.loc[n, "invocations"]) if n in stats.index else 1.0 for n in agents]
    biggest = max(steps, default=1.0) or 1.0
    fig.add_scatter(
        x=[lay.pos[n][0] for n in agents], y=[lay.pos[n][1] for n in agents], mode="markers+text",
        text=agents, textposition="bottom center", hovertext=hover, hoverinfo="text", showlegend=False,
        marker={
            "size": [26 + 24 * math.sqrt(s / biggest) for s in steps],
            "color": [v if v is not None else (min(known) if known else 0) for v in values],
            "colorscale": scale, "reversescale": False, "showscale": bool(known),
            "cmin": 0.0,
            "cmax": 1.0 if metric in ("success_rate", "retry_rate") else (max(known) if known else 1),
            "colorbar": {"title": {"text": title}, "thickness": 12,
                         **({"tickformat": ".0%"} if metric in ("success_rate", "retry_rate") else {}),
                         **({"tickprefix": "$"} if metric == "cost_usd" else {}),
                         **({"ticksuffix": " ms"} if metric == "p95_ms" else {})},
            "line": {"color": "#1f2937", "width": 1.5},
        },
    )  # fmt: skip
    ends = [n for n in (START, END) if n in lay.pos]
    fig.add_scatter(
        x=[lay.pos[n][0] for n in ends], y=[lay.pos[n][1] for n in ends], mode="markers+text",
        text=["start" if n == START else "end" for n in ends], textposition="bottom center",
        marker={"size": 16, "color": "#d1d5db", "symbol": "diamond", "line": {"color": "#6b7280", "width": 1}},
        hoverinfo="skip", showlegend=False,
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor=None)
    rows = max((sum(1 for v in lay.layer.values() if v == lv) for lv in set(lay.layer.values())), default=1)
    fig.update_layout(annotations=annotations, height=max(360, 140 * rows), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor="rgba(0,0,0,0)")  # fmt: skip
    return fig
