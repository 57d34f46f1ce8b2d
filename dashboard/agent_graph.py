"""A workflow's observed agent graph: its layout (layered left to right from `__start__`), the node
metrics it can be coloured by, and its colours. `charts_graph` draws it."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

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
