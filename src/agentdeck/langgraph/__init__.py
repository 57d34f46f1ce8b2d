"""Tracing and time-travel replay for LangGraph apps not written with the agentdeck engine.

`instrument(compiled_graph)` returns the same graph, traced (one task per invocation, one agent step
per node, one span per LLM and tool call); `agentdeck checkpoints/replay THREAD --graph MODULE:ATTR`
and the dashboard fork its threads from any checkpoint with edited prompts (`agentdeck.prompt`).
"""

from agentdeck.langgraph.graph import InstrumentedGraph, instrument

__all__ = ["InstrumentedGraph", "instrument"]
