"""The support graph: triage -> (billing with an invoice tool | support) -> writer.

Plain LangGraph and the anthropic SDK; the only agentdeck parts are `agentdeck.prompt` (so a replay
can edit a prompt by name) and `instrument` (so every run is traced and every thread replayable).
The billing prompt is deliberately weak: it never asks for the JSON the code expects, so tickets
about an invoice fail until the prompt is fixed — in a replay, from the checkpoint before billing.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from typing import Any, TypedDict

import anthropic
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

import agentdeck
from agentdeck.langgraph import instrument

MODEL = os.environ.get("SUPPORT_GRAPH_MODEL", "claude-haiku-4-5")
DB = os.environ.get("SUPPORT_GRAPH_DB", "support_graph.sqlite")

TRIAGE = 'You triage support tickets. Reply with one JSON object {"priority": "low" | "normal" | "high"}.'
BILLING = "You are the billing agent. Help the customer with their invoice question, using the invoice facts."
BILLING_FIXED = (
    "You are the billing agent. Using the invoice facts, answer the customer's invoice question. "
    'Reply with one JSON object {"answer": "<what to tell the customer>"}.'
)
SUPPORT = 'You are the support agent. Reply with one JSON object {"answer": "<what to tell the customer>"}.'
WRITER = 'You write the final reply to the customer. Reply with one JSON object {"reply": "<the message>"}.'


class Ticket(TypedDict, total=False):
    ticket: str
    priority: str
    facts: str
    answer: str
    reply: str


@tool
def lookup_invoice(invoice_id: str) -> str:
    """The status of an invoice, by its number."""
    return json.dumps({"invoice": invoice_id, "status": "paid twice", "refund_due": True})


def ask(prompt_name: str, default: str, user: str) -> dict[str, Any]:
    """One call to the Messages API; the answer must be a JSON object."""
    client = anthropic.Anthropic(max_retries=0)
    response = client.messages.create(
        model=MODEL,
        max_tokens=400,
        system=[{"type": "text", "text": agentdeck.prompt(prompt_name, default)}],
        messages=[{"role": "user", "content": user}],
    )
    text = "".join(block.text for block in response.content if block.type == "text")
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"{prompt_name}: the model did not answer with JSON: {text[:200]}") from None
    return value if isinstance(value, dict) else {}


def need(answer: dict[str, Any], key: str, agent: str) -> str:
    if not answer.get(key):
        raise ValueError(f"{agent}: the model's answer has no {key!r} field: {json.dumps(answer)[:200]}")
    return str(answer[key])


def triage(state: Ticket) -> Ticket:
    return {"priority": need(ask("triage", TRIAGE, state["ticket"]), "priority", "triage")}


def route(state: Ticket) -> str:
    return "billing" if re.search(r"\binvoice\b", state["ticket"], re.IGNORECASE) else "support"


def billing(state: Ticket) -> Ticket:
    found = re.search(r"\b(INV-\d+)\b", state["ticket"])
    facts = lookup_invoice.invoke({"invoice_id": found.group(1) if found else "unknown"})
    answer = ask("billing", BILLING, f"Ticket: {state['ticket']}\nInvoice facts: {facts}")
    return {"facts": facts, "answer": need(answer, "answer", "billing")}


def support(state: Ticket) -> Ticket:
    return {"answer": need(ask("support", SUPPORT, state["ticket"]), "answer", "support")}


def writer(state: Ticket) -> Ticket:
    answer = ask("writer", WRITER, f"Ticket: {state['ticket']}\nAnswer: {state['answer']}")
    return {"reply": need(answer, "reply", "writer")}


def build() -> StateGraph[Ticket]:
    builder = StateGraph(Ticket)
    builder.add_node("triage", triage)
    builder.add_node("billing", billing)
    builder.add_node("support", support)
    builder.add_node("writer", writer)
    builder.add_edge(START, "triage")
    builder.add_conditional_edges("triage", route, ["billing", "support"])
    builder.add_edge("billing", "writer")
    builder.add_edge("support", "writer")
    builder.add_edge("writer", END)
    return builder


checkpointer = SqliteSaver(sqlite3.connect(DB, check_same_thread=False))
graph = instrument(build().compile(checkpointer=checkpointer, name="support"))
