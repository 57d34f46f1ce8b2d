"""agentdeck: observability and time-travel replay for multi-agent LLM systems.

One import name for the whole project: `agentdeck.engine` (the orchestration engine),
`agentdeck.collector` (the OTLP collector), `agentdeck.dashboard` (the Streamlit app),
`agentdeck.cli` (the `agentdeck` command) and `agentdeck.langgraph` (tracing and replay for LangGraph
apps not written with the engine). The public API below is importable from `agentdeck` itself and is
loaded lazily: `import agentdeck` imports no LangGraph, so the collector and its decode workers stay
light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> "module:attribute", imported on first use (PEP 562).
_LAZY: dict[str, str] = {
    # agents, prompts, tools, model tiers
    "Agent": "agentdeck.engine.agents:Agent",
    "Prompt": "agentdeck.engine.agents:Prompt",
    "Tool": "agentdeck.engine.agents:Tool",
    "Tier": "agentdeck.engine.agents:Tier",
    "TIER_MODELS": "agentdeck.engine.agents:TIER_MODELS",
    # workflows and the six patterns
    "Workflow": "agentdeck.engine.workflow:Workflow",
    "sequential": "agentdeck.engine.patterns:sequential",
    "fan_out": "agentdeck.engine.patterns:fan_out",
    "supervisor": "agentdeck.engine.patterns:supervisor",
    "graph": "agentdeck.engine.patterns:graph",
    "critique_loop": "agentdeck.engine.patterns:critique_loop",
    "event_driven": "agentdeck.engine.patterns:event_driven",
    # policies: budget, deadline, retries, routing, cache, circuit breaker
    "Policies": "agentdeck.engine.policy_set:Policies",
    "Retries": "agentdeck.engine.policy_set:Retries",
    "CircuitBreaker": "agentdeck.engine.policies:CircuitBreaker",
    "route": "agentdeck.engine.policies:route",
    # running, replaying, telemetry
    "run": "agentdeck.api:run",
    "arun": "agentdeck.api:arun",
    "replay": "agentdeck.api:replay",
    "setup_telemetry": "agentdeck.api:setup_telemetry",
    "TaskInput": "agentdeck.engine.runner:TaskInput",
    "TaskResult": "agentdeck.engine.execution:TaskResult",
    "RunSummary": "agentdeck.engine.runner:RunSummary",
    # naming workflows
    "load_ref": "agentdeck.refs:load_ref",
    "RefError": "agentdeck.refs:RefError",
    # prompts an adapted LangGraph app reads (replays and saved versions override the default)
    "prompt": "agentdeck.prompting:prompt",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (`X as X`: re-exported)
    from agentdeck.api import (
        arun as arun,
    )
    from agentdeck.api import (
        replay as replay,
    )
    from agentdeck.api import (
        run as run,
    )
    from agentdeck.api import (
        setup_telemetry as setup_telemetry,
    )
    from agentdeck.engine.agents import (
        TIER_MODELS as TIER_MODELS,
    )
    from agentdeck.engine.agents import (
        Agent as Agent,
    )
    from agentdeck.engine.agents import (
        Prompt as Prompt,
    )
    from agentdeck.engine.agents import (
        Tier as Tier,
    )
    from agentdeck.engine.agents import (
        Tool as Tool,
    )
    from agentdeck.engine.execution import (
        TaskResult as TaskResult,
    )
    from agentdeck.engine.patterns import (
        critique_loop as critique_loop,
    )
    from agentdeck.engine.patterns import (
        event_driven as event_driven,
    )
    from agentdeck.engine.patterns import (
        fan_out as fan_out,
    )
    from agentdeck.engine.patterns import (
        graph as graph,
    )
    from agentdeck.engine.patterns import (
        sequential as sequential,
    )
    from agentdeck.engine.patterns import (
        supervisor as supervisor,
    )
    from agentdeck.engine.policies import (
        CircuitBreaker as CircuitBreaker,
    )
    from agentdeck.engine.policies import (
        route as route,
    )
    from agentdeck.engine.policy_set import (
        Policies as Policies,
    )
    from agentdeck.engine.policy_set import (
        Retries as Retries,
    )
    from agentdeck.engine.runner import (
        RunSummary as RunSummary,
    )
    from agentdeck.engine.runner import (
        TaskInput as TaskInput,
    )
    from agentdeck.engine.workflow import (
        Workflow as Workflow,
    )
    from agentdeck.prompting import prompt as prompt
    from agentdeck.refs import (
        RefError as RefError,
    )
    from agentdeck.refs import (
        load_ref as load_ref,
    )


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'agentdeck' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
