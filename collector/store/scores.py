"""Scores in the collector's store: a value given to a trace (or one span of it) by a person, by code or
by an LLM judge, with a name, an optional comment and when it was given.

What a score is and what makes one valid, for every store. Scores are written and read through the
store seam (`StoreSession.add_scores` / `read_scores`); DuckDB's table and SQL are in
`store/duckdb/scores.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

SOURCES: Final = ("human", "code", "llm-judge")
MAX_NAME: Final = 200
MAX_COMMENT: Final = 4000

COLUMNS: Final = ("id", "trace_id", "span_id", "name", "value", "comment", "source", "created_ns")


@dataclass(frozen=True, slots=True)
class NewScore:
    trace_id: str  # 32 lowercase hex
    span_id: str | None  # 16 lowercase hex, or None for the whole trace
    name: str
    value: float
    comment: str
    source: str  # human | code | llm-judge
    created_ns: int


def check(score: NewScore) -> str | None:
    """What is wrong with a score, or None."""
    if len(score.trace_id) != 32 or any(c not in "0123456789abcdef" for c in score.trace_id):
        return f"trace_id {score.trace_id[:40]!r} is not 32 hex characters"
    if score.span_id is not None and (
        len(score.span_id) != 16 or any(c not in "0123456789abcdef" for c in score.span_id)
    ):
        return f"span_id {score.span_id[:40]!r} is not 16 hex characters"
    if not score.name.strip() or len(score.name) > MAX_NAME:
        return f"name must be 1 to {MAX_NAME} characters"
    if not math.isfinite(score.value):
        return "value must be a finite number"
    if len(score.comment) > MAX_COMMENT:
        return f"comment is longer than {MAX_COMMENT} characters"
    if score.source not in SOURCES:
        return f"source {score.source[:40]!r} is not one of {', '.join(SOURCES)}"
    return None
