"""Agents: who does a step, with which prompt, on which model tier, returning which schema."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Tier(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    FRONTIER = "frontier"

    def downgraded(self) -> Tier:
        """One tier cheaper (fast stays fast)."""
        order = [Tier.FAST, Tier.BALANCED, Tier.FRONTIER]
        return order[max(order.index(self) - 1, 0)]


TIER_MODELS: dict[Tier, str] = {
    Tier.FAST: "claude-haiku-4-5",
    Tier.BALANCED: "claude-sonnet-4-5",
    Tier.FRONTIER: "claude-opus-4-5",
}


def model_for(tier: Tier) -> str:
    return TIER_MODELS[tier]


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt template (str.format fields filled from the agent's inputs) and its version label."""

    template: str
    version: str = "v1"

    def render(self, inputs: dict[str, Any]) -> str:
        try:
            return self.template.format(**inputs)
        except KeyError as exc:
            raise KeyError(f"prompt template needs field {exc.args[0]!r}, not in the agent inputs") from None


def prompt_version_of(template: str) -> str:
    """Version label for an overridden template: content-addressed, so equal edits share a label."""
    return "override-" + hashlib.sha256(template.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool the engine executes for an agent (each call is an execute_tool span): a deterministic
    local function, or one an MCP server serves (`agentdeck.engine.mcp_tools.McpServer.tool`)."""

    name: str
    description: str
    func: Callable[[dict[str, Any]], str]
    input_schema: dict[str, Any]  # JSON schema of the arguments object
    server: str = ""  # the MCP server that serves it ("" for a local tool)
    transport: str = ""  # stdio | streamable_http for an MCP tool


@dataclass(frozen=True, slots=True)
class ReviewRule:
    """When a step's answer waits for a human (agentdeck.engine.review): an answer whose
    `confidence_field` is below `confidence_below`, every answer (`always`, an explicit policy), or
    any answer once the task has spent 90% of its budget (`at_budget`, off by default)."""

    confidence_below: float | None = None
    confidence_field: str = "confidence"
    always: bool = False
    at_budget: bool = False


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    role: str
    prompt: Prompt
    tier: Tier
    output_schema: type[BaseModel]
    tools: tuple[Tool, ...] = ()
    timeout_s: float = 60.0
    optional: bool = False
    max_output_tokens: int = 1024
    fallback: Agent | None = None
    max_provider_retries: int | None = None  # None: the run's default
    review: ReviewRule | None = None  # escalate some answers to the human review queue
    system: str = field(default="")

    def system_prompt(self) -> str:
        return self.system or f"You are the {self.role}. Answer with one JSON object only."
