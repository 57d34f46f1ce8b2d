"""`instrument(compiled_graph)`: the same LangGraph graph, traced the way agentdeck traces its engine.

The result is a copy of the compiled graph (so invoke, ainvoke, stream, astream, get_state,
get_state_history, update_state, ... all behave as before) whose nodes run inside `invoke_agent` spans
and whose every invocation is one task: an `invoke_workflow` root span carrying the thread, the
graph's `MODULE:ATTR` reference, the prompts read and the outcome (success / incomplete / failed).
The trace id, root span, run number and reference also go into the checkpoint metadata, so a thread
leads to its traces and its code. Saved prompt versions named in $AGENTDECK_PROMPT_VERSIONS are in
force for its own runs (agentdeck.langgraph.prompt_versions). Spans go to the tracer provider given,
else the global SDK provider when the app set one, else one exporting to $OTEL_EXPORTER_OTLP_ENDPOINT.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link

from agentdeck import prompting, refs
from agentdeck.engine import semconv as sc
from agentdeck.engine.execution import (
    META_PROMPTS,
    META_ROOT_SPAN_ID,
    META_RUN,
    META_TASK_ID,
    META_TRACE_ID,
    TaskResult,
    set_outcome,
)
from agentdeck.engine.telemetry import make_tracer_provider, shutdown
from agentdeck.langgraph import anthropic_sdk, prompt_versions
from agentdeck.langgraph.llm import SpanCallbacks
from agentdeck.langgraph.nodes import RUN_KEY, RunTrace, TracedNode

SCOPE = "agentdeck.langgraph"


@dataclass(frozen=True, slots=True)
class RootExtras:
    """What a replay adds to the root span of the run it starts."""

    attributes: Mapping[str, Any]
    links: Sequence[Link] = ()
    tracer_provider: TracerProvider | None = None


_extras: ContextVar[RootExtras | None] = ContextVar("agentdeck_root_extras", default=None)
_results: ContextVar[list[TaskResult] | None] = ContextVar("agentdeck_task_results", default=None)


@dataclass
class Adapter:
    """How one adapted graph is traced; shared by the copies LangGraph makes of it (with_config, ...)."""

    name: str
    ref: str | None
    module: str | None  # where instrument() was called, to find the reference later
    tracer_provider: TracerProvider | None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def provider(self) -> trace.TracerProvider:
        with self._lock:
            if self.tracer_provider is None:
                current = trace.get_tracer_provider()
                if isinstance(current, TracerProvider):
                    return current
                self.tracer_provider = make_tracer_provider(service_name=self.name)
                atexit.register(shutdown, self.tracer_provider)
            return self.tracer_provider


@contextmanager
def with_root(extras: RootExtras) -> Iterator[list[TaskResult]]:
    """Within the block, runs of adapted graphs get `extras` on their root span; yields their results."""
    results: list[TaskResult] = []
    t1 = _extras.set(extras)
    t2 = _results.set(results)
    try:
        yield results
    finally:
        _results.reset(t2)
        _extras.reset(t1)


class InstrumentedGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """A compiled LangGraph graph whose invocations are traced tasks (see `instrument`)."""

    def __init__(self, *, agentdeck: Adapter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agentdeck = agentdeck

    # invoke and ainvoke run through stream and astream
    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        if _nested(config):
            yield from super().stream(input, config, **kwargs)
            return
        with self._task(config) as traced:
            yield from super().stream(input, traced, **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        if _nested(config):
            async for chunk in super().astream(input, config, **kwargs):
                yield chunk
            return
        with self._task(config) as traced:
            async for chunk in super().astream(input, traced, **kwargs):
                yield chunk

    def reference(self) -> str | None:
        """This graph's `MODULE:ATTR` (given to instrument, or found where instrument was called)."""
        a = self.agentdeck
        if a.ref is None and a.module is not None:
            module = sys.modules.get(a.module)
            for attr, value in vars(module or object()).items():
                if value is self and not attr.startswith("_"):
                    where = a.module
                    script = getattr(module, "__file__", None)
                    if where == "__main__" and script:
                        where = str(Path(str(script)).resolve())  # a script: name it by its path
                    a.ref = f"{where}:{attr}"
                    break
        return a.ref

    def _versions_in_force(self, ref: str | None) -> Mapping[str, str]:
        """The saved prompt versions $AGENTDECK_PROMPT_VERSIONS puts in force for this run (name -> text)."""
        chosen = prompt_versions.chosen()
        if chosen and ref is None:
            raise prompt_versions.PromptVersionError(
                f"{prompt_versions.ENV_VAR} is set, but the graph has no MODULE:ATTR reference to find its saved "
                "versions by: pass ref= to agentdeck.langgraph.instrument"
            )
        return prompt_versions.texts(self, str(ref), chosen)

    def _previous(self, thread_id: str) -> Mapping[str, Any]:
        if not thread_id or self.checkpointer in (None, True, False):
            return {}
        snapshot = CompiledStateGraph.get_state(self, {"configurable": {"thread_id": thread_id}})
        return dict(snapshot.metadata or {})

    @contextmanager
    def _task(self, config: RunnableConfig | None) -> Iterator[RunnableConfig]:
        extras = _extras.get() or RootExtras({})
        provider = extras.tracer_provider or self.agentdeck.provider()
        tracer = provider.get_tracer(SCOPE)
        cfg: dict[str, Any] = dict(config or {})
        conf = dict(cfg.get("configurable") or {})
        meta = dict(cfg.get("metadata") or {})
        thread_id = str(conf.get("thread_id") or "")
        previous = self._previous(thread_id)
        task_id = str(meta.get(META_TASK_ID) or previous.get(META_TASK_ID) or thread_id)
        ref = self.reference()
        versions = {} if _extras.get() is not None else self._versions_in_force(ref)  # replays say their own
        root = tracer.start_span(f"{sc.OP_INVOKE_WORKFLOW} {self.agentdeck.name}", links=extras.links)
        root.set_attributes(
            {
                sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
                sc.GEN_AI_WORKFLOW_NAME: self.agentdeck.name,
                sc.AD_TASK_ID: task_id,
                sc.LANGGRAPH_THREAD_ID: thread_id,
                sc.GEN_AI_CONVERSATION_ID: thread_id,
                **({refs.SPAN_ATTRIBUTE: ref} if ref else {}),
                **extras.attributes,
            }
        )
        span_context = root.get_span_context()
        run = RunTrace(tracer, root, trace.set_span_in_context(root), self.agentdeck.name, task_id, thread_id)
        stack = ExitStack()
        stack.enter_context(prompting.overriding(versions))
        in_force = prompting.in_force()
        cfg["configurable"] = {**conf, RUN_KEY: run}
        cfg["metadata"] = {
            **meta,
            META_TRACE_ID: format(span_context.trace_id, "032x"),
            META_ROOT_SPAN_ID: format(span_context.span_id, "016x"),
            META_TASK_ID: task_id,
            META_RUN: int(str(previous.get(META_RUN, 0))) + 1,
            **({refs.CHECKPOINT_METADATA_KEY: ref} if ref else {}),
            **({META_PROMPTS: json.dumps(dict(in_force), sort_keys=True)} if in_force else {}),
        }
        cfg["callbacks"] = _with_callbacks(cfg.get("callbacks"))
        anthropic_sdk.patch()
        outcome, detail = "success", ""
        with stack, prompting.collecting() as prompts:
            try:
                yield RunnableConfig(**cfg)  # type: ignore[typeddict-item]
            except GraphRecursionError:
                outcome, detail = "incomplete", "recursion_limit"
                raise
            except GeneratorExit:
                raise
            except BaseException as exc:
                outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
                root.record_exception(exc)
                raise
            finally:
                if outcome == "success" and thread_id:
                    waiting = _waiting(self, thread_id)
                    if waiting:
                        outcome, detail = "incomplete", f"interrupted before {', '.join(waiting)}"
                _end(root, outcome, detail, prompts, run)
                results = _results.get()
                if results is not None:
                    results.append(
                        TaskResult(
                            task_id,
                            format(span_context.trace_id, "032x"),
                            thread_id,
                            ref or self.agentdeck.name,
                            outcome,
                            run.cost_usd,
                            detail,
                        )
                    )


def _nested(config: RunnableConfig | None) -> bool:
    """Invoked inside a traced run (as another graph's node): its spans belong to that run."""
    return RUN_KEY in ((config or {}).get("configurable") or {})


def _with_callbacks(callbacks: Any) -> Any:
    handler = SpanCallbacks()
    if callbacks is None:
        return [handler]
    if isinstance(callbacks, list):
        return [*callbacks, handler]
    manager = callbacks.copy()  # a CallbackManager: add ours, inheritable, to a copy
    manager.add_handler(handler, inherit=True)
    return manager


def _waiting(graph: InstrumentedGraph, thread_id: str) -> tuple[str, ...]:
    if graph.checkpointer in (None, True, False):
        return ()
    try:
        return tuple(CompiledStateGraph.get_state(graph, {"configurable": {"thread_id": thread_id}}).next)
    except Exception:  # reading the state back must never turn a finished run into a failure
        return ()


def _end(root: trace.Span, outcome: str, detail: str, prompts: Mapping[str, str], run: RunTrace) -> None:
    root.set_attributes(
        {
            sc.AD_TASK_OUTCOME: outcome,
            sc.AD_BUDGET_SPENT_USD: round(run.cost_usd, 8),
            sc.AD_PROMPTS: json.dumps(dict(prompts), sort_keys=True, ensure_ascii=False),
        }
    )
    set_outcome(root, outcome, detail)
    root.end()


def instrument(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    *,
    ref: str | None = None,
    name: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> InstrumentedGraph:
    """A traced copy of `graph` (the graph passed in is not changed).

    `ref` is the graph's `MODULE:ATTR`, recorded so replay finds the code from a thread; by default
    it is the module-level name the result is assigned to in the module that called `instrument`.
    `name` is the workflow name on spans (default: the graph's name, else the reference's attribute).
    """
    if isinstance(graph, InstrumentedGraph):
        return graph
    if not isinstance(graph, CompiledStateGraph):
        raise TypeError(
            f"instrument() takes a compiled LangGraph graph (StateGraph(...).compile()), not {type(graph).__name__}"
        )
    if ref is not None:
        refs.split_ref(ref)  # RefError now rather than a wrong reference on every span
    caller = sys._getframe(1).f_globals.get("__name__")
    label = name or (graph.name if graph.name and graph.name != "LangGraph" else None)
    label = label or (ref.rpartition(":")[2] if ref else None) or "langgraph"
    nodes = {
        key: node if key.startswith("__") else node.copy({"bound": TracedNode(node.bound, key)})
        for key, node in graph.nodes.items()
    }
    attrs = {k: v for k, v in graph.__dict__.items() if k != "__orig_class__"}
    attrs["nodes"] = nodes
    return InstrumentedGraph(agentdeck=Adapter(label, ref, caller, tracer_provider), **attrs)
