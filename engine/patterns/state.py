"""What every pattern builder shares: the state schema it declares, the inputs an agent sees, and the
node that runs one agent."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, TypedDict, cast

from langgraph.graph import StateGraph

from agentdeck.engine.agents import Agent
from agentdeck.engine.context import RunContext
from agentdeck.engine.step import BRANCH_FAILURES, dump, run_agent
from agentdeck.engine.workflow import Workflow

INCOMPLETE = "incomplete_reason"  # set by a pattern that stops at its cap; the task ends incomplete
ROUNDS = "rounds"
State = Any  # a task's state: a dict (typed Any, as LangGraph's add_node wants for a schema made at run time)
Node = Callable[[State], dict[str, Any]]
MakeTasks = Callable[[int, int], list[dict[str, Any]]]  # (seed, n) -> task inputs, like the examples'
DEADLINE_MS = 120_000.0


def check_names(inputs: Sequence[str], agents: Iterable[Agent], reserved: Iterable[str] = ()) -> None:
    """ValueError when a task field, an agent name or a pattern's own key collide: each is a state key."""
    names = [*inputs, *(a.name for a in agents), *reserved, INCOMPLETE, BRANCH_FAILURES]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"names used twice (task fields, agent names and pattern keys share the state): {repeated}")
    if not inputs:
        raise ValueError("inputs: name the fields of a task (e.g. inputs=['question'])")


def state_schema(name: str, inputs: Sequence[str], agents: Iterable[Agent], extra: Mapping[str, Any]) -> type:
    """A TypedDict for the workflow's state: the task's fields, one output per agent, the pattern's keys."""
    fields: dict[str, Any] = {f: Any for f in inputs}
    fields.update({a.name: dict[str, Any] | None for a in agents})
    fields.update(extra)
    fields[INCOMPLETE] = str
    fields[BRANCH_FAILURES] = Annotated[list[dict[str, Any]], operator.add]
    return TypedDict(f"{name.title().replace('_', '')}State", fields, total=False)  # type: ignore[operator]


def new_graph(schema: type) -> StateGraph[Any, Any, Any, Any]:
    return StateGraph(schema, context_schema=RunContext)


def agent_inputs(state: Mapping[str, Any], inputs: Sequence[str], agents: Sequence[Agent]) -> dict[str, Any]:
    """The task's fields, then each earlier agent's output fields (later agents win) and its JSON."""
    out: dict[str, Any] = {f: state[f] for f in inputs if f in state}
    for a in agents:
        output = state.get(a.name)
        if isinstance(output, dict):
            out.update(output)
            out[a.name] = json.dumps(output, sort_keys=True)
    return out


def agent_node(agent: Agent, inputs: Sequence[str], agents: Sequence[Agent]) -> Node:
    """A node that runs `agent` on what the task and the other agents produced so far."""

    def node(state: State) -> dict[str, Any]:
        return {agent.name: dump(run_agent(agent, agent_inputs(state, inputs, agents), state=state))}

    node.__name__ = agent.name
    return node


def workflow(
    name: str,
    pattern: str,
    description: str,
    agents: Sequence[Agent],
    build: Callable[[], StateGraph[Any, Any, Any, Any]],
    result: str,
    make_tasks: MakeTasks | None,
    deadline_ms: float,
    ref: str | None,
) -> Workflow:
    """The Workflow a builder returns, its graph built once so a mistake shows where the builder is called."""
    build().compile()
    return Workflow(
        name=name,
        pattern=pattern,
        description=description or f"{pattern}: {', '.join(a.name for a in agents)}",
        agents=tuple(agents),
        build=build,
        make_tasks=make_tasks,
        result_key=result,
        deadline_ms=deadline_ms,
        ref=ref,
    )


def add_node(g: StateGraph[Any, Any, Any, Any], name: str, node: Node) -> None:
    """`g.add_node` for a node made at run time (its state type is the schema built above)."""
    g.add_node(name, cast(Any, node))
