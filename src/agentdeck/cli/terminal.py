"""Text from spans made inert before it reaches a terminal.

Agent, workflow and span names are whatever a producer sent: an ANSI escape in one could clear the
screen or recolour what follows, and a newline could forge a line of output (`FIRING ...`). Commands
that print such text pass it through `inert`, which shows control characters as Python escapes.
"""

from __future__ import annotations

import unicodedata

# bidirectional overrides and isolates reorder what follows them on screen
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


def inert(text: str) -> str:
    """`text` with control characters (C0, DEL, C1, line separators, bidi overrides) escaped as `\\x1b`."""
    return "".join(_escape(ch) if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
