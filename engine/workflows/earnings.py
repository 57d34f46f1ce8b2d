"""Hierarchical earnings analysis: a supervisor delegates topics to analysts and reviews their work.

The supervisor reviews each analyst report; an unsatisfactory one is re-delegated (to the same
analyst with the supervisor's feedback, one model tier up) with the delegation depth growing by one.
At the run's delegation limit (RunContext.delegation_limit, default 3) the loop stops: the report is
written with what exists and the task is flagged incomplete ("delegation_limit").
"""

from __future__ import annotations

import random
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import current_context, dump, node_event, run_agent
from agentdeck.engine.workflow import Workflow

TOPICS = ("revenue", "margins", "guidance")


class Analysis(BaseModel):
    trend: Literal["improving", "stable", "deteriorating"]
    key_figure: str
    commentary: str
    confidence: float = Field(ge=0, le=1)


class Verdict(BaseModel):
    satisfactory: bool
    feedback: str


class EarningsReport(BaseModel):
    rating: Literal["buy", "hold", "sell"]
    headline: str
    risks: list[str] = Field(max_length=3)


def _analyst(topic: str, tier: Tier) -> Agent:
    return Agent(
        f"{topic}_analyst",
        f"{topic} analyst",
        Prompt(
            "Analyse the {topic} of {ticker} for {quarter}. Transcript excerpt:\n{transcript}\n"
            "Use a trend from the allowed list.{feedback}",
            "v1",
        ),
        tier,
        Analysis,
        timeout_s=40,
        max_output_tokens=500,
    )


ANALYSTS = {t: _analyst(t, Tier.FAST) for t in TOPICS}
ESCALATED = {t: _analyst(t, Tier.BALANCED) for t in TOPICS}
REVIEWER = Agent(
    "supervisor",
    "head of research",
    Prompt(
        "Review the {topic} analysis of {ticker} ({quarter}): trend {trend}, key figure "
        "{key_figure}, confidence {confidence}.\n{commentary}\nIs it satisfactory?",
        "v1",
    ),
    Tier.BALANCED,
    Verdict,
    timeout_s=30,
    max_output_tokens=200,
)
WRITER = Agent(
    "report_writer",
    "equity research writer",
    Prompt("Write the earnings note for {ticker} {quarter}.\n{analyses}\nRate it from the allowed list.", "v1"),
    Tier.FRONTIER,
    EarningsReport,
    timeout_s=60,
    max_output_tokens=700,
)


class EarningsState(TypedDict, total=False):
    call: dict[str, Any]
    queue: list[str]
    depth: dict[str, int]
    feedback: dict[str, str]
    analyses: dict[str, Any]
    report: dict[str, Any] | None
    incomplete_reason: str


def supervise(state: EarningsState) -> dict[str, Any]:
    """Delegate the next topic, or review the last analysis and re-delegate it when unsatisfactory."""
    return {}


def analyse(state: EarningsState) -> dict[str, Any]:
    topic = state["queue"][0]
    depth = state.get("depth", {}).get(topic, 0)
    agent = (ESCALATED if depth else ANALYSTS)[topic]
    fb = state.get("feedback", {}).get(topic)
    inputs = {**state["call"], "topic": topic, "feedback": f"\nSupervisor feedback: {fb}" if fb else ""}
    result = run_agent(agent, inputs, state=state, attributes={sc.AD_DELEGATION_DEPTH: depth})
    analysis = dump(result)
    ctx = current_context()
    verdict = None
    if analysis is not None:
        v = run_agent(REVIEWER, {**state["call"], "topic": topic, **analysis}, state=state)
        verdict = v.output
    updates: dict[str, Any] = {"analyses": {**state.get("analyses", {}), topic: analysis}}
    if verdict is not None and (verdict.satisfactory or analysis is None):
        updates["queue"] = state["queue"][1:]
        return updates
    new_depth = depth + 1
    node_event(sc.EVENT_DELEGATION, {sc.GEN_AI_AGENT_NAME: agent.name, sc.AD_DELEGATION_DEPTH: new_depth})
    if new_depth >= ctx.delegation_limit:
        updates["queue"] = state["queue"][1:]
        updates["incomplete_reason"] = "delegation_limit"
        return updates
    updates["depth"] = {**state.get("depth", {}), topic: new_depth}
    updates["feedback"] = {
        **state.get("feedback", {}),
        topic: verdict.feedback if verdict else "the analysis failed validation",
    }
    return updates


def write_report(state: EarningsState) -> dict[str, Any]:
    text = "\n".join(
        f"- {t}: {a['trend']}, {a['key_figure']}" if a else f"- {t}: no analysis"
        for t, a in state.get("analyses", {}).items()
    )
    return {"report": dump(run_agent(WRITER, {**state["call"], "analyses": text}, state=state))}


def _next(state: EarningsState) -> str:
    return "analyse" if state.get("queue") else "write_report"


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(EarningsState, context_schema=RunContext)
    g.add_node("supervise", supervise)
    g.add_node("analyse", analyse)
    g.add_node("write_report", write_report)
    g.add_edge(START, "supervise")
    g.add_conditional_edges("supervise", _next, ["analyse", "write_report"])
    g.add_edge("analyse", "supervise")
    g.add_edge("write_report", END)
    return g


_LINES = [
    "Revenue grew {g}% year over year, driven by subscriptions.",
    "Gross margin was {m}%, down 120 bps.",
    "We now expect full-year revenue of ${r}B.",
    "Operating expenses rose on hiring in R&D.",
    "FX was a {g} point headwind.",
    "Free cash flow reached ${f}M.",
]


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("earnings", seed))
    out = []
    for _ in range(n):
        lines = rng.sample(_LINES, 4)
        transcript = " ".join(
            s.format(g=rng.randint(-8, 35), m=rng.randint(30, 80), r=rng.randint(1, 90), f=rng.randint(-200, 2000))
            for s in lines
        )
        out.append(
            {
                "call": {
                    "ticker": rng.choice(["ACME", "GLOBX", "INITech", "UMBR", "WAYN", "STRK"]),
                    "quarter": f"Q{rng.randint(1, 4)} 2026",
                    "transcript": transcript,
                },
                "queue": list(TOPICS),
                "depth": {},
                "feedback": {},
                "analyses": {},
            }
        )
    return out


WORKFLOW = Workflow(
    name="earnings",
    pattern="supervisor",
    description="Supervisor delegates revenue/margins/guidance to analysts, reviews and re-delegates",
    agents=(*ANALYSTS.values(), *ESCALATED.values(), REVIEWER, WRITER),
    build=build,
    make_tasks=make_tasks,
    result_key="report",
    deadline_ms=240_000,
)
