"""What a runnable workflow is: a graph builder, its agents, and (optionally) a seeded task generator.

The six example workflows and every workflow built with `agentdeck.patterns` are instances of this
one class; `agentdeck run`, replay and the dashboard accept nothing else as a workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph import StateGraph

from agentdeck.engine.agents import Agent


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    pattern: str  # sequential | fan_out | supervisor | graph | critique | event_driven
    description: str
    agents: tuple[Agent, ...]
    build: Callable[[], StateGraph[Any, Any, Any, Any]]  # uncompiled, context_schema=RunContext
    make_tasks: Callable[[int, int], list[dict[str, Any]]] | None  # (seed, n) -> initial states; None: bring tasks
    result_key: str  # the state key holding the task's answer
    deadline_ms: float = 120_000.0
    # How replay and the dashboard find this workflow again (`MODULE:ATTR`, `path.py:ATTR`, or an example's
    # name). None: found when it runs (see agentdeck.engine.workflows.ref_of).
    ref: str | None = None

    def agent(self, name: str) -> Agent:
        for a in self.agents:
            if a.name == name:
                return a
            if a.fallback is not None and a.fallback.name == name:
                return a.fallback
        raise KeyError(f"workflow {self.name} has no agent {name!r}")
