"""Small rendering pieces shared by the pages: empty states, data-error notices, live sections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from agentdeck.dashboard import data, theme


def empty_state(title: str, body: str) -> None:
    st.info(f"**{title}**\n\n{body}", icon=":material/inbox:")


def no_data(filters_label: str) -> None:
    s = data.settings()
    empty_state(
        f"No tasks in the {filters_label.lower()}",
        "Send traces to the collector: point your app at it with "
        f"`OTEL_EXPORTER_OTLP_ENDPOINT={s.collector_url}` (any OTLP/HTTP exporter), run "
        "`agentdeck demo` for sample data, or widen the time range in the sidebar.",
    )


def data_error(exc: data.DataError) -> None:
    icon = ":material/cloud_off:" if isinstance(exc, data.CollectorUnavailable) else ":material/error:"
    st.warning(f"**{exc.message}**\n\n{exc.hint}", icon=icon)


def live(body: Callable[[], None]) -> None:
    """Run `body` in a fragment that reloads its data every refresh interval, keeping selections.

    A DataError inside shows as a notice with what to do, never as a traceback.
    """
    interval = data.settings().refresh_s or None

    @st.fragment(run_every=interval)
    def _section() -> None:
        try:
            body()
        except data.DataError as exc:
            data_error(exc)

    _section()


def guarded(body: Callable[[], None]) -> None:
    """Run `body` once; a DataError shows as a notice."""
    try:
        body()
    except data.DataError as exc:
        data_error(exc)


# Column formats shared by every table, so money and rates read the same on every page. Rates are shown
# in percent points (`percent_points`) with one decimal, as `theme.pct` writes them: 92.8%, 10.3%, 30.0%
# (Streamlit's "percent" format drops trailing zeros, so one column read 92.79%, 10.3% and 30%).
USD_COLUMN = st.column_config.NumberColumn(format="$%.4f")
PERCENT_FORMAT = "%.1f%%"
PERCENT_COLUMN = st.column_config.NumberColumn(format=PERCENT_FORMAT)
# A share as a bar, in a neutral blue (Streamlit's default bar colour is its primary red: alarm red).
PERCENT_BAR_COLUMN = st.column_config.ProgressColumn(
    format=PERCENT_FORMAT, min_value=0.0, max_value=100.0, color=theme.AGENT_PALETTE[0]
)


def percent_points(shares: Any) -> Any:
    """0-1 shares (a Series or a number) as percent points, for the percent columns above."""
    return shares * 100.0


def success_bar_column(help: str | None = None) -> Any:
    """A success rate (in percent points) as a bar in the status colour of success (green), never red."""
    return st.column_config.ProgressColumn(
        format=PERCENT_FORMAT, min_value=0.0, max_value=100.0, color=theme.STATUS_COLORS["success"], help=help
    )


TRACES_PAGE = "views/traces.py"
REPLAY_PAGE = "views/replay.py"


STATUS_WORDS = {"ok": "ok", "error": "failed", "incomplete": "incomplete", "dead_letter": "dead letter"}
_WORD_COLORS = {
    "ok": theme.STATUS_COLORS["ok"],
    "failed": theme.STATUS_COLORS["error"],
    "incomplete": theme.STATUS_COLORS["incomplete"],
    "dead letter": theme.STATUS_COLORS["dead_letter"],
}


def status_badge(status: str | None, outcome: str | None = None) -> str:
    """A task's status in one word: ok, failed, incomplete, dead letter."""
    if outcome in ("incomplete", "dead_letter"):
        return STATUS_WORDS[outcome]
    return STATUS_WORDS.get(status or "", status or "n/a")


def color_status(frame: pd.DataFrame, column: str = "Status") -> Any:
    """The frame styled so its status column reads in the status colours."""
    return frame.style.map(
        lambda v: f"color: {_WORD_COLORS.get(str(v), theme.MUTED)}; font-weight: 600", subset=[column]
    )


def open_trace(trace_id: str) -> None:
    """Go to the Traces page with this trace open (the global filters stay in the URL)."""
    st.switch_page(TRACES_PAGE, query_params={"trace_id": trace_id})


def trace_table(frame: pd.DataFrame, *, key: str) -> None:
    """A `traces` answer as a readable table; picking a row opens the trace."""
    shown = pd.DataFrame(
        {
            "Started (UTC)": [theme.timestamp(v) for v in frame["start_ns"]],
            "Workflow": frame["workflow_name"].fillna(frame["root_name"]),
            "Status": [status_badge(s, o) for s, o in zip(frame["status"], frame["outcome"], strict=True)],
            "Duration": [theme.duration(v) for v in frame["duration_ms"]],
            "Cost": frame["cost_usd"].astype(float),
            "Tokens": (frame["input_tokens"].fillna(0) + frame["output_tokens"].fillna(0)).astype(int),
            "Agents": frame["agents"].fillna(""),
            "Spans": frame["span_count"].astype(int),
            "Errors": frame["error_count"].astype(int),
            "Retries": frame["retries"].astype(int),
            "Replay of": [theme.short_id(v) if isinstance(v, str) else "" for v in frame["replay_of"]],
            "Trace": [theme.short_id(v, 12) for v in frame["trace_id"]],
        }
    )
    event = st.dataframe(
        color_status(shown),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config={
            "Cost": USD_COLUMN,
            "Tokens": st.column_config.NumberColumn(format="localized"),
        },
    )
    rows = event.selection.rows if event else []  # type: ignore[union-attr]
    if rows:
        open_trace(str(frame["trace_id"].iloc[rows[0]]))
    labels = {
        str(r.trace_id): f"{r.workflow_name if isinstance(r.workflow_name, str) else r.root_name} · "
        f"{status_badge(str(r.status), r.outcome if isinstance(r.outcome, str) else None)} · "
        f"{theme.usd(r.cost_usd)} · {theme.duration(r.duration_ms)} · {theme.short_id(str(r.trace_id), 12)}"
        for r in frame.itertuples()
    }
    picked = st.selectbox(
        "Open a trace",
        list(labels),
        index=None,
        format_func=labels.__getitem__,
        placeholder="Pick a row above, or choose a trace here",
        key=f"{key}_open",
    )
    if picked:
        open_trace(picked)
