"""Patterns with cycles: a graph with conditional edges, a critique loop with an iteration cap, and
event-driven agents on a bus (a dispatcher loop). Each cycle is bounded: by LangGraph's recursion limit
(the task ends incomplete, `recursion_limit`), `max_rounds` or `max_events`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent
from agentdeck.engine.bus import EventBus, dead_letter_event
from agentdeck.engine.patterns.state import (
    DEADLINE_MS,
    INCOMPLETE,
    ROUNDS,
    MakeTasks,
    Node,
    State,
    add_node,
    agent_inputs,
    agent_node,
    check_names,
    new_graph,
    state_schema,
    workflow,
)
from agentdeck.engine.step import dump, run_agent
from agentdeck.engine.workflow import Workflow

Route = Callable[[Mapping[str, Any]], str | None]  # state -> the next agent's name, or None to finish
QUEUE, EVENT, HANDLED = "queue", "event", "handled"


def graph(
    name: str,
    agents: Sequence[Agent],
    *,
    inputs: Sequence[str],
    routes: Mapping[str, Route],
    start: str | None = None,
    result: str | None = None,
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """Agents joined by conditional edges: after agent X, `routes[X](state)` names the next agent (None
    finishes the task); an agent without a route finishes it. Starts at `start` (default: the first
    agent). Cycles are allowed; the answer is agent `result`'s output (default: the last agent's)."""
    if not agents:
        raise ValueError("graph: give at least one agent")
    check_names(inputs, agents)
    names = [a.name for a in agents]
    for source in [*routes, start or names[0]]:
        if source not in names:
            raise ValueError(f"graph: {source!r} is not one of the agents ({', '.join(names)})")
    schema = state_schema(name, inputs, agents, {})

    def edge(route: Route) -> Callable[[Mapping[str, Any]], str]:
        def choose(state: State) -> str:
            target = route(state)
            if target is not None and target not in names:
                raise ValueError(f"a route chose {target!r}, which is not one of the agents ({', '.join(names)})")
            return target or END

        return choose

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        for agent in agents:
            add_node(g, agent.name, agent_node(agent, inputs, agents))
            if agent.name in routes:
                g.add_conditional_edges(agent.name, edge(routes[agent.name]), [*names, END])
            else:
                g.add_edge(agent.name, END)
        g.add_edge(START, start or names[0])
        return g

    return workflow(name, "graph", description, agents, build, result or names[-1], make_tasks, deadline_ms, ref)


def _approved(review: Mapping[str, Any]) -> bool:
    return bool(review.get("approved"))


def critique_loop(
    name: str,
    writer: Agent,
    critic: Agent,
    *,
    inputs: Sequence[str],
    max_rounds: int = 3,
    approved: Callable[[Mapping[str, Any]], bool] = _approved,
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """`writer` drafts, `critic` reviews, in rounds, until `approved(critic's output)` (default: its
    `approved` field is true). The writer sees the critic's last review. After `max_rounds` without
    approval the task ends incomplete (`max_rounds`) with the last draft as its answer."""
    if max_rounds < 1:
        raise ValueError("critique_loop: max_rounds must be at least 1")
    agents = [writer, critic]
    check_names(inputs, agents, [ROUNDS])
    schema = state_schema(name, inputs, agents, {ROUNDS: int})

    def write(state: State) -> dict[str, Any]:
        n = int(state.get(ROUNDS) or 0) + 1
        r = run_agent(writer, agent_inputs(state, inputs, agents), state=state, attributes={sc.AD_ITERATION: n})
        return {writer.name: dump(r), ROUNDS: n}

    def review(state: State) -> dict[str, Any]:
        n = int(state.get(ROUNDS) or 0)
        r = run_agent(critic, agent_inputs(state, inputs, agents), state=state, attributes={sc.AD_ITERATION: n})
        out = dump(r)
        if (out is None or not approved(out)) and n >= max_rounds:
            return {critic.name: out, INCOMPLETE: "max_rounds"}
        return {critic.name: out}

    def after_review(state: State) -> str:
        out = state.get(critic.name)
        return END if state.get(INCOMPLETE) or out is None or approved(out) else writer.name

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        g.add_node(writer.name, write)
        g.add_node(critic.name, review)
        g.add_edge(START, writer.name)
        g.add_edge(writer.name, critic.name)
        g.add_conditional_edges(critic.name, after_review, [writer.name, END])
        return g

    return workflow(name, "critique", description, agents, build, writer.name, make_tasks, deadline_ms, ref)


def _emitted(output: Mapping[str, Any]) -> list[str]:
    events = output.get("events") or []
    return [str(e) for e in events] if isinstance(events, list) else []


def event_driven(
    name: str,
    handlers: Mapping[str, Agent],
    *,
    inputs: Sequence[str],
    first_event: str,
    emits: Callable[[Mapping[str, Any]], list[str]] = _emitted,
    max_events: int = 12,
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """Agents subscribed to event types (`handlers`: fnmatch pattern -> agent, first match wins). The
    task starts with `first_event`; each handler's output may emit more (`emits(output)`, default its
    `events` field, a list of event types). An event nobody handles goes to the dead-letter queue and
    the task carries on; the task ends when no event is left (answer: `handled`, the events and their
    agents) or incomplete after `max_events`. A handler sees the task, the outputs so far and `event`."""
    agents = list({a.name: a for a in handlers.values()}.values())  # an agent may handle several patterns
    check_names(inputs, agents, [QUEUE, EVENT, HANDLED])
    schema = state_schema(name, inputs, agents, {QUEUE: list[str], EVENT: str, HANDLED: list[dict[str, str]]})
    bus = EventBus()
    for pattern, agent in handlers.items():
        bus.subscribe(pattern, agent.name)
    by_name = {a.name: a for a in agents}
    dispatch = "dispatch"

    def dispatch_node(state: State) -> dict[str, Any]:
        queue = list(state.get(QUEUE) if QUEUE in state else [first_event])
        handled = list(state.get(HANDLED) or [])
        while queue:
            if len(handled) >= max_events:
                return {QUEUE: queue, EVENT: "", INCOMPLETE: "max_events"}
            event = queue.pop(0)
            if bus.route(event) is not None:
                return {QUEUE: queue, EVENT: event}
            dead_letter_event({"type": event, "payload": {}}, state)
        return {QUEUE: [], EVENT: ""}

    def handler_node(agent: Agent) -> Node:
        def node(state: State) -> dict[str, Any]:
            event = str(state.get(EVENT, ""))
            seen = {**agent_inputs(state, inputs, agents), EVENT: event}
            out = dump(run_agent(agent, seen, state=state))
            queue = [*state.get(QUEUE, []), *(emits(out) if out else [])]
            handled = [*state.get(HANDLED, []), {"event": event, "agent": agent.name}]
            return {agent.name: out, QUEUE: queue, HANDLED: handled}

        node.__name__ = agent.name
        return node

    def after_dispatch(state: State) -> str:
        event = str(state.get(EVENT, ""))
        return (bus.route(event) or END) if event and not state.get(INCOMPLETE) else END

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        g.add_node(dispatch, dispatch_node)
        g.add_edge(START, dispatch)
        g.add_conditional_edges(dispatch, after_dispatch, [*by_name, END])
        for agent in agents:
            add_node(g, agent.name, handler_node(agent))
            g.add_edge(agent.name, dispatch)
        return g

    return workflow(name, "event_driven", description, agents, build, HANDLED, make_tasks, deadline_ms, ref)
