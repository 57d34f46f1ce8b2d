"""Sequential support triage: classifier -> research -> response -> quality (optional).

Weak prompt on purpose: the classifier's v1 prompt does not say to answer from the allowed list,
so the simulated model paraphrases the category for some tickets ("Billing problem"), retries with
the validation error do not cure the hard ones, and those tasks dead-letter at the classifier.
The fix (``CLASSIFIER_PROMPT_FIXED``, v2) adds "Respond with the category and priority from the
allowed list"; replaying such a task from its checkpoint with the v2 prompt succeeds.

The response agent's v2 prompt only says "Mention the order id", so for some tickets the balanced
model writes "the customer's order" where the schema wants ORD-123456; after its retries the
frontier fallback (response_senior) usually gets it right, at about five times the price. The fix
(``RESPONSE_PROMPT_FIXED``) says "Cite the order id exactly as written".
"""

from __future__ import annotations

import random
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine.agents import Agent, Prompt, Tier, Tool
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import run_agent
from agentdeck.engine.workflow import Workflow

ORDER_ID = r"ORD-\d{6}"


class Classification(BaseModel):
    category: Literal["billing", "technical", "shipping", "account", "refund"]
    priority: Literal["low", "normal", "high", "urgent"]
    confidence: float = Field(ge=0, le=1)


class Research(BaseModel):
    order_id: str = Field(pattern=f"^{ORDER_ID}$")
    findings: list[str] = Field(min_length=1, max_length=4)
    order_status: str


class Reply(BaseModel):
    order_id: str = Field(pattern=f"^{ORDER_ID}$")
    subject: str = Field(max_length=120)
    body: str


class Review(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=5)
    issues: list[str] = Field(max_length=3)


CLASSIFIER_PROMPT_WEAK = (
    "Classify this support ticket.\nTicket {ticket_id} from {customer} via {channel}:\n{text}\n"
    "Give its category, priority and your confidence."
)
CLASSIFIER_PROMPT_FIXED = CLASSIFIER_PROMPT_WEAK + " Respond with the category and priority from the allowed list."


def _lookup_order(args: dict[str, Any]) -> str:
    order = str(args.get("order_id", ""))
    if not order.startswith("ORD-"):
        raise LookupError(f"no order {order!r}; expected an id like ORD-123456")
    rng = random.Random(stable_int("order", order))
    status = rng.choice(["shipped", "delivered", "processing", "returned", "on hold"])
    return f"{order}: {status}, {rng.randint(1, 5)} items, total ${rng.uniform(12, 480):.2f}, carrier DHL"


def _search_kb(args: dict[str, Any]) -> str:
    rng = random.Random(stable_int("kb", args.get("order_id", "")))
    return "; ".join(
        rng.sample(
            [
                "KB-112 refunds are issued within 5 business days",
                "KB-207 reset 2FA from account settings",
                "KB-318 delayed shipments get a free upgrade",
                "KB-404 duplicate charges are reversed automatically",
                "KB-512 firmware 3.2 fixes the sync crash",
                "KB-630 address changes need a new order",
            ],
            2,
        )
    )


ORDER_ARGS = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": f"^{ORDER_ID}$"}},
    "required": ["order_id"],
}

CLASSIFIER = Agent(
    "classifier",
    "support ticket classifier",
    Prompt(CLASSIFIER_PROMPT_WEAK, "v1"),
    Tier.FAST,
    Classification,
    timeout_s=20,
    max_output_tokens=200,
)
RESEARCH = Agent(
    "research",
    "support researcher",
    Prompt(
        "Research ticket {ticket_id} ({category}, {priority}) for order {order_id}:\n{text}\n"
        "Look the order up, then report findings. Copy the order id exactly as written.",
        "v3",
    ),
    Tier.BALANCED,
    Research,
    timeout_s=45,
    max_output_tokens=600,
    tools=(
        Tool("lookup_order", "Order status by order id", _lookup_order, ORDER_ARGS),
        Tool("search_kb", "Knowledge base articles for an order", _search_kb, ORDER_ARGS),
    ),
)
RESPONSE_PROMPT_WEAK = (
    "Write the reply to {customer} about ticket {ticket_id} ({category}).\nTicket:\n{text}\n"
    "Findings: {findings}\nOrder status: {order_status}\nMention the order id {order_id}."
)
RESPONSE_PROMPT_FIXED = RESPONSE_PROMPT_WEAK.replace("Mention the order id", "Cite the order id exactly as written:")
RESPONSE_PROMPT = Prompt(RESPONSE_PROMPT_WEAK, "v2")
RESPONSE = Agent(
    "response",
    "support reply writer",
    RESPONSE_PROMPT,
    Tier.BALANCED,
    Reply,
    timeout_s=45,
    max_output_tokens=700,
    fallback=Agent(
        "response_senior",
        "senior support reply writer",
        RESPONSE_PROMPT,
        Tier.FRONTIER,
        Reply,
        timeout_s=60,
        max_output_tokens=700,
    ),
)
QUALITY = Agent(
    "quality",
    "support quality reviewer",
    Prompt(
        "Review this reply for ticket {ticket_id} ({category}).\nSubject: {subject}\n{body}\n"
        "Approve it or list the issues.",
        "v1",
    ),
    Tier.FAST,
    Review,
    timeout_s=20,
    optional=True,
    max_output_tokens=250,
)


class TriageState(TypedDict, total=False):
    ticket: dict[str, Any]
    classification: dict[str, Any]
    research: dict[str, Any]
    response: dict[str, Any]
    quality: dict[str, Any] | None


def classify(state: TriageState) -> dict[str, Any]:
    t = state["ticket"]
    r = run_agent(CLASSIFIER, t, state=state)
    return {"classification": r.output.model_dump() if r.output else None}


def research(state: TriageState) -> dict[str, Any]:
    r = run_agent(RESEARCH, {**state["ticket"], **state["classification"]}, state=state)
    return {"research": r.output.model_dump() if r.output else None}


def respond(state: TriageState) -> dict[str, Any]:
    res = state["research"]
    inputs = {
        **state["ticket"],
        **state["classification"],
        "findings": "; ".join(res["findings"]),
        "order_status": res["order_status"],
    }
    r = run_agent(RESPONSE, inputs, state=state)
    return {"response": r.output.model_dump() if r.output else None}


def review(state: TriageState) -> dict[str, Any]:
    r = run_agent(QUALITY, {**state["ticket"], **state["classification"], **state["response"]}, state=state)
    return {"quality": r.output.model_dump() if r.output else None}


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(TriageState, context_schema=RunContext)
    for name, fn in (("classify", classify), ("research", research), ("respond", respond), ("review", review)):
        g.add_node(name, fn)
    g.add_edge(START, "classify")
    g.add_edge("classify", "research")
    g.add_edge("research", "respond")
    g.add_edge("respond", "review")
    g.add_edge("review", END)
    return g


_ISSUES = [
    ("billing", "I was charged twice for order {order_id}. Please refund the duplicate charge."),
    ("shipping", "Order {order_id} was supposed to arrive last Tuesday and tracking has not moved."),
    ("technical", "Since the 3.2 update the app crashes when I sync. My order {order_id} came with it."),
    ("account", "I can't log in after resetting my phone; 2FA codes fail. Last order was {order_id}."),
    ("refund", "I returned order {order_id} two weeks ago and still have no refund."),
    ("shipping", "Can I change the delivery address for {order_id}? I moved yesterday."),
    ("billing", "The invoice for {order_id} shows the wrong VAT number for my company."),
]
_NAMES = [
    "Ana Souza",
    "Liam O'Brien",
    "Mei Chen",
    "Oluwaseun Adeyemi",
    "Jonas Weber",
    "Priya Natarajan",
    "Sofia Rossi",
    "Kenji Sato",
    "Fatima Zahra",
    "Carlos Mendoza",
    "Emma Johansson",
    "Noah Levi",
]


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("triage", seed))
    tickets: list[dict[str, Any]] = []
    for i in range(n):
        if tickets and rng.random() < 0.08:  # the same ticket sent twice: the response cache serves it
            tickets.append({"ticket": dict(rng.choice(tickets)["ticket"])})
            continue
        _, text = rng.choice(_ISSUES)
        order_id = f"ORD-{rng.randint(100000, 999999)}"
        tickets.append(
            {
                "ticket": {
                    "ticket_id": f"T-{seed:03d}-{i:05d}",
                    "customer": rng.choice(_NAMES),
                    "channel": rng.choice(["email", "chat", "phone", "web form"]),
                    "order_id": order_id,
                    "text": text.format(order_id=order_id)
                    + rng.choice(["", " This is urgent.", " Thanks in advance.", " Third time I'm asking!"]),
                }
            }
        )
    return tickets


WORKFLOW = Workflow(
    name="triage",
    pattern="sequential",
    description="Support triage pipeline: classifier -> research (tools) -> response -> quality review",
    agents=(CLASSIFIER, RESEARCH, RESPONSE, QUALITY),
    build=build,
    make_tasks=make_tasks,
    result_key="response",
    deadline_ms=90_000,
)
