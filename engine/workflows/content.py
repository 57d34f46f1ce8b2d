"""Peer critique: a writer drafts, an editor and an SEO reviewer critique in parallel, for rounds.

The loop stops when both critics approve or after MAX_ROUNDS. At the cap the tiebreaker picks the
draft with the highest combined score; equal scores go to the earliest round (deterministic).
"""

from __future__ import annotations

import operator
import random
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import contained, dump, raise_branch_failures, run_agent
from agentdeck.engine.workflow import Workflow

MAX_ROUNDS = 3


class Draft(BaseModel):
    title: str = Field(max_length=90)
    body: str
    keywords: list[str] = Field(min_length=1, max_length=5)


class Critique(BaseModel):
    approve: bool
    score: int = Field(ge=1, le=10)
    notes: list[str] = Field(max_length=3)


WRITER = Agent(
    "writer",
    "content writer",
    Prompt("Write a {length}-word {kind} about {topic} for {audience}.{notes}", "v1"),
    Tier.BALANCED,
    Draft,
    timeout_s=60,
    max_output_tokens=900,
)
EDITOR = Agent(
    "editor",
    "copy editor",
    Prompt("Critique this {kind} for clarity and tone.\nTitle: {title}\n{body}", "v1"),
    Tier.FAST,
    Critique,
    timeout_s=20,
    max_output_tokens=250,
)
SEO = Agent(
    "seo",
    "SEO reviewer",
    Prompt("Critique this {kind} for search: target '{topic}'. Title: {title}; keywords: {keywords}", "v1"),
    Tier.FAST,
    Critique,
    timeout_s=20,
    max_output_tokens=250,
    optional=True,
)


class ContentState(TypedDict, total=False):
    brief: dict[str, Any]
    drafts: list[dict[str, Any]]
    critiques: Annotated[list[dict[str, Any]], operator.add]
    branch_failures: Annotated[list[dict[str, Any]], operator.add]
    final: dict[str, Any] | None


def write(state: ContentState) -> dict[str, Any]:
    rnd = len(state.get("drafts", []))
    notes = [n for c in state.get("critiques", []) if c.get("round") == rnd - 1 for n in c.get("notes", [])]
    text = f"\nAddress this feedback: {'; '.join(notes)}" if notes else ""
    d = dump(run_agent(WRITER, {**state["brief"], "notes": text}, state=state, attributes={sc.AD_ITERATION: rnd + 1}))
    return {"drafts": [*state.get("drafts", []), d]}


def _critic(agent: Agent) -> Any:
    def node(state: ContentState) -> dict[str, Any]:
        rnd = len(state["drafts"]) - 1
        draft = state["drafts"][-1] or {"title": "", "body": "", "keywords": []}
        c = dump(
            run_agent(
                agent,
                {**state["brief"], **draft, "keywords": ", ".join(draft["keywords"])},
                state=state,
                attributes={sc.AD_ITERATION: rnd + 1},
            )
        )
        return {"critiques": [{**c, "critic": agent.name, "round": rnd}] if c else []}

    return contained(node)


def decide(state: ContentState) -> dict[str, Any]:
    raise_branch_failures(state)
    rounds = len(state["drafts"])
    latest = [c for c in state.get("critiques", []) if c["round"] == rounds - 1]
    if latest and all(c["approve"] for c in latest) and state["drafts"][-1]:
        return {"final": {**state["drafts"][-1], "round": rounds - 1, "decided_by": "approval"}}
    if rounds < MAX_ROUNDS:
        return {}
    scores = {r: sum(c["score"] for c in state["critiques"] if c["round"] == r) for r in range(rounds)}
    best = min((r for r in range(rounds) if state["drafts"][r]), key=lambda r: (-scores[r], r), default=None)
    if best is None:
        return {"final": None}
    return {"final": {**state["drafts"][best], "round": best, "decided_by": "tiebreaker", "score": scores[best]}}


def _after_decide(state: ContentState) -> str:
    return END if state.get("final") is not None or len(state["drafts"]) >= MAX_ROUNDS else "write"


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(ContentState, context_schema=RunContext)
    g.add_node("write", write)
    g.add_node("editor", _critic(EDITOR))
    g.add_node("seo", _critic(SEO))
    g.add_node("decide", decide)
    g.add_edge(START, "write")
    g.add_edge("write", "editor")
    g.add_edge("write", "seo")
    g.add_edge(["editor", "seo"], "decide")
    g.add_conditional_edges("decide", _after_decide, ["write", END])
    return g


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("content", seed))
    topics = [
        "zero-downtime Postgres upgrades",
        "choosing a vector database",
        "remote onboarding",
        "EU AI Act for startups",
        "observability for LLM agents",
        "pricing page experiments",
    ]
    return [
        {
            "brief": {
                "topic": rng.choice(topics),
                "kind": rng.choice(["blog post", "newsletter", "landing page"]),
                "audience": rng.choice(["CTOs", "developers", "founders", "product managers"]),
                "length": rng.choice([400, 800, 1200]),
            },
            "drafts": [],
            "critiques": [],
        }
        for _ in range(n)
    ]


WORKFLOW = Workflow(
    name="content",
    pattern="critique",
    description="Writer with editor + SEO critique rounds, iteration cap and deterministic tiebreaker",
    agents=(WRITER, EDITOR, SEO),
    build=build,
    make_tasks=make_tasks,
    result_key="final",
    deadline_ms=300_000,
)
