"""One trace: its summary, the waterfall coloured by agent, the span tree, and a span's details."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from agentdeck.dashboard import components, data, scoring, span_view, theme

WATERFALL_PAGE: Final = 300  # spans drawn at once; longer traces page through the waterfall


def span_order(spans: pd.DataFrame) -> tuple[list[int], list[int]]:
    """Row positions in tree order (parents before children, siblings by start) and each one's depth.

    Spans whose parent is not in the trace (not arrived, or cut off) start their own subtree.
    """
    ids = list(spans["span_id"])
    known = set(ids)
    children: dict[str | None, list[int]] = defaultdict(list)
    for pos, parent in enumerate(spans["parent_span_id"]):
        key = parent if isinstance(parent, str) and parent in known else None
        children[key].append(pos)
    starts = list(spans["start_ns"])
    order: list[int] = []
    depth: list[int] = []
    stack: list[tuple[int, int]] = [(p, 0) for p in sorted(children[None], key=lambda p: starts[p], reverse=True)]
    seen: set[int] = set()
    while stack:
        pos, d = stack.pop()
        if pos in seen:
            continue
        seen.add(pos)
        order.append(pos)
        depth.append(d)
        kids = sorted(children.get(ids[pos], []), key=lambda p: starts[p], reverse=True)
        stack.extend((k, d + 1) for k in kids)
    return order, depth


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _plain(value: object) -> str:
    """Span text for plotly, which reads <a href>, <b> and <br> in labels, bar text and hover as markup."""
    return html.escape(str(value), quote=False)  # plotly decodes &lt; &gt; &amp;, not &quot;


def waterfall(spans: pd.DataFrame, order: list[int], depth: list[int], first: int) -> go.Figure:
    t0 = int(spans["start_ns"].min())
    rows = list(zip(order, depth, strict=True))[first : first + WATERFALL_PAGE]
    page = spans.iloc[[pos for pos, _ in rows]]  # one take, then plain lists: no per-row Series
    cols = {
        c: page[c].tolist()
        for c in ("name", "start_ns", "duration_ms", "agent_name", "span_type", "status_code", "attempt",
                  "retry_reason", "error_type", "cost_usd", "usage_counted")
    }  # fmt: skip
    y, base, width, colors, lines, text, hover = [], [], [], [], [], [], []
    for i, (_, d) in enumerate(rows):
        r = {c: v[i] for c, v in cols.items()}
        y.append(f"{first + i + 1:>4} {'  ' * min(d, 12)}{_plain(str(r['name'])[:60])}")
        base.append((int(r["start_ns"]) - t0) / 1e6)
        width.append(max(float(r["duration_ms"]), 0.0))
        agent = r["agent_name"] if isinstance(r["agent_name"], str) else None
        shown_agent = _plain(agent) if agent else "no agent"
        colors.append(theme.SPAN_TYPE_COLORS["workflow"] if r["span_type"] == "workflow" else theme.agent_color(agent))
        failed = r["status_code"] == "ERROR"
        lines.append(theme.ERROR_COLOR if failed else "rgba(0,0,0,0)")
        attempt = _num(r["attempt"])
        tags = []
        if attempt and attempt > 1:
            reason = r["retry_reason"] if isinstance(r["retry_reason"], str) else "retry"
            tags.append(f"↻ attempt {int(attempt)} ({_plain(reason)})")
        if failed:
            tags.append(f"✖ {_plain(r['error_type']) if isinstance(r['error_type'], str) else 'error'}")
        text.append("  ".join(tags))
        cost = _num(r["cost_usd"])
        hover.append(
            f"<b>{_plain(r['name'])}</b><br>{_plain(r['span_type'])} · {shown_agent}<br>"
            f"{theme.duration(r['duration_ms'])} from +{theme.duration(base[-1])}"
            + (f"<br>{theme.usd(cost)}" if cost is not None and r["usage_counted"] else "")
            + (f"<br>{text[-1]}" if text[-1] else "")
        )
    fig = go.Figure(
        go.Bar(
            y=y, x=width, base=base, orientation="h",
            marker={"color": colors, "line": {"color": lines, "width": 2}},
            text=text, textposition="outside", cliponaxis=False,
            hovertext=hover, hoverinfo="text",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", tickfont={"family": "monospace", "size": 11}, type="category")
    fig.update_xaxes(title="ms since the trace started", ticksuffix=" ms", rangemode="tozero")
    fig.update_layout(
        height=max(160, 24 * len(rows) + 80),
        margin={"l": 10, "r": 200, "t": 10, "b": 40},
        showlegend=False,
        bargap=0.25,
    )
    return fig


def _summary(spans: pd.DataFrame) -> None:
    root = spans[spans["parent_span_id"].isna()]
    head = root.iloc[0] if not root.empty else spans.iloc[0]
    counted = spans[spans["usage_counted"].astype(bool)]
    failed = spans[spans["status_code"] == "ERROR"]
    outcome = spans["outcome"].dropna()
    status = outcome.iloc[0] if not outcome.empty else ("error" if head["status_code"] == "ERROR" else "ok")
    workflow = spans["workflow_name"].dropna()
    st.subheader(components.inert(workflow.iloc[0] if not workflow.empty else head["name"]), anchor=False)
    duration = (int(spans["end_ns"].max()) - int(spans["start_ns"].min())) / 1e6
    cols = st.columns([1.6, 1, 1, 1, 1, 1])  # room for "dead_letter" / "incomplete" in the status
    cols[0].metric("Status", components.status_badge("error" if status in ("failed", "error") else "ok", status))
    cols[1].metric("Duration", theme.duration(duration))
    cols[2].metric("Cost", theme.usd(counted["cost_usd"].sum()))
    cols[3].metric(
        "Tokens", theme.tokens(counted["input_tokens"].fillna(0).sum() + counted["output_tokens"].fillna(0).sum())
    )
    cols[4].metric("Spans", theme.count(len(spans)))
    cols[5].metric("Errors", theme.count(len(failed)))
    facts = [f"trace `{spans['trace_id'].iloc[0]}`", f"started {theme.timestamp(spans['start_ns'].min())} UTC"]
    for col, label in (("service_name", "service"), ("thread_id", "thread"), ("replay_of", "replay of")):
        values = spans[col].dropna()
        if not values.empty:
            facts.append(f"{label} {components.inert(values.iloc[0])}")
    checkpoints = spans["checkpoint_id"].dropna().unique()
    if len(checkpoints):
        facts.append(f"{len(checkpoints)} checkpoints")
    st.caption(" · ".join(facts))
    st.page_link(components.REPLAY_PAGE, label="Open in Replay", icon=":material/history:",
                 query_params={"trace_id": str(spans["trace_id"].iloc[0])})  # fmt: skip


def _tree_table(spans: pd.DataFrame, order: list[int], depth: list[int]) -> int | None:
    """The span tree as a table (the span column pinned); answers the row position of the picked span."""
    picked = spans.iloc[order]
    shown = pd.DataFrame(
        {
            "Span": [("│ " * min(d, 12)) + str(n) for d, n in zip(depth, picked["name"], strict=True)],
            "Status": ["✖ " + (e if isinstance(e, str) else "error") if s == "ERROR" else "ok"
                       for s, e in zip(picked["status_code"], picked["error_type"], strict=True)],
            "Duration": [theme.duration(v) for v in picked["duration_ms"]],
            "Agent": picked["agent_name"].fillna("").to_numpy(),
            "Tokens": (picked["input_tokens"].fillna(0) + picked["output_tokens"].fillna(0)).astype(int).to_numpy(),
            "Cost": picked["cost_usd"].where(picked["usage_counted"].astype(bool)).to_numpy(),
            "Type": picked["span_type"].to_numpy(),
            "Attempt": ["" if _num(v) is None else str(int(v)) for v in picked["attempt"]],
            "Model": picked["response_model"].fillna(picked["request_model"]).fillna("").to_numpy(),
        }
    )  # fmt: skip
    event = components.table(
        shown,
        pinned="Span",
        on_select="rerun",
        selection_mode="single-row",
        key="span_tree",
        height=min(38 + 35 * len(shown), 420),
        column_config={"Cost": st.column_config.NumberColumn(format="$%.5f")},
    )
    rows = event.selection.rows if event else []
    return order[rows[0]] if rows else None


HALTS: Final = ("budget_exhausted", "deadline_exhausted")  # the engine's error types for a stopped task


def _default_span(spans: pd.DataFrame, order: list[int]) -> int:
    """The span a link names (`span_id`, e.g. from an alert), else the step that stopped the task (a
    budget or deadline stop), else the first failed step, else the first LLM call."""
    ids = spans["span_id"].to_numpy()
    failed = (spans["status_code"] == "ERROR").to_numpy()
    kinds = spans["span_type"].to_numpy()
    halted = spans["error_type"].isin(HALTS).to_numpy()
    wanted = (st.query_params.get("span_id") or "").strip().lower()
    named = [p for p in order if ids[p] == wanted] if wanted else []
    if wanted and not named:
        st.warning(f"Span {components.inert(wanted)} is not in this trace; showing its first failed step instead.")
    picks = (
        named,
        [p for p in order if failed[p] and halted[p]],
        [p for p in order if failed[p] and kinds[p] != "workflow"],
        [p for p in order if failed[p]],
        [p for p in order if kinds[p] == "llm"],
    )
    return next((pick[0] for pick in picks if pick), order[0])


def llm_call_of(spans: pd.DataFrame, pos: int) -> int | None:
    """For a step (agent, task) span: the LLM call under it whose messages explain it: its failed call,
    else its last one. None for an LLM span itself or a span without calls."""
    if spans["span_type"].iloc[pos] == "llm":
        return None
    calls = spans[(spans["parent_span_id"] == spans["span_id"].iloc[pos]) & (spans["span_type"] == "llm")]
    if calls.empty:
        return None
    failed = calls[calls["status_code"] == "ERROR"]
    chosen = (failed if not failed.empty else calls).sort_values("start_ns").index[-1]
    return int(spans.index.get_loc(chosen))  # type: ignore[arg-type]


def _full_span(trace_id: str, span_id: str) -> pd.Series | None:
    full = data.query("trace", {"trace_id": trace_id, "span_id": span_id})
    return None if full.empty else full.iloc[0]


def render(trace_id: str) -> None:
    # The span list without the large text columns; the span panel fetches its one span in full.
    spans = data.query("trace", {"trace_id": trace_id, "columns": "light"})
    if spans.empty:
        components.empty_state(
            "This trace is not in the collector",
            f"No spans with trace id {components.inert(trace_id)}. It may not have arrived yet, "
            "or it was sent to another collector.",
        )
        return
    _summary(spans)
    scoring.panel(trace_id)
    if data.is_truncated(spans):
        st.warning("This trace has more spans than one view shows; the first 20,000 by start time are here.")
    order, depth = span_order(spans)
    st.markdown("##### Waterfall")
    st.caption("Bars coloured by agent · red outline = failed span · ↻ = retry attempt")
    first = 0
    if len(order) > WATERFALL_PAGE:
        pages = math.ceil(len(order) / WATERFALL_PAGE)
        page = st.number_input(f"Waterfall page (of {pages}, {WATERFALL_PAGE} spans each)", 1, pages, 1, key="wf_page")
        first = (int(page) - 1) * WATERFALL_PAGE
    st.plotly_chart(waterfall(spans, order, depth, first), key="waterfall", config={"displayModeBar": False})
    left, right = st.columns([1, 1])
    with left:
        st.markdown("##### Span tree")
        picked = _tree_table(spans, order, depth)
    pos = picked if picked is not None else _default_span(spans, order)
    span_id = str(spans["span_id"].iloc[pos])
    if picked is not None and st.query_params.get("span_id") != span_id:
        st.query_params["span_id"] = span_id  # the picked span is part of the link
    with right:
        row = _full_span(trace_id, span_id)
        if row is None:
            st.caption("This span is no longer in the collector; reload the page.")
            return
        call = llm_call_of(spans, pos)
        call_row = _full_span(trace_id, str(spans["span_id"].iloc[call])) if call is not None else None
        span_view.panel(row, call_row)
