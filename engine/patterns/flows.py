"""Patterns without cycles of their own: a sequential pipeline, fan-out/fan-in, and a supervisor that
delegates to workers (the supervisor loop is bounded by `max_rounds`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from agentdeck.engine.agents import Agent
from agentdeck.engine.patterns.state import (
    DEADLINE_MS,
    INCOMPLETE,
    ROUNDS,
    MakeTasks,
    State,
    add_node,
    agent_inputs,
    agent_node,
    check_names,
    new_graph,
    state_schema,
    workflow,
)
from agentdeck.engine.step import contained, dump, raise_branch_failures, run_agent
from agentdeck.engine.workflow import Workflow

DONE = "done"


def sequential(
    name: str,
    agents: Sequence[Agent],
    *,
    inputs: Sequence[str],
    result: str | None = None,
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """`agents` one after the other; each sees the task and every earlier agent's output.
    The task's answer is the last agent's output (or agent `result`'s)."""
    if not agents:
        raise ValueError("sequential: give at least one agent")
    check_names(inputs, agents)
    schema = state_schema(name, inputs, agents, {})

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        previous = START
        for agent in agents:
            add_node(g, agent.name, agent_node(agent, inputs, agents))
            g.add_edge(previous, agent.name)
            previous = agent.name
        g.add_edge(previous, END)
        return g

    return workflow(
        name, "sequential", description, agents, build, result or agents[-1].name, make_tasks, deadline_ms, ref
    )


def fan_out(
    name: str,
    branches: Sequence[Agent],
    merge: Agent,
    *,
    inputs: Sequence[str],
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """`branches` run in parallel on the task; `merge` runs once all are done, seeing every output.
    A branch that dead-letters lets its siblings finish, then ends the task at the merge."""
    if not branches:
        raise ValueError("fan_out: give at least one branch agent")
    agents = [*branches, merge]
    check_names(inputs, agents)
    schema = state_schema(name, inputs, agents, {})

    def merge_node(state: State) -> dict[str, Any]:
        raise_branch_failures(state)
        return {merge.name: dump(run_agent(merge, agent_inputs(state, inputs, agents), state=state))}

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        for agent in branches:
            add_node(g, agent.name, contained(agent_node(agent, inputs, branches)))
            g.add_edge(START, agent.name)
        g.add_node(merge.name, merge_node)
        g.add_edge([a.name for a in branches], merge.name)
        g.add_edge(merge.name, END)
        return g

    return workflow(name, "fan_out", description, agents, build, merge.name, make_tasks, deadline_ms, ref)


def supervisor(
    name: str,
    boss: Agent,
    workers: Sequence[Agent],
    *,
    inputs: Sequence[str],
    max_rounds: int = 4,
    description: str = "",
    make_tasks: MakeTasks | None = None,
    deadline_ms: float = DEADLINE_MS,
    ref: str | None = None,
) -> Workflow:
    """`boss` decides, round after round, which worker acts next; its output schema needs a `next` field
    holding a worker's name or "done". After `max_rounds` the task ends incomplete (`max_rounds`).
    The task's answer is the boss's last output."""
    if "next" not in boss.output_schema.model_fields:
        raise ValueError(f"supervisor: {boss.name}'s output schema needs a `next` field (a worker's name or 'done')")
    if not workers or max_rounds < 1:
        raise ValueError("supervisor: give at least one worker and max_rounds >= 1")
    agents = [boss, *workers]
    check_names(inputs, agents, [ROUNDS])
    schema = state_schema(name, inputs, agents, {ROUNDS: int})
    names = {w.name for w in workers}

    def boss_node(state: State) -> dict[str, Any]:
        done = int(state.get(ROUNDS) or 0)
        if done >= max_rounds:
            return {INCOMPLETE: "max_rounds"}
        out = dump(run_agent(boss, agent_inputs(state, inputs, agents), state=state))
        return {boss.name: out, ROUNDS: done + 1}

    def after_boss(state: State) -> str:
        chosen = str((state.get(boss.name) or {}).get("next", DONE))
        return chosen if chosen in names and not state.get(INCOMPLETE) else END

    def build() -> StateGraph[Any, Any, Any, Any]:
        g = new_graph(schema)
        g.add_node(boss.name, boss_node)
        g.add_edge(START, boss.name)
        g.add_conditional_edges(boss.name, after_boss, [*names, END])
        for worker in workers:
            add_node(g, worker.name, agent_node(worker, inputs, agents))
            g.add_edge(worker.name, boss.name)
        return g

    return workflow(name, "supervisor", description, agents, build, boss.name, make_tasks, deadline_ms, ref)
