"""Event-driven incident response: agents subscribe to event types on an in-process bus.

An alert starts the task. The triager classifies it and emits `incident.declared` (sev1/sev2) and
`diagnose.<component>`; the database and deploy agents handle their diagnoses; comms posts a status
update for declared incidents. Events without a subscriber (e.g. `diagnose.network`) go to the
dead-letter queue and the incident carries on. A postmortem closes the task once the queue is empty.

Weak prompts on purpose: the db/deploy agents' v1 prompts do not ask for the action "from the allowed
list", so for some incidents the simulated model answers "Rollback problem" and those tasks
dead-letter; the fix is to append "Choose the action from the allowed list." to both prompts.
"""

from __future__ import annotations

import random
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier, Tool
from agentdeck.engine.bus import EventBus, dead_letter_event
from agentdeck.engine.context import RunContext
from agentdeck.engine.providers.simulator import stable_int
from agentdeck.engine.step import dump, node_event, run_agent
from agentdeck.engine.workflow import Workflow

MAX_EVENTS = 12


class Triage(BaseModel):
    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    component: Literal["database", "deploy", "network", "certificate"]
    summary: str


class Diagnosis(BaseModel):
    root_cause: str
    action: Literal["rollback", "failover", "scale_up", "restart", "none"]
    resolved: bool


class StatusUpdate(BaseModel):
    audience: Literal["internal", "customers"]
    message: str = Field(max_length=400)


class Postmortem(BaseModel):
    timeline: list[str] = Field(min_length=1, max_length=5)
    follow_ups: list[str] = Field(max_length=4)


def _metrics(args: dict[str, Any]) -> str:
    rng = random.Random(stable_int("metrics", args))
    return f"p99 {rng.randint(120, 4000)} ms, error rate {rng.uniform(0, 12):.1f}%, cpu {rng.randint(20, 99)}%"


METRIC_ARGS = {"type": "object", "properties": {"service": {"type": "string", "pattern": r"^svc-[a-z]+$"}}}
TRIAGER = Agent(
    "triager",
    "on-call triager",
    Prompt(
        "Alert {alert} on {service} exactly as written at {time}: {detail}. Pick the severity "
        "and component from the allowed list.",
        "v2",
    ),
    Tier.FAST,
    Triage,
    timeout_s=15,
    max_output_tokens=250,
    tools=(Tool("query_metrics", "Current metrics for a service", _metrics, METRIC_ARGS),),
)
DB_AGENT = Agent(
    "db_agent",
    "database reliability engineer",
    Prompt("Diagnose the database side of the incident on {service}: {summary}", "v1"),
    Tier.BALANCED,
    Diagnosis,
    timeout_s=40,
    max_output_tokens=400,
)
DEPLOY_AGENT = Agent(
    "deploy_agent",
    "release engineer",
    Prompt("Diagnose whether the latest deploy of {service} caused: {summary}", "v1"),
    Tier.BALANCED,
    Diagnosis,
    timeout_s=40,
    max_output_tokens=400,
)
COMMS = Agent(
    "comms",
    "incident communications lead",
    Prompt("Write a {severity} status update for {service}: {summary}", "v1"),
    Tier.FAST,
    StatusUpdate,
    timeout_s=20,
    max_output_tokens=250,
    optional=True,
)
POSTMORTEM = Agent(
    "postmortem",
    "incident commander",
    Prompt(
        "Write the postmortem for the {service} incident. Handled events: {handled}. Unhandled events: {unhandled}.",
        "v1",
    ),
    Tier.BALANCED,
    Postmortem,
    timeout_s=60,
    max_output_tokens=700,
)

BUS = (
    EventBus()
    .subscribe("alert.*", "triager")
    .subscribe("diagnose.database", "db_agent")
    .subscribe("diagnose.deploy", "deploy_agent")
    .subscribe("incident.declared", "comms")
)


class IncidentState(TypedDict, total=False):
    incident: dict[str, Any]
    queue: list[dict[str, Any]]
    handled: list[dict[str, Any]]
    unhandled: list[dict[str, Any]]
    findings: dict[str, Any]
    postmortem: dict[str, Any] | None


def dispatch(state: IncidentState) -> dict[str, Any]:
    return {}


def _route(state: IncidentState) -> str:
    queue = state.get("queue", [])
    if not queue or len(state.get("handled", [])) + len(state.get("unhandled", [])) >= MAX_EVENTS:
        return "postmortem"
    return BUS.route(queue[0]["type"]) or "unhandled"


def _consume(state: IncidentState, emitted: list[dict[str, Any]], finding: dict[str, Any] | None) -> dict[str, Any]:
    event = state["queue"][0]
    node_event(sc.EVENT_HANDLED, {sc.AD_EVENT_TYPE: event["type"]})
    findings = {**state.get("findings", {})}
    if finding is not None:
        findings[event["type"]] = finding
    return {"queue": state["queue"][1:] + emitted, "handled": [*state.get("handled", []), event], "findings": findings}


def triager(state: IncidentState) -> dict[str, Any]:
    t = dump(run_agent(TRIAGER, {**state["incident"], **state["queue"][0]["payload"]}, state=state))
    emitted = []
    if t:
        info = {"service": state["incident"]["service"], "summary": t["summary"], "severity": t["severity"]}
        if t["severity"] in ("sev1", "sev2"):
            emitted.append({"type": "incident.declared", "payload": info})
        emitted.append({"type": f"diagnose.{t['component']}", "payload": info})
    return _consume(state, emitted, t)


def _handler(agent: Agent) -> Any:
    def node(state: IncidentState) -> dict[str, Any]:
        event = state["queue"][0]
        result = dump(run_agent(agent, {**state["incident"], **event["payload"]}, state=state))
        emitted = []
        if result and result.get("resolved") is False and result.get("action") == "rollback":
            emitted.append({"type": "diagnose.deploy", "payload": event["payload"]})
        if agent is DEPLOY_AGENT:  # a rollback can only be requested once
            emitted = []
        return _consume(state, emitted, result)

    return node


def unhandled(state: IncidentState) -> dict[str, Any]:
    event = state["queue"][0]
    dead_letter_event(event, state)
    return {"queue": state["queue"][1:], "unhandled": [*state.get("unhandled", []), event]}


def postmortem(state: IncidentState) -> dict[str, Any]:
    handled = ", ".join(e["type"] for e in state.get("handled", [])) or "none"
    missed = ", ".join(e["type"] for e in state.get("unhandled", [])) or "none"
    return {
        "postmortem": dump(
            run_agent(POSTMORTEM, {**state["incident"], "handled": handled, "unhandled": missed}, state=state)
        )
    }


def build() -> StateGraph[Any, Any, Any, Any]:
    g = StateGraph(IncidentState, context_schema=RunContext)
    g.add_node("dispatch", dispatch)
    g.add_node("triager", triager)
    g.add_node("db_agent", _handler(DB_AGENT))
    g.add_node("deploy_agent", _handler(DEPLOY_AGENT))
    g.add_node("comms", _handler(COMMS))
    g.add_node("unhandled", unhandled)
    g.add_node("postmortem", postmortem)
    g.add_edge(START, "dispatch")
    targets = [*BUS.handlers, "unhandled", "postmortem"]
    g.add_conditional_edges("dispatch", _route, targets)
    for node in (*BUS.handlers, "unhandled"):
        g.add_edge(node, "dispatch")
    g.add_edge("postmortem", END)
    return g


_ALERTS = [
    ("alert.latency", "p99 latency above 2 s for 5 min"),
    ("alert.errors", "5xx rate above 5%"),
    ("alert.saturation", "connection pool exhausted"),
    ("alert.cert", "TLS certificate expires in 3 days"),
]


def make_tasks(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(stable_int("incident", seed))
    out = []
    for _ in range(n):
        alert, detail = rng.choice(_ALERTS)
        service = f"svc-{rng.choice(['checkout', 'search', 'auth', 'billing', 'catalog'])}"
        queue = [{"type": alert, "payload": {"alert": alert, "detail": detail}}]
        if rng.random() < 0.15:  # a stray event from a misconfigured exporter: nobody subscribes to it
            queue.append({"type": "metrics.heartbeat_missing", "payload": {"exporter": "node-exporter"}})
        out.append(
            {
                "incident": {
                    "service": service,
                    "time": f"2026-11-{rng.randint(1, 20):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}Z",
                },
                "queue": queue,
                "handled": [],
                "unhandled": [],
                "findings": {},
            }
        )
    return out


WORKFLOW = Workflow(
    name="incident",
    pattern="event_driven",
    description="Event-driven incident response on an in-process bus; unhandled events are dead-lettered",
    agents=(TRIAGER, DB_AGENT, DEPLOY_AGENT, COMMS, POSTMORTEM),
    build=build,
    make_tasks=make_tasks,
    result_key="postmortem",
    deadline_ms=300_000,
)
