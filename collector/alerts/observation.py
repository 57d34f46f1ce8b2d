"""What a store's alert metrics answer (`StoreSession.observe`): a rule's value for one scope group.

The SQL that computes it lives in each store (`store/duckdb/observe.py` for DuckDB); the evaluator,
the check and the API only see these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_TRACES: Final = 20  # offending traces kept per alert, worst first
MAX_TASKS: Final = 200  # a per-task check's alert lists up to this many offending tasks (worst first)
DAY_NS: Final = 86_400_000_000_000


@dataclass(frozen=True, slots=True)
class Observation:
    """A rule's value for one scope group at one instant."""

    rule: str
    group: str  # "" for scope "all", else the workflow/agent/model/service (per-task checks too)
    value: float
    samples: int
    breached: bool
    trace_ids: tuple[str, ...]
    detail: str | None = None
