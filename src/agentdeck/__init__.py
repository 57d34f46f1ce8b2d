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
    "prompt": "agentdeck.prompting:prompt",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from agentdeck.prompting import prompt as prompt


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
