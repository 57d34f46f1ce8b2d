"""An over-budget task as OTLP/JSON, POSTed through the collector's real ingest path, and a poll for
the alert it must raise (the default rule `task-over-budget` checks a task as soon as it lands)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from agentdeck.engine import semconv as sc
from tests.dashboard.otlp_seed import TraceBuilder, otlp_body

BUDGET_USD = 0.01
SPENT_USD = 0.05  # 5x the budget


def over_budget_task(trace_id: str, workflow: str = "support_triage") -> TraceBuilder:
    """A task that spent 5x its budget; the engine stopped it (outcome incomplete, reason budget)."""
    t = TraceBuilder(trace_id, time.time_ns() - 60 * 10**9)
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.GEN_AI_WORKFLOW_NAME: workflow,
        sc.AD_TASK_OUTCOME: "incomplete",
        sc.AD_TASK_INCOMPLETE_REASON: "budget",
        sc.AD_BUDGET_LIMIT_USD: BUDGET_USD,
        sc.AD_BUDGET_SPENT_USD: SPENT_USD,
    }
    root = t.span(f"invoke_workflow {workflow}", None, 0, 3000, attrs)
    agent = t.agent(root, "researcher", 0, 2500)
    t.llm(agent, "claude-opus-4-5", 10, 2400, (4000, 2000), SPENT_USD)
    return t


def post_task(collector_url: str, task: TraceBuilder, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(f"{collector_url}/v1/traces", json=otlp_body([task]), headers=headers, timeout=10)
    resp.raise_for_status()


def wait_for_alert(
    collector_url: str, trace_id: str, token: str | None = None, timeout_s: float = 20
) -> dict[str, Any]:
    """Poll GET /api/alerts until the task's budget alert fires; fail after `timeout_s`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        alerts = httpx.get(f"{collector_url}/api/alerts", params={"state": "firing"}, headers=headers, timeout=10)
        for alert in alerts.json()["alerts"]:
            if alert["rule"] == "task-over-budget" and trace_id in alert["trace_ids"]:
                return dict(alert)
        time.sleep(0.1)
    raise AssertionError(f"no task-over-budget alert fired for {trace_id} within {timeout_s} s")
