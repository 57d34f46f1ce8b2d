"""Support answers with MCP tools: research (tools served by a local MCP server) -> response.

The research agent's `lookup_order` and `search_kb` are served by `support_mcp_server`, started as
a stdio subprocess on the first call and shared by every task of the process; each call is an
`execute_tool` span naming the server. The agents, prompts and schemas are the triage example's.
"""

from __future__ import annotations

import sys
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agentdeck.engine.agents import Agent
from agentdeck.engine.context import RunContext
from agentdeck.engine.mcp_tools import McpServer
from agentdeck.engine.step import run_agent
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import triage

SERVER = McpServer("support-tools", command=(sys.executable, "-m", "agentdeck.engine.workflows.support_mcp_server"))
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
    research: dict[str, Any]
    response: dict[str, Any]


def research(state: SupportState) -> dict[str, Any]:
    inputs = {**state["ticket"], "category": state["ticket"]["category"], "priority": "normal"}
    r = run_agent(RESEARCH, inputs, state=state)
    return {"research": r.output.model_dump() if r.output else None}


def respond(state: SupportState) -> dict[str, Any]:
    res = state["research"]
    inputs = {**state["ticket"], "findings": "; ".join(res["findings"]), "order_status": res["order_status"]}
    r = run_agent(triage.RESPONSE, inputs, state=state)
    return {"response": r.output.model_dump() if r.output else None}


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(SupportState, context_schema=RunContext)
    g.add_node("research", research)
    g.add_node("respond", respond)
    g.add_edge(START, "research")
    g.add_edge("research", "respond")
    g.add_edge("respond", END)
    return g


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    """Triage's tickets, with the category the ticket text is about."""
    tasks = triage.make_tasks(seed, n)
    for t in tasks:
        text = t["ticket"]["text"].lower()
        t["ticket"]["category"] = next(
            (c for c, words in _CATEGORY_WORDS if any(w in text for w in words)), "technical"
        )
    return tasks


_CATEGORY_WORDS = (
    ("refund", ("refund",)),
    ("billing", ("charged", "invoice")),
    ("shipping", ("arrive", "delivery", "tracking")),
    ("account", ("log in", "2fa")),
)

WORKFLOW = Workflow(
    name="support_mcp",
    pattern="sequential",
    description="Support answers with tools from a local MCP server: research (MCP tools) -> response",
    agents=(RESEARCH, triage.RESPONSE),
    build=build,
    make_tasks=make_tasks,
    result_key="response",
    deadline_ms=90_000,
)
