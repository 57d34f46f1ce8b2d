"""Node spans of an adapted LangGraph graph: every node run is an `invoke_agent {node}` span.

`traced_node` wraps a node's runnable (the adapter copies the graph; the user's graph is not changed).
The wrapper runs where LangGraph runs the node, so it reads the execution info LangGraph keeps there
(checkpoint, task, attempt) and gives each retry its own span with its attempt number. It makes the
node's span current (OTel context and `current_node`), so LLM and tool calls inside nest under it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import get_runtime
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from agentdeck.engine import semconv as sc

RUN_KEY = "__agentdeck_run"  # key in config["configurable"] holding the invocation's RunTrace


@dataclass
class RunTrace:
    """What the spans of one traced invocation share."""

    tracer: trace.Tracer
    root: Span
    context: Context  # the root span's context: node spans are its children
    workflow: str
    task_id: str
    thread_id: str
    cost_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_cost(self, usd: float) -> None:
        with self._lock:
            self.cost_usd += usd


@dataclass(frozen=True, slots=True)
class NodeScope:
    run: RunTrace
    span: Span
    node: str
    step: int


current_node: ContextVar[NodeScope | None] = ContextVar("agentdeck_current_node", default=None)


def _execution_info() -> Any:
    try:
        return get_runtime().execution_info
    except Exception:  # outside a LangGraph runtime (a node called by hand): no ids to record
        return None


def _start(name: str, config: RunnableConfig | None) -> NodeScope | None:
    conf = (config or {}).get("configurable") or {}
    run = conf.get(RUN_KEY)
    if not isinstance(run, RunTrace):
        return None  # not under an instrumented invocation
    meta = (config or {}).get("metadata") or {}
    step = int(meta.get("langgraph_step", 0))
    info = _execution_info()
    span = run.tracer.start_span(f"{sc.OP_INVOKE_AGENT} {name}", context=run.context)
    span.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: name,
            sc.GEN_AI_WORKFLOW_NAME: run.workflow,
            sc.GEN_AI_CONVERSATION_ID: run.thread_id,
            sc.LANGGRAPH_NODE: name,
            sc.LANGGRAPH_STEP: step,
            sc.LANGGRAPH_THREAD_ID: run.thread_id,
            sc.LANGGRAPH_CHECKPOINT_ID: str(getattr(info, "checkpoint_id", "") or ""),
            sc.LANGGRAPH_CHECKPOINT_NS: str(getattr(info, "checkpoint_ns", "") or ""),
            sc.LANGGRAPH_TASK_ID: str(getattr(info, "task_id", "") or ""),
            sc.AD_ATTEMPT: int(getattr(info, "node_attempt", 1) or 1),
            sc.AD_TASK_ID: run.task_id,
        }
    )
    return NodeScope(run, span, name, step)


def _fail(span: Span, exc: BaseException) -> None:
    if isinstance(exc, GraphBubbleUp):  # an interrupt or a command to the parent: control flow, not failure
        return
    span.record_exception(exc)
    span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def _output(span: Span, value: Any) -> None:
    """The node's state update as its output message, for the trace view."""
    try:
        text = json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)[:8000]
    except (TypeError, ValueError):
        text = str(value)[:8000]
    message = [{"role": "assistant", "parts": [{"type": "text", "content": text}]}]
    span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, json.dumps(message, ensure_ascii=False))


@contextmanager
def _scope(name: str, config: RunnableConfig | None) -> Iterator[NodeScope | None]:
    scope = _start(name, config)
    if scope is None:
        yield None
        return
    token = current_node.set(scope)
    attached = otel_context.attach(trace.set_span_in_context(scope.span, scope.run.context))
    try:
        yield scope
    except BaseException as exc:
        _fail(scope.span, exc)
        raise
    finally:
        otel_context.detach(attached)
        current_node.reset(token)
        scope.span.end()


@asynccontextmanager
async def _ascope(name: str, config: RunnableConfig | None) -> AsyncIterator[NodeScope | None]:
    with _scope(name, config) as scope:
        yield scope


class TracedNode(Runnable[Any, Any]):
    """A node's runnable, run inside its `invoke_agent` span."""

    def __init__(self, inner: Runnable[Any, Any], node: str) -> None:
        self.inner = inner
        self.node = node
        self.name = getattr(inner, "name", None) or node

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        with _scope(self.node, config) as scope:
            out = self.inner.invoke(input, config, **kwargs)
            if scope is not None:
                _output(scope.span, out)
            return out

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        async with _ascope(self.node, config) as scope:
            out = await self.inner.ainvoke(input, config, **kwargs)
            if scope is not None:
                _output(scope.span, out)
            return out
