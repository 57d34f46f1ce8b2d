"""The global filters every page honours: time range, workflow and service, kept in the URL.

The sidebar widgets are bound to query parameters (`range`, `workflow`, `service`), so a copied link
opens the same view. Pages read the current selection with `current()`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import streamlit as st

from agentdeck.dashboard import data, theme

RANGES: Final = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}
RANGE_LABELS: Final = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "6h": "Last 6 hours",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
DEFAULT_RANGE: Final = "24h"
# "now" is rounded up to this grain so queries in one refresh share cache entries.
GRAIN_NS: Final = 5_000_000_000
ALL: Final = ""


@dataclass(frozen=True, slots=True)
class Filters:
    range_key: str
    start_ns: int
    end_ns: int
    workflow: str | None
    service: str | None

    def params(self) -> dict[str, str | None]:
        """The common query parameters (start_ns, end_ns, workflow, service)."""
        return {
            "start_ns": str(self.start_ns),
            "end_ns": str(self.end_ns),
            "workflow": self.workflow,
            "service": self.service,
        }

    def previous(self) -> Filters:
        """The same filters over the period of equal length just before this one."""
        length = self.end_ns - self.start_ns
        return Filters(self.range_key, self.start_ns - length, self.start_ns, self.workflow, self.service)

    @property
    def label(self) -> str:
        return RANGE_LABELS.get(self.range_key, self.range_key)


def _now_ns() -> int:
    now = time.time_ns()
    return (now // GRAIN_NS + 1) * GRAIN_NS


def current() -> Filters:
    """The selection in the sidebar (or the URL, before the sidebar has rendered)."""
    key = st.session_state.get("range") or st.query_params.get("range") or DEFAULT_RANGE
    if key not in RANGES:
        key = DEFAULT_RANGE
    end = _now_ns()
    workflow = st.session_state.get("workflow", st.query_params.get("workflow", ALL)) or None
    service = st.session_state.get("service", st.query_params.get("service", ALL)) or None
    return Filters(key, end - RANGES[key] * 1_000_000_000, end, workflow, service)


def _facets(start_ns: int, end_ns: int) -> dict[str, list[str]]:
    try:
        frame = data.query("facets", {"start_ns": str(start_ns), "end_ns": str(end_ns)})
    except data.DataError:
        return {}
    out: dict[str, list[str]] = {}
    for dimension, value in zip(frame.get("dimension", []), frame.get("value", []), strict=True):
        out.setdefault(str(dimension), []).append(str(value))
    return out


def _with_url_value(options: list[str], key: str) -> list[str]:
    """Keep a value that came in a link selectable even when the range has no spans of it."""
    wanted = st.query_params.get(key) or st.session_state.get(key)
    out = [ALL, *options]
    if wanted and wanted not in out:
        out.append(wanted)
    return out


def sidebar() -> Filters:
    """Render the global filters in the sidebar and answer the selection."""
    with st.sidebar:
        st.selectbox(
            "Time range",
            list(RANGES),
            index=list(RANGES).index(DEFAULT_RANGE),
            key="range",
            help="Bound to the URL (`?range=`), like every filter, so a copied link opens the same view.",
            bind="query-params",
        )
        key = st.session_state.get("range") or DEFAULT_RANGE
        end = _now_ns()
        start = end - RANGES.get(key, RANGES[DEFAULT_RANGE]) * 1_000_000_000
        facets = _facets(start, end)
        for dimension, names in facets.items():
            theme.assign_colors(dimension, names)
        st.selectbox(
            "Workflow",
            _with_url_value(facets.get("workflow", []), "workflow"),
            format_func=lambda v: v or "All workflows",
            key="workflow",
            bind="query-params",
        )
        st.selectbox(
            "Service",
            _with_url_value(facets.get("service", []), "service"),
            format_func=lambda v: v or "All services",
            key="service",
            bind="query-params",
        )
        st.caption(f"Collector: `{data.settings().collector_url}`")
    return current()
