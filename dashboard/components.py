"""Small rendering pieces shared by the pages: empty states, data-error notices, live sections, tables.

Span content (names, errors, agent and tool names, alert details) is data, not markup: `inert` makes it
read literally inside Markdown, and `table` keeps a table's text from acting as a spreadsheet formula
in the table's own CSV download.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import pandas as pd
import streamlit as st

from agentdeck.dashboard import data, theme

_MARKDOWN_PUNCTUATION: Final = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
# GitHub-flavoured Markdown links bare URLs and e-mail addresses after parsing, escapes or not; an
# invisible word joiner inside "http://", "www." and "a@b" keeps them text.
WORD_JOINER: Final = "\u2060"
_AUTOLINK_STARTS: Final = re.compile(r"(?i)(://|(?<=www)\.|@)")


def inert(text: object) -> str:
    """`text` for a Markdown string (caption, heading, label), shown exactly as written, on one line.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of them), so
    no link, image, HTML, emphasis, `:color[...]` directive or `$` math can form from it, and a word
    joiner breaks bare URLs and addresses, which GitHub-flavoured Markdown would otherwise link.
    """
    one_line = " ".join(str(text).split())
    joined = _AUTOLINK_STARTS.sub(lambda m: WORD_JOINER + m.group(0), one_line)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", joined)


FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, quoted with a leading `'` (OWASP's CSV
    injection advice); numbers and other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    # The message may quote the collector, which quotes the request's values (a crafted link's among them).
    st.warning(f"**{inert(exc.message)}**\n\n{exc.hint}", icon=icon)


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
    event = table(
        shown,
        pinned="Workflow",
        style=color_status,
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


CHAR_PX: Final = 8  # a character of the table font, generously: a column sized from it never clips
CELL_PADDING_PX: Final = 30
MAX_COLUMN_PX: Final = 640  # free text longer than this ends in "…"; the column can still be widened
MAX_PINNED_PX: Final = 320  # the pinned column leaves room to scroll the others past it


def _shown_length(value: object) -> int:
    """Characters a cell takes as the tables format it (thousands separators, $ and 4 decimals at most)."""
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return len(f"{value:,}")
    if isinstance(value, float):
        return len(f"${value:,.4f}") if value == value else 4
    return len(str(value))


def column_widths(frame: pd.DataFrame) -> dict[str, int]:
    """A width in pixels per column that fits its header and its longest value, so nothing reads "Tok…"."""
    widths: dict[str, int] = {}
    for name in frame.columns:
        longest = max((_shown_length(v) for v in frame[name].tolist()), default=0)
        chars = max(len(str(name)) + 2, longest)  # +2: the header's sort arrow
        widths[str(name)] = min(chars * CHAR_PX + CELL_PADDING_PX, MAX_COLUMN_PX)
    return widths


def table(
    frame: pd.DataFrame,
    *,
    pinned: str | None = None,
    column_config: Mapping[str, Any] | None = None,
    style: Callable[[pd.DataFrame], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """`st.dataframe` as every page shows a table: text cells made formula-safe before they reach the
    table (its CSV download is built in, in the browser), each column as wide as its content, the
    `pinned` (name) column kept in view when the table scrolls sideways, and the full page width.

    `style` (e.g. `color_status`) styles the frame after the cells are made safe; `kwargs` go to
    `st.dataframe` (selection, key, height). Answers what `st.dataframe` answers.
    """
    safe = frame.copy()
    for name in safe.columns:
        if safe[name].dtype == object or pd.api.types.is_string_dtype(safe[name]):
            safe[name] = safe[name].map(formula_safe)
    config: dict[str, Any] = {name: {"width": width} for name, width in column_widths(safe).items()}
    for name, given in (column_config or {}).items():
        config[name] = {**config.get(name, {}), **{k: v for k, v in given.items() if v is not None}}
    if pinned is not None:
        width = min(config.get(pinned, {}).get("width") or MAX_PINNED_PX, MAX_PINNED_PX)
        config[pinned] = {**config.get(pinned, {}), "pinned": True, "width": width}
    return st.dataframe(
        style(safe) if style else safe, hide_index=True, column_config=config, width="stretch", **kwargs
    )
