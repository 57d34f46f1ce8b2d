"""What an alert is (`Alert`), as every store keeps it.

The evaluator is the only writer of alert state transitions; acknowledge and silence are the two
user actions. Where alerts are stored, and how, is each store's business (`StoreSession`; DuckDB's
tables and SQL are in `store/duckdb/alert_state.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agentdeck.collector.alerts.metrics import METRICS
from agentdeck.collector.alerts.observation import MAX_TASKS

ALERT_STATES: Final = ("pending", "firing", "resolved")


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule: str
    metric: str
    scope: str  # e.g. "all", "agent=researcher", "each agent"
    group_value: str  # "" for scope all; else the agent/workflow/model/service name (per-task checks too)
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
        """What the alert is about, for people: "all", "agent=researcher", "3 tasks (workflow=triage)"."""
        where = (
            f"{self.scope.removeprefix('each ')}={self.group_value}" if self.scope.startswith("each ") else self.scope
        )
        spec = METRICS.get(self.metric)
        if spec is not None and spec.per_task:
            n = len(self.trace_ids)
            tasks = f"{n}{'+' if n >= MAX_TASKS else ''} task{'' if n == 1 else 's'}"
            return tasks if where == "all" else f"{tasks} ({where})"
        return where

    def needs_attention(self, now_ns: int) -> bool:
        """Firing, and neither acknowledged nor silenced: what the "firing now" count and the banner show."""
        return self.state == "firing" and not self.acknowledged and not self.silenced_at(now_ns)

    def silenced_at(self, now_ns: int) -> bool:
        return self.silenced_until_ns is not None and self.silenced_until_ns > now_ns
