"""The catalogue of alert metrics: what each one measures, its unit, and which rule options it takes.

The SQL that computes them lives in `agentdeck.collector.store.duckdb.observe`; this module is data only, so the
rules parser can validate a file without touching a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    unit: str  # for messages: "usd", "ms", "s", "ratio", "count"
    per_task: bool  # one alert group per offending task, re-checked as soon as its spans arrive
    options: tuple[str, ...]  # rule keys beyond the common ones that this metric accepts
    description: str


_SPECS: Final = (
    MetricSpec(
        "cost_per_task",
        "usd",
        False,
        ("stat",),
        "cost of a finished task (avg, p95 or max over the window, per `stat`)",
    ),
    MetricSpec("spend", "usd", False, (), "total LLM spend of the spans that started in the window"),
    MetricSpec(
        "budget_burn",
        "ratio",
        False,
        ("daily_budget_usd",),
        "projected end-of-day spend (today so far + the window's rate for the rest of the UTC day) "
        "divided by daily_budget_usd; 1.0 = on track to spend exactly the budget",
    ),
    MetricSpec("p95_latency_ms", "ms", False, (), "p95 duration of agent steps (of LLM calls with scope = model)"),
    MetricSpec(
        "retry_rate",
        "ratio",
        False,
        (),
        "share of agent attempts that are retries, attempt > 1 (LLM calls with scope = model)",
    ),
    MetricSpec(
        "error_rate", "ratio", False, (), "share of agent attempts that ended in ERROR (LLM calls with scope = model)"
    ),
    MetricSpec(
        "completion_rate",
        "ratio",
        False,
        (),
        "share of finished tasks that completed (engine outcome success, or a root span not in ERROR)",
    ),
    MetricSpec(
        "messages_per_task",
        "count",
        False,
        ("stat",),
        "agentdeck.messages of a task's workflow span (avg, p95 or max, per `stat`)",
    ),
    MetricSpec(
        "tokens_per_task_vs_baseline",
        "ratio",
        False,
        ("baseline_window",),
        "average tokens per finished task in the window divided by the average over the baseline_window just before it",
    ),
    MetricSpec(
        "state_conflict_rate",
        "ratio",
        False,
        (),
        "agentdeck.state.conflicts of engine tasks divided by their agent steps (state writes)",
    ),
    MetricSpec(
        "task_budget_breach",
        "ratio",
        True,
        (),
        "a task's spend over its budget (agentdeck.budget.spent_usd or its summed cost, over "
        "agentdeck.budget.limit_usd); one alert per task",
    ),
    MetricSpec(
        "review_queue_age_s",
        "s",
        False,
        (),
        "seconds the oldest engine task has been waiting for human review (agentdeck.task.status "
        "waiting_review on its workflow span, and no later run resumed from it)",
    ),
    MetricSpec(
        "runaway_loop", "count", True, (), "most steps one agent took in a task (attempts included); one alert per task"
    ),
    MetricSpec(
        "repeated_tool_call",
        "count",
        True,
        (),
        "most calls of one tool with identical gen_ai.tool.call.arguments in a task; one alert per task",
    ),
)

METRICS: Final[dict[str, MetricSpec]] = {s.name: s for s in _SPECS}
