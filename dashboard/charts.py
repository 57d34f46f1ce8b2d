"""Plotly figures shared by the pages, in the dashboard's colours and units."""

from __future__ import annotations

from typing import Final, Literal

import pandas as pd
import plotly.graph_objects as go

from dashboard import theme

Unit = Literal["usd", "count", "ms", "pct", "tokens"]
HOVER: Final[dict[Unit, str]] = {
    "usd": "$%{y:,.4f}",
    "count": "%{y:,.0f}",
    "ms": "%{y:,.0f} ms",
    "pct": "%{y:.1%}",
    "tokens": "%{y:,.0f}",
}
TICKS: Final[dict[Unit, dict[str, str]]] = {
    "usd": {"tickprefix": "$", "tickformat": ",.4~f"},
    "count": {"tickformat": ",~s"},
    "ms": {"ticksuffix": " ms", "tickformat": ",~s"},
    "pct": {"tickformat": ".0%"},
    "tokens": {"tickformat": ",~s"},
}


def layout(fig: go.Figure, title: str | None = None, height: int = 320) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
        hovermode="x unified",
    )
    return fig


def group_color(dimension: str, group: str) -> str:
    """Agents keep their colour; a workflow, model or service gets a stable one from its name."""
    if dimension == "status":
        return theme.status_color(group)
    return theme.color_of(dimension, group)


def over_time(
    frame: pd.DataFrame,
    unit: Unit,
    *,
    title: str | None = None,
    dimension: str = "none",
    kind: Literal["bar", "line"] = "bar",
    top: int = 8,
    span_ns: tuple[int, int] | None = None,
    buckets: int | None = None,
) -> go.Figure:
    """A `timeseries` answer as stacked bars (additive metrics) or lines (rates, percentiles).

    With `span_ns` (the query's start and end) and `buckets`, the x axis shows the whole range and
    each bar is one bucket wide, so a quiet range looks quiet instead of one fat bar.
    """
    fig = go.Figure()
    width_ms = (span_ns[1] - span_ns[0]) / buckets / 1e6 if span_ns and buckets else None
    if not frame.empty:
        frame = frame.assign(time=pd.to_datetime(frame["bucket_start_ns"], unit="ns", utc=True))
        totals = frame.groupby("group")["value"].sum().sort_values(ascending=False)
        keep = list(totals.index[:top])
        if kind == "bar" and len(totals) > top:
            other = frame[~frame["group"].isin(keep)].groupby("time", as_index=False)["value"].sum()
            other["group"] = "other"
            frame = pd.concat([frame[frame["group"].isin(keep)], other], ignore_index=True)
            keep.append("other")
        else:
            frame = frame[frame["group"].isin(keep)]
        for group in keep:
            part = frame[frame["group"] == group].sort_values("time")
            name = "all" if dimension == "none" else str(group)
            color = theme.MUTED if group == "other" else group_color(dimension, str(group))
            if kind == "bar":
                fig.add_bar(
                    x=part["time"] + pd.Timedelta(milliseconds=width_ms / 2) if width_ms else part["time"],
                    y=part["value"], name=name, marker_color=color, hovertemplate=HOVER[unit],
                    width=width_ms * 0.9 if width_ms else None,
                )  # fmt: skip
            else:
                fig.add_scatter(
                    x=part["time"], y=part["value"], name=name, mode="lines+markers",
                    line={"color": color, "width": 2}, marker={"size": 5}, hovertemplate=HOVER[unit],
                )  # fmt: skip
        fig.update_layout(barmode="stack", showlegend=dimension != "none")
    fig.update_yaxes(**TICKS[unit], rangemode="tozero")
    if span_ns:
        fig.update_xaxes(
            range=[pd.Timestamp(span_ns[0], unit="ns", tz="UTC"), pd.Timestamp(span_ns[1], unit="ns", tz="UTC")]
        )
    return layout(fig, title)
