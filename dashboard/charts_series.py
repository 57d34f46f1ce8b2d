"""Time series as ECharts options (`st.echarts_chart`), in the dashboard's colours and units.

ECharts draws a page's charts in a fraction of the time plotly.js takes to load in the browser
(docs/BENCHMARKS.md, "Dashboard speed work"), so the Overview and Agents pages use it; the trace
waterfall stays plotly.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from agentdeck.dashboard import theme

Unit = Literal["usd", "count", "ms", "pct", "tokens"]
Option = dict[str, Any]  # an ECharts option object, as st.echarts_chart takes it
HEIGHT: Final = 340
TOP_SERIES: Final = 8  # more groups than this are folded into one "other" series
OTHER: Final = "other"
# Legend layout, for the narrowest chart (a third of a 1440 px page): an item is its icon, gap and text.
LEGEND_WIDTH_PX: Final = 380
HALF_WIDTH_PX: Final = 560  # a chart in one of two columns
FULL_WIDTH_PX: Final = 1100  # a chart across the page
LEGEND_ICON_PX: Final = 38
LEGEND_CHAR_PX: Final = 7
LEGEND_ROW_PX: Final = 22

# Tooltip number formats (Streamlit's `valueFormatter`) and y-axis label templates per unit.
# Rates are charted in percent (x100) and durations in seconds, so the axis says "%" or "s" without a
# JavaScript formatter.
VALUE_FORMAT: Final[dict[Unit, str]] = {
    "usd": "$%.4f",
    "count": "localized",
    "ms": "%.1f s",
    "pct": "%.1f%%",
    "tokens": "localized",
}
AXIS_LABEL: Final[dict[Unit, str]] = {
    "usd": "${value}",
    "count": "{value}",
    "ms": "{value} s",
    "pct": "{value}%",
    "tokens": "{value}",
}


def group_color(dimension: str, group: str) -> str:
    """Agents keep their colour; a workflow, model or service gets a stable one from its name."""
    if dimension == "status":
        return theme.status_color(group)
    return theme.color_of(dimension, group)


def top_groups(frame: pd.DataFrame, top: int, additive: bool) -> tuple[pd.DataFrame, list[str]]:
    """The `top` groups by total value, and the others folded into one "other" series: summed for
    additive metrics (spend, tasks), averaged for rates and percentiles (which cannot be added)."""
    totals = frame.groupby("group")["value"].sum().sort_values(ascending=False)
    keep = [str(g) for g in totals.index[:top]]
    frame = frame.assign(group=frame["group"].astype(str))
    if len(totals) <= top:
        return frame, keep
    rest = frame[~frame["group"].isin(keep)].groupby("bucket_start_ns", as_index=False)["value"]
    other = rest.sum() if additive else rest.mean()
    name = OTHER if additive else f"{OTHER} ({len(totals) - top}, average)"
    other["group"] = name
    return pd.concat([frame[frame["group"].isin(keep)], other], ignore_index=True), [*keep, name]


def _number(value: object) -> float | None:
    v = float(value)  # type: ignore[arg-type]
    return None if math.isnan(v) else v


def legend_rows(names: list[str], width_px: int = LEGEND_WIDTH_PX) -> int:
    """How many rows a plain (never paginated) legend of `names` takes in a chart `width_px` wide."""
    rows, used = 1, 0
    for name in names:
        item = LEGEND_ICON_PX + LEGEND_CHAR_PX * len(name)
        if used and used + item > width_px:
            rows, used = rows + 1, 0
        used += item
    return rows


def over_time(
    frame: pd.DataFrame,
    unit: Unit,
    *,
    title: str,
    dimension: str = "none",
    kind: Literal["bar", "line"] = "bar",
    top: int = TOP_SERIES,
    span_ns: tuple[int, int] | None = None,
    buckets: int | None = None,
    width_px: int = LEGEND_WIDTH_PX,
) -> Option:
    """A `timeseries` answer as stacked bars (additive metrics) or lines (rates, percentiles).

    With `span_ns` (the query's start and end) and `buckets`, each point sits at its bucket's
    middle and the x axis shows the whole range, so a quiet range looks quiet: a bucket without
    data is a zero bar, or a gap in a line (never a straight line drawn across hours of nothing).
    At most `top` series, the rest folded into "other"; the legend is never paginated: it wraps, and
    the plot leaves it the rows it needs in a chart about `width_px` wide.
    """
    series: list[Option] = []
    names: list[str] = []
    # rates are charted in percent, durations in seconds (as tables write a p95 of 25 s, not 25,000 ms)
    scale = {"pct": 100.0, "ms": 0.001}.get(unit, 1.0)
    if not frame.empty:
        shown, groups = top_groups(frame, top, additive=kind == "bar")
        # the collector's bucket width (ceil(range / buckets)); every bucket of the range gets a point
        step_ns = -(-(span_ns[1] - span_ns[0]) // buckets) if span_ns and buckets else 0
        grid = [span_ns[0] + i * step_ns for i in range(buckets)] if span_ns and buckets else []
        empty = 0.0 if kind == "bar" else None  # a bar of nothing is zero; a rate of nothing is unknown
        colors = theme.distinct_colors(dimension, groups) if dimension != "status" else {}
        for group in groups:
            part = shown[shown["group"] == group]
            values = {int(t): _number(y) for t, y in zip(part["bucket_start_ns"], part["value"], strict=True)}
            starts = sorted(set(values) | set(grid))
            points = [
                [(t + step_ns // 2) // 1_000_000, None if (v := values.get(t, empty)) is None else v * scale]
                for t in starts
            ]
            folded = len(groups) > top and group == groups[-1]  # the "other" series
            color = theme.MUTED if folded else colors.get(group) or group_color(dimension, group)
            name = "all" if dimension == "none" else group
            names.append(name)
            one: Option = {"name": name, "type": kind, "data": points, "itemStyle": {"color": color}}
            if kind == "bar":
                one.update(stack="total", barCategoryGap="10%")
            else:
                one.update(symbolSize=5, lineStyle={"width": 2, "color": color}, connectNulls=False)
            series.append(one)
    x_axis: Option = {"type": "time"}
    if span_ns:
        x_axis.update(min=span_ns[0] // 1_000_000, max=span_ns[1] // 1_000_000)
    legend = dimension != "none"
    rows = legend_rows(names, width_px) if legend and names else 1
    return {
        "animation": False,  # drawn at once: no half-grown bars in a screenshot, less work in the browser
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        # what a screen reader (and a browser test) reads: the chart and its series, as drawn
        "aria": {"enabled": True, "label": {"description": f"{title}: {len(names)} series: {', '.join(names)}"}},
        "tooltip": {"trigger": "axis", "valueFormatter": VALUE_FORMAT[unit]},
        # plain, not "scroll": every name shown, wrapping onto as many rows as it needs
        "legend": {"show": legend, "bottom": 0, "type": "plain", "itemGap": 8},
        "grid": {
            "left": 8,
            "right": 16,
            "top": 44,
            "bottom": (12 + LEGEND_ROW_PX * rows) if legend else 8,
            "containLabel": True,
        },
        "xAxis": x_axis,
        "yAxis": {"type": "value", "min": 0, "axisLabel": {"formatter": AXIS_LABEL[unit]}},
        "series": series,
    }


QUANTILE_MARKS: Final = ((0.5, "dotted", "#4b5563"), (0.95, "dashed", "#4b5563"), (0.99, "solid", theme.ERROR_COLOR))


def distribution(values: pd.Series, *, title: str, bins: int = 40) -> Option:
    """A histogram of cost per task (USD) with its p50, p95 and p99 marked, as an ECharts option."""
    v = values.astype(float).dropna()
    counts, edges = np.histogram(v.to_numpy(), bins=bins) if len(v) else (np.zeros(0, int), np.zeros(1))
    bars = [[float(edges[i] + edges[i + 1]) / 2, int(n)] for i, n in enumerate(counts) if n]
    marks = [
        {
            "xAxis": float(v.quantile(q)),
            "name": f"p{int(q * 100)} {theme.usd(float(v.quantile(q)))}",
            "lineStyle": {"type": style, "color": color},
            # on a white ground, readable where it crosses a bar
            "label": {"formatter": "{b}", "position": "insideEndTop", "backgroundColor": "rgba(255,255,255,0.85)"},
        }
        for q, style, color in (QUANTILE_MARKS if len(v) else ())
    ]
    return {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{c0} tasks"},
        "grid": {"left": 8, "right": 24, "top": 44, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "name": "cost per task",
            "nameLocation": "middle",
            "nameGap": 28,
            "axisLabel": {"formatter": AXIS_LABEL["usd"]},
            "min": float(edges[0]),
            "max": float(edges[-1]),
        },
        # headroom above the tallest bar, where the marks' labels sit
        "yAxis": {
            "type": "value",
            "name": "tasks",
            "min": 0,
            "minInterval": 1,
            "max": math.ceil(max(counts, default=0) * 1.3) or None,
        },
        "series": [
            {
                "name": "tasks",
                "type": "bar",
                "data": bars,
                "barWidth": "90%",
                "itemStyle": {"color": "#0072B2"},
                # ECharts rounds a mark line's position to `precision` decimals (2 by default), which drew
                # a p50 of $0.0053 and a p95 of $0.0128 both at $0.01, on top of each other
                "markLine": {"symbol": "none", "silent": True, "precision": 10, "data": marks},
            }
        ],
    }
