"""Traces: find the task (filter, sort, page), then open it (`?trace_id=...`)."""

from __future__ import annotations

import math
from typing import Final

import streamlit as st

from agentdeck.dashboard import components, data, datasets_panel, filters, trace_detail, trace_pair

PAGE_SIZE: Final = 50
STATUSES: Final = ["", "ok", "error", "incomplete", "dead_letter"]
# Bound widgets put the shown option in the URL, so options are shown as the URL spells them.
SORTS: Final = ["start", "cost", "duration", "tokens", "spans"]


def _facet(dimension: str, f: filters.Filters, key: str) -> list[str]:
    try:
        frame = data.query("facets", f.params())
        values = [str(v) for v in frame.loc[frame["dimension"] == dimension, "value"]] if not frame.empty else []
    except data.DataError:
        values = []
    wanted = st.query_params.get(key)
    return ["", *values, *([wanted] if wanted and wanted not in values else [])]


def _number(key: str) -> float | None:
    value = st.session_state.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def filter_bar(f: filters.Filters) -> dict[str, str | int | float | bool | None]:
    c = st.columns([2, 2, 2, 3])
    c[0].selectbox(
        "Agent", _facet("agent", f, "agent"), format_func=lambda v: v or "Any agent", key="agent", bind="query-params"
    )
    c[1].selectbox("Status", STATUSES, format_func=lambda v: v or "any", key="status", bind="query-params")
    c[2].selectbox(
        "Model", _facet("model", f, "model"), format_func=lambda v: v or "Any model", key="model", bind="query-params"
    )
    c[3].text_input(
        "Search inputs, outputs and errors", key="q", placeholder="e.g. refund, TimeoutError", bind="query-params"
    )
    c = st.columns([1, 1, 1, 1, 2, 1])
    c[0].number_input(
        "Min cost ($)", min_value=0.0, value=None, step=0.01, format="%.4f", key="min_cost", bind="query-params"
    )
    c[1].number_input(
        "Max cost ($)", min_value=0.0, value=None, step=0.01, format="%.4f", key="max_cost", bind="query-params"
    )
    c[2].number_input("Min duration (ms)", min_value=0.0, value=None, step=100.0, key="min_ms", bind="query-params")
    c[3].selectbox("Sort by", SORTS, key="sort", bind="query-params")
    c[4].toggle("Replays only", key="replays", bind="query-params")
    c[5].toggle("Ascending", key="asc", bind="query-params")
    return {
        **f.params(),
        "agent": st.session_state.get("agent") or None,
        "status": st.session_state.get("status") or None,
        "model": st.session_state.get("model") or None,
        "q": (st.session_state.get("q") or "").strip() or None,
        "min_cost": _number("min_cost"),
        "max_cost": _number("max_cost"),
        "min_duration_ms": _number("min_ms"),
        "replays_only": bool(st.session_state.get("replays")) or None,
        "order_by": st.session_state.get("sort") or "start",
        "desc": not st.session_state.get("asc"),
    }


def trace_list() -> None:
    f = filters.current()
    params = filter_bar(f)
    datasets_panel.save_as_dataset(params)
    page = int(st.session_state.get("page") or 1)

    def results() -> None:
        frame = data.query("traces", {**params, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE})
        if frame.empty:
            if page > 1:
                st.info("No traces on this page; go back to page 1.")
            elif any(
                params.get(k) for k in ("agent", "status", "model", "q", "min_cost", "max_cost", "min_duration_ms")
            ):
                components.empty_state("No traces match these filters", "Loosen a filter or widen the time range.")
            else:
                components.no_data(f.label)
            return
        total = int(frame["total_count"].iloc[0])
        first = (page - 1) * PAGE_SIZE + 1
        last = first + len(frame) - 1
        st.caption(f"Traces {first} to {last} of {total:,} · {f.label.lower()} · pick a row to open it")
        components.trace_table(frame, key="trace_list")

    components.live(results)
    st.number_input("Page", min_value=1, value=1, step=1, key="page", bind="query-params", width=160)


def main() -> None:
    trace_id = (st.query_params.get("trace_id") or "").strip().lower()
    if trace_id:
        if st.button("← All traces", key="back"):
            del st.query_params["trace_id"]
            st.query_params.pop("span_id", None)
            st.query_params.pop(trace_pair.KEY, None)
            st.rerun()
        other = (st.query_params.get(trace_pair.KEY) or "").strip().lower()
        if other:
            st.title("Two traces side by side")
            components.guarded(lambda: trace_pair.render(trace_id, other))
            return
        st.title("Trace")
        trace_pair.picker(trace_id)
        components.guarded(lambda: trace_detail.render(trace_id))
    else:
        st.title("Traces")
        trace_list()


main()
