"""Expense approval, built with agentdeck's public API: a conditional graph of three agents and a tool.

triager (fast tier) files the claim under a category; policy (balanced tier, with a tool that looks
up the category's limit) approves, rejects or escalates; an escalated claim goes to the controller
(frontier tier). The triager's prompt is weak on purpose: it does not ask for a category "from the
allowed list", so for some claims the (simulated) model answers "Travel problem" and the task fails
at the triager. `TRIAGER_PROMPT_FIXED` is the fix to try in a replay.

    agentdeck run expenses.workflow:WORKFLOW --tasks-file tasks.jsonl
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

import agentdeck

LIMITS_USD = {"travel": 2000, "meals": 150, "equipment": 1500, "software": 500, "training": 1200}


class Filing(BaseModel):
    category: Literal["travel", "meals", "equipment", "software", "training"]
    amount_usd: float = Field(ge=0)


class Decision(BaseModel):
    decision: Literal["approve", "reject", "escalate"]
    reason: str = Field(max_length=300)


class Ruling(BaseModel):
    approved: bool
    note: str = Field(max_length=300)


def lookup_limit(args: dict[str, Any]) -> str:
    category = str(args.get("category", ""))
    if category not in LIMITS_USD:
        raise LookupError(f"no limit for {category!r}; categories: {', '.join(LIMITS_USD)}")
    return f"{category}: up to ${LIMITS_USD[category]} per claim without the controller"


TRIAGER_PROMPT = "File this expense claim by {employee}: {description} (${amount_usd}). Give its category and amount."
TRIAGER_PROMPT_FIXED = TRIAGER_PROMPT + " Choose the category from the allowed list."

TRIAGER = agentdeck.Agent(
    "triager",
    "expense clerk",
    agentdeck.Prompt(TRIAGER_PROMPT, "v1"),
    agentdeck.Tier.FAST,
    Filing,
    timeout_s=20,
)
POLICY = agentdeck.Agent(
    "policy",
    "expense policy checker",
    agentdeck.Prompt(
        "Check the {category} claim of ${amount_usd} by {employee} against the policy: {description}. "
        "Look up the limit, then decide from the allowed list.",
        "v1",
    ),
    agentdeck.Tier.BALANCED,
    Decision,
    tools=(
        agentdeck.Tool(
            "lookup_limit",
            "The approval limit of an expense category",
            lookup_limit,
            {"type": "object", "properties": {"category": {"type": "string"}}, "required": ["category"]},
        ),
    ),
)
CONTROLLER = agentdeck.Agent(
    "controller",
    "financial controller",
    agentdeck.Prompt("Rule on the escalated {category} claim of ${amount_usd} by {employee}: {reason}", "v1"),
    agentdeck.Tier.FRONTIER,
    Ruling,
    optional=True,
)


def after_policy(state: dict[str, Any]) -> str | None:
    """An escalated claim goes to the controller; any other decision ends the task."""
    decision = (state.get("policy") or {}).get("decision")
    return "controller" if decision == "escalate" else None


WORKFLOW = agentdeck.graph(
    "expenses",
    [TRIAGER, POLICY, CONTROLLER],
    inputs=["employee", "description", "amount_usd"],
    routes={"triager": lambda state: "policy", "policy": after_policy},
    result="policy",
    description="Expense approval: triager -> policy (limit lookup) -> controller when escalated",
)
