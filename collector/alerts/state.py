"""What an alert is (`Alert`), as every store keeps it.

The evaluator is the only writer of alert state transitions; acknowledge and silence are the two
user actions. Where alerts are stored, and how, is each store's business (`StoreSession`; DuckDB's
tables and SQL are in `store/duckdb/alert_state.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agentdeck.collector.alerts.metrics import METRICS

ALERT_STATES: Final = ("pending", "firing", "resolved")


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule: str
    metric: str
    scope: str  # e.g. "all", "agent=researcher", "each agent"
    group_value: str  # "" for scope all; the agent/workflow/... name; the trace id for per-task checks
    severity: str
    state: str  # ALERT_STATES
    first_seen_ns: int
    last_seen_ns: int
    fired_ns: int | None
    resolved_ns: int | None
    value: float
    threshold: float
    comparison: str
    trace_ids: tuple[str, ...]
    detail: str | None
    acknowledged: bool
    silenced_until_ns: int | None

    @property
    def target(self) -> str:
        """What the alert is about, for people: "all", "agent=researcher", "task 4bf9... (workflow=triage)"."""
        spec = METRICS.get(self.metric)
        if spec is not None and spec.per_task:
            return f"task {self.group_value}" + ("" if self.scope == "all" else f" ({self.scope})")
        if self.scope.startswith("each "):
            return f"{self.scope.removeprefix('each ')}={self.group_value}"
        return self.scope

    def silenced_at(self, now_ns: int) -> bool:
        return self.silenced_until_ns is not None and self.silenced_until_ns > now_ns
