"""Colours and number formats, so every page shows an agent, a status, a dollar and a duration alike."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Final

STATUS_COLORS: Final = {
    "ok": "#2e9e5b",
    "success": "#2e9e5b",
    "error": "#d64545",
    "failed": "#d64545",
    "incomplete": "#e0a526",
    "dead_letter": "#8e44ad",
}
ERROR_COLOR: Final = "#d64545"
TIMES: Final = "\u00d7"  # the multiplication sign of ratios (1.20 times a budget), never a letter x
MUTED: Final = "#9aa0a6"
# Distinct hues (Okabe-Ito, then Tableau), no greys (grey means 'other'); an agent keeps its colour everywhere.
AGENT_PALETTE: Final = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#4E79A7", "#F28E2B", "#76B7B2",
    "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#17becf", "#bcbd22", "#8c564b", "#9467bd",
)  # fmt: skip
SPAN_TYPE_COLORS: Final = {
    "workflow": "#4b5563",
    "agent": "#0072B2",
    "llm": "#E69F00",
    "tool": "#009E73",
    "task": "#56B4E9",
    "retriever": "#CC79A7",
    "embedding": "#bcbd22",
    "other": MUTED,
}


_assigned: dict[str, dict[str, str]] = {}


def _slot(name: str) -> int:
    digest = hashlib.blake2s(name.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % len(AGENT_PALETTE)


def assign_colors(dimension: str, names: list[str]) -> None:
    """Give each known agent (or workflow, model, service) its own colour: its hashed slot, or the
    next free one on a clash. Deterministic for a given set of names, so every page agrees.
    """
    taken: dict[int, str] = {}
    assigned: dict[str, str] = {}
    for name in sorted(set(names)):
        slot = _slot(name)
        for step in range(len(AGENT_PALETTE)):
            probe = (slot + step) % len(AGENT_PALETTE)
            if probe not in taken:
                slot = probe
                break
        taken.setdefault(slot, name)
        assigned[name] = AGENT_PALETTE[slot]
    _assigned[dimension] = assigned


def color_of(dimension: str, name: str | None) -> str:
    """The colour of a name of a dimension, the same on every page (see `assign_colors`)."""
    if not name:
        return MUTED
    return _assigned.get(dimension, {}).get(name) or AGENT_PALETTE[_slot(name)]


def distinct_colors(dimension: str, names: list[str]) -> dict[str, str]:
    """Colours for the names one chart draws, all different: each keeps its own colour (`color_of`)
    unless an earlier (bigger) name already has it, then takes the first free one. With more names
    in a dimension than the palette has colours, two agents can share one page-wide; never in a chart."""
    out: dict[str, str] = {}
    for name in names:
        own = color_of(dimension, name)
        used = set(out.values())
        out[name] = own if own not in used else next((c for c in AGENT_PALETTE if c not in used), own)
    return out


def agent_color(name: str | None) -> str:
    return color_of("agent", name)


def status_color(status: str | None) -> str:
    return STATUS_COLORS.get(status or "", MUTED)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def usd(value: float | None) -> str:
    """$ with enough digits to see the amount: $0.000031, $0.0003, $0.1234, $12.34, $1,234 (never $0.00
    for a cost that is not zero, never scientific notation)."""
    if _missing(value):
        return "n/a"
    assert value is not None
    v = float(value)
    a = abs(v)
    if a == 0:
        return "$0.00"
    sign = "-" if v < 0 else ""
    if a < 0.0001:  # two significant digits, written out
        digits = -math.floor(math.log10(a)) + 1
        return f"{sign}${a:.{digits}f}"
    if a < 1:
        return f"{sign}${a:.4f}"
    if a < 1000:
        return f"{sign}${a:,.2f}"
    return f"{sign}${a:,.0f}"


def ratio(value: float | None) -> str:
    """A multiple of something (a budget, a baseline, the median): 1.20 and the multiplication sign."""
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{float(value):.2f}{TIMES}"


def duration(ms: float | None) -> str:
    """850 ms, 2.4 s, 3m 12s, 1h 05m."""
    if _missing(ms):
        return "n/a"
    assert ms is not None
    v = float(ms)
    if v == 0:
        return "0 ms"
    if v < 1:
        return f"{v:.2f} ms"
    if v < 1000:
        return f"{v:.0f} ms"
    if v < 60_000:
        return f"{v / 1000:.1f} s"
    if v < 3_600_000:
        return f"{int(v // 60_000)}m {int(v % 60_000 // 1000):02d}s"
    return f"{int(v // 3_600_000)}h {int(v % 3_600_000 // 60_000):02d}m"


def pct(value: float | None, digits: int = 1) -> str:
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{float(value) * 100:.{digits}f}%"


def count(value: float | None) -> str:
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{int(value):,}"


def tokens(value: float | None) -> str:
    """1,234 / 12.3k / 4.5M."""
    if _missing(value):
        return "n/a"
    assert value is not None
    v = float(value)
    if v < 10_000:
        return f"{int(v):,}"
    if v < 1_000_000:
        return f"{v / 1000:.1f}k"
    return f"{v / 1_000_000:.1f}M"


def timestamp(ns: int | float | None) -> str:
    """UTC wall time of a unix-ns instant: 2026-11-21 05:44:10."""
    if _missing(ns):
        return "n/a"
    assert ns is not None
    return dt.datetime.fromtimestamp(int(ns) / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def short_id(hex_id: str | None, n: int = 8) -> str:
    return (hex_id or "")[:n]
