"""Parallel due diligence: four specialists fan out over a target company, a synthesis merges them.

The legal specialist reads the full filings on the frontier model with a 10 s timeout and one retry:
for companies with long filings the call times out, the (optional) specialist is dropped, and the
synthesis memo names the missing area instead of failing. Specialists also record their risk on a
shared dossier with optimistic concurrency (version-checked writes, conflicts retried and counted);
the merge takes MERGE_MS, so specialists finishing close together conflict.
"""

from __future__ import annotations

import operator
import random
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import (
    contained,
    current_context,
    dump,
    node_cursor,
    node_event,
    raise_branch_failures,
    run_agent,
)
from agentdeck.engine.workflow import Workflow

AREAS = ("financial", "legal", "market", "technology")
MERGE_MS = 120.0  # a specialist's read-merge-write of the shared dossier


class Finding(BaseModel):
    risk: Literal["low", "medium", "high"]
    summary: str
    red_flags: list[str] = Field(max_length=3)


class Memo(BaseModel):
    recommendation: Literal["proceed", "proceed_with_conditions", "decline"]
    conditions: list[str] = Field(max_length=4)
    rationale: str


def _specialist(area: str, tier: Tier, prompt: str, **kw: Any) -> Agent:
    return Agent(f"{area}_analyst", f"{area} due-diligence specialist", Prompt(prompt, "v2"), tier, Finding, **kw)


SPECIALISTS = {
    "financial": _specialist(
        "financial",
        Tier.BALANCED,
        "Assess the financial health of {company} ({sector}), revenue ${revenue_m}M, "
        "debt ${debt_m}M. Rate the risk from the allowed list and list red flags.",
        timeout_s=40,
    ),
    "legal": _specialist(
        "legal",
        Tier.FRONTIER,
        "Review the filings of {company} for litigation and regulatory exposure. Rate the risk "
        "from the allowed list.\nFilings:\n{filings}",
        timeout_s=10,
        optional=True,
        max_provider_retries=1,
    ),
    "market": _specialist(
        "market",
        Tier.FAST,
        "Assess the market position of {company} in {sector} against {competitors}. "
        "Rate the risk from the allowed list.",
        timeout_s=20,
    ),
    "technology": _specialist(
        "technology",
        Tier.BALANCED,
        "Assess the technology stack and key-person risk of {company} ({employees} staff). "
        "Rate the risk from the allowed list.",
        timeout_s=30,
        optional=True,
    ),
}
SYNTHESIS = Agent(
    "synthesis",
    "investment committee secretary",
    Prompt(
        "Write the due-diligence memo for {company}. Findings:\n{findings}\nMissing areas (no finding): "
        "{missing}. Recommend from the allowed list; add conditions for missing areas.",
        "v1",
    ),
    Tier.FRONTIER,
    Memo,
    timeout_s=60,
    max_output_tokens=900,
)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {**a, **b}


class DDState(TypedDict, total=False):
    company: dict[str, Any]
    findings: Annotated[dict[str, Any], _merge]
    conflicts: Annotated[int, operator.add]
    branch_failures: Annotated[list[dict[str, Any]], operator.add]
    memo: dict[str, Any] | None


def _make_node(area: str) -> Any:
    agent = SPECIALISTS[area]

    def node(state: DDState) -> dict[str, Any]:
        result = run_agent(agent, state["company"], state=state)
        ctx = current_context()
        dossier = ctx.shared_state("dossier", {})
        risk = result.output.risk if result.output else "unknown"
        cursor = node_cursor()
        read_ns = cursor.now_ns()
        if ctx.clock.virtual:
            cursor.advance(MERGE_MS)
            _, conflicts = dossier.update_virtual(lambda d: {**d, area: risk}, read_ns, cursor.now_ns())
        else:
            _, conflicts = dossier.update(lambda d: {**d, area: risk}, between=lambda: cursor.advance(MERGE_MS))
        ctx.clock.end_node(cursor)
        if conflicts:
            ctx.stats.add_conflicts(conflicts)
            node_event(sc.EVENT_STATE_CONFLICT, {sc.AD_STATE_CONFLICTS: conflicts, sc.GEN_AI_AGENT_NAME: agent.name})
        return {"findings": {area: dump(result)}, "conflicts": conflicts}

    return contained(node)


def synthesize(state: DDState) -> dict[str, Any]:
    raise_branch_failures(state)
    findings = state.get("findings", {})
    present = {a: f for a, f in findings.items() if f}
    missing = [a for a in AREAS if not findings.get(a)]
    text = "\n".join(f"- {a}: {f['risk']} risk; {f['summary']}" for a, f in sorted(present.items()))
    r = run_agent(
        SYNTHESIS,
        {**state["company"], "findings": text or "(none)", "missing": ", ".join(missing) or "none"},
        state=state,
    )
    memo = dump(r)
    if memo is not None:
        memo["missing_areas"] = missing
    return {"memo": memo}


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(DDState, context_schema=RunContext)
    for area in AREAS:
        g.add_node(area, _make_node(area))
        g.add_edge(START, area)
    g.add_node("synthesis", synthesize)
    g.add_edge(list(AREAS), "synthesis")
    g.add_edge("synthesis", END)
    return g


_SECTORS = {
    "fintech": ["Stripe", "Adyen", "Klarna"],
    "logistics": ["Flexport", "project44", "Sennder"],
    "healthtech": ["Doctolib", "Teladoc", "Oscar"],
    "devtools": ["GitLab", "JetBrains", "Vercel"],
}
_CLAUSES = [
    "Pending class action regarding data retention.",
    "Supplier contract with change-of-control clause.",
    "GDPR inquiry closed without fine in 2025.",
    "Patent licence expiring 2027.",
    "Earn-out obligations to former founders.",
    "Lease guarantees for three offices.",
]


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("due_diligence", seed))
    out = []
    for i in range(n):
        sector = rng.choice(sorted(_SECTORS))
        pages = rng.choice([2, 3, 4, 6, 8, 70, 90])  # long filings make the legal review time out
        filings = " ".join(f"[p{p}] {rng.choice(_CLAUSES)}" for p in range(pages * 4))
        out.append(
            {
                "company": {
                    "company": f"{rng.choice(['Nord', 'Blue', 'Atlas', 'Kite', 'Quanta', 'Lumen'])}"
                    f"{rng.choice(['ly', 'io', 'Labs', 'Works', 'Systems'])} {i}",
                    "sector": sector,
                    "competitors": ", ".join(_SECTORS[sector]),
                    "revenue_m": rng.randint(4, 400),
                    "debt_m": rng.randint(0, 150),
                    "employees": rng.randint(20, 2500),
                    "filings": filings,
                }
            }
        )
    return out


WORKFLOW = Workflow(
    name="due_diligence",
    pattern="fan_out",
    description="Parallel specialists (financial, legal, market, technology) merged by a synthesis memo",
    agents=(*SPECIALISTS.values(), SYNTHESIS),
    build=build,
    make_tasks=make_tasks,
    result_key="memo",
    deadline_ms=180_000,
)
