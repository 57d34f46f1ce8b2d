"""Code review as a graph with conditional routing and retry cycles.

lint (tool) -> reviewer -> {approve: summary | request_changes: fixer -> reviewer (cycle) |
escalate: security -> summary}. The fix cycle is capped at MAX_CYCLES; a change still not approved
after the cap is summarised and the task flagged incomplete ("review_cycles_exhausted").
"""

from __future__ import annotations

import random
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier, Tool
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import dump, run_agent
from agentdeck.engine.workflow import Workflow

MAX_CYCLES = 3


class Verdict(BaseModel):
    verdict: Literal["approve", "request_changes", "escalate"]
    comments: list[str] = Field(max_length=4)
    severity: Literal["nit", "minor", "major", "critical"]


class Patch(BaseModel):
    files_changed: list[str] = Field(min_length=1, max_length=3)
    description: str


class SecurityReview(BaseModel):
    exploitable: bool
    cwe: str = Field(pattern=r"^CWE-\d{2,4}$")
    advice: str


class ReviewSummary(BaseModel):
    decision: Literal["merge", "block", "needs_follow_up"]
    summary: str


def _lint(args: dict[str, Any]) -> str:
    rng = random.Random(stable_int("lint", args.get("path", "")))
    findings = rng.sample(
        [
            "E501 line too long",
            "F401 unused import",
            "B006 mutable default argument",
            "S608 possible SQL injection",
            "SIM102 nested if",
        ],
        rng.randint(0, 3),
    )
    return "; ".join(findings) or "no findings"


LINT_ARGS = {"type": "object", "properties": {"path": {"type": "string", "pattern": r"^[\w/]+\.py$"}}}
REVIEWER = Agent(
    "reviewer",
    "senior code reviewer",
    Prompt(
        "Review PR #{pr} '{title}' touching {path} exactly as written (+{added}/-{removed}).\n"
        "Diff summary: {diff}\nPrevious patches: {patches}\nRun the linter, then give a verdict "
        "and severity from the allowed list.",
        "v2",
    ),
    Tier.BALANCED,
    Verdict,
    tools=(Tool("run_linter", "Lint a file", _lint, LINT_ARGS),),
    timeout_s=45,
    max_output_tokens=500,
)
FIXER = Agent(
    "fixer",
    "author bot applying review comments",
    Prompt("Apply these review comments to PR #{pr} ({path}): {comments}", "v1"),
    Tier.FAST,
    Patch,
    timeout_s=30,
    max_output_tokens=400,
)
SECURITY = Agent(
    "security",
    "application security engineer",
    Prompt(
        "Assess the security of PR #{pr} touching {path}: {diff}. Closest weakness class: {cwe}. Cite the CWE id.", "v1"
    ),
    Tier.FRONTIER,
    SecurityReview,
    timeout_s=60,
    max_output_tokens=500,
)
SUMMARIZER = Agent(
    "summarizer",
    "review summarizer",
    Prompt(
        "Summarise the review of PR #{pr}: verdicts {verdicts}; security: {security}. Decide from the allowed list.",
        "v1",
    ),
    Tier.FAST,
    ReviewSummary,
    timeout_s=20,
    max_output_tokens=300,
    optional=True,
)


class ReviewState(TypedDict, total=False):
    pr: dict[str, Any]
    verdicts: list[dict[str, Any]]
    patches: list[dict[str, Any]]
    security: dict[str, Any] | None
    summary: dict[str, Any] | None
    incomplete_reason: str


def review(state: ReviewState) -> dict[str, Any]:
    patches = "; ".join(p["description"][:80] for p in state.get("patches", [])) or "none"
    cycle = len(state.get("verdicts", [])) + 1
    v = dump(run_agent(REVIEWER, {**state["pr"], "patches": patches}, state=state, attributes={sc.AD_ITERATION: cycle}))
    return {"verdicts": [*state.get("verdicts", []), v]}


def fix(state: ReviewState) -> dict[str, Any]:
    comments = "; ".join(state["verdicts"][-1]["comments"]) or "address the reviewer's concerns"
    p = dump(
        run_agent(
            FIXER,
            {**state["pr"], "comments": comments},
            state=state,
            attributes={sc.AD_ITERATION: len(state["verdicts"])},
        )
    )
    return {"patches": [*state.get("patches", []), p] if p else state.get("patches", [])}


def secure(state: ReviewState) -> dict[str, Any]:
    return {"security": dump(run_agent(SECURITY, state["pr"], state=state))}


def summarize(state: ReviewState) -> dict[str, Any]:
    verdicts = [v["verdict"] for v in state.get("verdicts", [])]
    sec = state.get("security")
    s = run_agent(
        SUMMARIZER,
        {**state["pr"], "verdicts": ", ".join(verdicts), "security": sec["cwe"] if sec else "not reviewed"},
        state=state,
    )
    summary = dump(s) or {"decision": "needs_follow_up", "summary": "summary skipped; see verdicts"}
    summary["verdicts"] = verdicts
    out: dict[str, Any] = {"summary": summary}
    if verdicts and verdicts[-1] == "request_changes":
        out["incomplete_reason"] = "review_cycles_exhausted"
    return out


def route_verdict(state: ReviewState) -> str:
    verdict = state["verdicts"][-1]["verdict"]
    if verdict == "escalate":
        return "security"
    if verdict == "request_changes" and len(state["verdicts"]) < MAX_CYCLES:
        return "fix"
    return "summarize"


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(ReviewState, context_schema=RunContext)
    g.add_node("review", review)
    g.add_node("fix", fix)
    g.add_node("security", secure)
    g.add_node("summarize", summarize)
    g.add_edge(START, "review")
    g.add_conditional_edges("review", route_verdict, ["fix", "security", "summarize"])
    g.add_edge("fix", "review")
    g.add_edge("security", "summarize")
    g.add_edge("summarize", END)
    return g


_TITLES = [
    "Add retry to payment webhook",
    "Refactor user search query",
    "Bump cryptography to 44",
    "Cache feature flags",
    "Fix race in job scheduler",
    "Add CSV export endpoint",
]
_PATHS = [
    "payments/webhook.py",
    "users/search.py",
    "auth/tokens.py",
    "flags/cache.py",
    "jobs/scheduler.py",
    "api/export.py",
]


_DIFFS = [
    ("new SQL built with f-strings", "CWE-89"),
    ("adds a lock around the queue", "CWE-362"),
    ("changes token expiry", "CWE-613"),
    ("adds a module-level cache", "CWE-524"),
    ("renames helpers", "CWE-710"),
]


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("code_review", seed))
    out = []
    for _ in range(n):
        k = rng.randrange(len(_TITLES))
        out.append(
            {
                "pr": {
                    "pr": rng.randint(1000, 9999),
                    "title": _TITLES[k],
                    "path": _PATHS[k],
                    "added": rng.randint(3, 400),
                    "removed": rng.randint(0, 200),
                    **dict(zip(("diff", "cwe"), rng.choice(_DIFFS), strict=True)),
                }
            }
        )
    return out


WORKFLOW = Workflow(
    name="code_review",
    pattern="graph",
    description="Lint + reviewer with conditional routing: fix cycles (capped), security escalation, summary",
    agents=(REVIEWER, FIXER, SECURITY, SUMMARIZER),
    build=build,
    make_tasks=make_tasks,
    result_key="summary",
    deadline_ms=240_000,
)
