"""Support answers with MCP tools and human review: classifier -> research (MCP tools) -> response.

The classifier escalates an answer whose confidence is below 0.5 to the human review queue: the task
waits (`waiting_review`) until a reviewer approves, edits or rejects it. The research agent's
`lookup_order` and `search_kb` are served by `support_mcp_server`, started as a stdio subprocess on
the first call and shared by every task of the process; each call is an `execute_tool` span naming
the server. A quarter of the tickets are resends of earlier ones, which the semantic cache serves
when it is on. The agents, prompts and schemas are the triage example's.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agentdeck.engine.agents import Agent, Prompt, ReviewRule
from agentdeck.engine.context import RunContext
from agentdeck.engine.mcp_tools import McpServer
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import run_agent
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import triage

SERVER = McpServer("support-tools", command=(sys.executable, "-m", "agentdeck.engine.workflows.support_mcp_server"))
CLASSIFIER = replace(
    triage.CLASSIFIER,
    prompt=Prompt(triage.CLASSIFIER_PROMPT_FIXED, "v2"),
    review=ReviewRule(confidence_below=0.5),
)
RESEARCH = Agent(
    "research",
    triage.RESEARCH.role,
    triage.RESEARCH.prompt,
    triage.RESEARCH.tier,
    triage.Research,
    timeout_s=triage.RESEARCH.timeout_s,
    max_output_tokens=triage.RESEARCH.max_output_tokens,
    tools=(
        SERVER.tool("lookup_order", "Order status by order id", triage.ORDER_ARGS),
        SERVER.tool("search_kb", "Knowledge base articles for an order", triage.ORDER_ARGS),
    ),
)


class SupportState(TypedDict, total=False):
    ticket: dict[str, Any]
    classification: dict[str, Any]
    research: dict[str, Any]
    response: dict[str, Any]


def classify(state: SupportState) -> dict[str, Any]:
    r = run_agent(CLASSIFIER, state["ticket"], state=state)
    return {"classification": r.output.model_dump() if r.output else None}


def research(state: SupportState) -> dict[str, Any]:
    r = run_agent(RESEARCH, {**state["ticket"], **state["classification"]}, state=state)
    return {"research": r.output.model_dump() if r.output else None}


def respond(state: SupportState) -> dict[str, Any]:
    res = state["research"]
    inputs = {
        **state["ticket"],
        **state["classification"],
        "findings": "; ".join(res["findings"]),
        "order_status": res["order_status"],
    }
    r = run_agent(triage.RESPONSE, inputs, state=state)
    return {"response": r.output.model_dump() if r.output else None}


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(SupportState, context_schema=RunContext)
    g.add_node("classify", classify)
    g.add_node("research", research)
    g.add_node("respond", respond)
    g.add_edge(START, "classify")
    g.add_edge("classify", "research")
    g.add_edge("research", "respond")
    g.add_edge("respond", END)
    return g


_RESENDS = (" Any update?", " Hello?", " Please answer.")


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    """Triage's tickets, a quarter of them a customer's resend of an earlier ticket (same ticket and
    order, a few words added): what the semantic cache serves without asking the model again."""
    tasks = triage.make_tasks(seed, n)
    rng = random.Random(stable_int("support_mcp", seed))
    for i in range(1, n):
        if rng.random() < 0.25:
            earlier = dict(rng.choice(tasks[:i])["ticket"])
            tasks[i] = {"ticket": {**earlier, "text": earlier["text"] + rng.choice(_RESENDS)}}
    return tasks


WORKFLOW = Workflow(
    name="support_mcp",
    pattern="sequential",
    description="Support with MCP tools and human review: classifier (reviewed) -> research (MCP tools) -> response",
    agents=(CLASSIFIER, RESEARCH, triage.RESPONSE),
    build=build,
    make_tasks=make_tasks,
    result_key="response",
    deadline_ms=90_000,
)
