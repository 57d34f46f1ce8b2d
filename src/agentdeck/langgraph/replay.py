"""Time travel for adapted LangGraph graphs: a thread's checkpoint tree, and forks with edited prompts.

The graph is found from its `MODULE:ATTR` reference and replayed on its own checkpointer (the
compiled graph's `checkpointer`), so agentdeck needs no copy of the app's state. A fork runs from any
checkpoint as a new branch (the original history is never changed), with prompts overridden by the
names given to `agentdeck.prompt` and/or state fields edited first; it is traced like any run, linked
to the original, and compared with it step by step by the engine's own comparison.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_type_hints

from langgraph.errors import InvalidUpdateError
from langgraph.graph.state import CompiledStateGraph
from opentelemetry.trace import Link, SpanContext, TraceFlags

from agentdeck import prompting, refs
from agentdeck.engine import semconv as sc
from agentdeck.engine.execution import META_ROOT_SPAN_ID, META_TRACE_ID
from agentdeck.engine.replay.compare import SpanFacts, compare, steps_of
from agentdeck.engine.replay.history import Checkpoint, ThreadHistory, history_of
from agentdeck.engine.replay.session import ReplayRun, SpanCapture
from agentdeck.engine.replay.validate import check_state_fields
from agentdeck.engine.telemetry import make_tracer_provider, undelivered
from agentdeck.engine.telemetry import shutdown as shutdown_provider
from agentdeck.langgraph.graph import InstrumentedGraph, RootExtras, instrument, with_root


class ReplayImpossible(ValueError):
    """The thread cannot be replayed; the message says why and what to do."""


def load_graph(ref: str) -> InstrumentedGraph:
    """The adapted graph `ref` names (a plain compiled graph is instrumented here), with a checkpointer."""
    value = refs.load_ref(ref)  # RefError says what is wrong with the reference
    if isinstance(value, CompiledStateGraph):
        graph = instrument(value, ref=ref)
    else:
        raise ReplayImpossible(
            f"{ref!r} is a {type(value).__name__}, not a compiled LangGraph graph: point it at the result of "
            "StateGraph(...).compile(checkpointer=...) or of agentdeck.langgraph.instrument(...)"
        )
    if graph.checkpointer in (None, True, False):
        raise ReplayImpossible(
            f"the graph {ref} has no checkpointer, so its threads keep no checkpoints to replay from: "
            "compile it with one, e.g. .compile(checkpointer=SqliteSaver(sqlite3.connect('app.sqlite', "
            "check_same_thread=False)))"
        )
    if graph.agentdeck.ref is None:
        graph.agentdeck.ref = ref
    return graph


def graph_history(graph: InstrumentedGraph, thread_id: str) -> ThreadHistory:
    """The thread's checkpoints as a tree (workflow = the graph's reference). LookupError for no thread."""
    config: Any = {"configurable": {"thread_id": thread_id}}
    snapshots = list(graph.get_state_history(config))
    where = graph.reference() or graph.agentdeck.name
    if not snapshots:
        raise LookupError(f"no thread {thread_id} in the checkpointer of {where}")
    return history_of(ThreadHistory(thread_id, where, "", {}), snapshots)


def state_fields(graph: InstrumentedGraph) -> list[str]:
    return sorted(get_type_hints(graph.builder.state_schema))


def fork(
    graph: InstrumentedGraph,
    thread_id: str,
    *,
    original: Sequence[SpanFacts],
    original_trace_id: str,
    original_outcome: str = "",
    checkpoint_id: str | None = None,
    prompt_overrides: Mapping[str, str] | None = None,
    state_update: Mapping[str, Any] | None = None,
    as_node: str | None = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    on_span: Callable[[SpanFacts], None] | None = None,
) -> ReplayRun:
    """Run the thread again from `checkpoint_id` (default: resume its latest) and compare with the original.

    Spans go to `export_target(endpoint, headers)` (no endpoint: the OTEL_EXPORTER_OTLP_* variables), as
    engine replays' do; the ones not delivered there are counted in `ReplayRun.undelivered_spans`."""
    start = graph_history(graph, thread_id).start(checkpoint_id)
    overrides = dict(prompt_overrides or {})
    if state_update:
        check_state_fields(
            graph.reference() or graph.agentdeck.name,
            graph.builder.state_schema,
            [n for n in graph.nodes if not n.startswith("__")],
            state_update,
            as_node,
        )
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    if checkpoint_id or state_update:
        config["configurable"]["checkpoint_id"] = start.checkpoint_id
    if state_update:
        try:
            forked = graph.update_state(config, dict(state_update), as_node=as_node)  # type: ignore[arg-type]
        except InvalidUpdateError as exc:
            raise ValueError(f"the state edit cannot be applied here: {exc}; say which node it is from") from None
        config = {"configurable": dict(forked["configurable"])}
    capture = SpanCapture(on_span)
    tp = make_tracer_provider(endpoint, headers=headers, exporters=[capture], service_name=graph.agentdeck.name)
    extras = RootExtras(
        {sc.AD_REPLAY_OF: start.trace_id or original_trace_id, sc.AD_REPLAY_OF_CHECKPOINT: start.checkpoint_id},
        _link(graph, thread_id, start),
        tp,
    )
    try:
        # the task's own failure is not an error here: it is the replay's outcome, on its root span
        with with_root(extras) as results, prompting.overriding(overrides), contextlib.suppress(Exception):
            graph.invoke(None, config)  # type: ignore[call-overload]
    finally:
        shutdown_provider(tp)
    lost = undelivered(tp)
    if not results:
        raise RuntimeError("the replay did not start a traced run")
    result = results[-1]
    steps = steps_of([s for s in capture.spans if s.span_type != "workflow"])
    comparison = compare(
        steps_of(original),
        steps,
        from_step=start.step + 1,
        original_outcome=original_outcome,
        replay_outcome=result.outcome,
    )
    written = graph_history(graph, thread_id).for_trace(result.trace_id)
    head = written[-1].checkpoint_id if written else start.checkpoint_id
    return ReplayRun(result, original_trace_id, start.checkpoint_id, head, steps, comparison, lost)


def _link(graph: InstrumentedGraph, thread_id: str, start: Checkpoint) -> list[Link]:
    """A span link to the root span of the run that wrote the fork point (from its checkpoint metadata)."""
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_id": start.checkpoint_id}}
    meta: Mapping[str, Any] = dict(graph.get_state(config).metadata or {})
    try:
        trace_id, span_id = int(str(meta[META_TRACE_ID]), 16), int(str(meta[META_ROOT_SPAN_ID]), 16)
    except (KeyError, ValueError):
        return []
    context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return [Link(context, {sc.AD_REPLAY_OF: str(meta[META_TRACE_ID])})]


def prompts_recorded(attributes: Sequence[Any]) -> dict[str, str]:
    """The prompts (name -> default) a run read, from its spans' attributes (dicts or JSON text)."""
    for attrs in attributes:
        if isinstance(attrs, str):
            try:
                attrs = json.loads(attrs)
            except ValueError:
                continue
        raw = attrs.get(sc.AD_PROMPTS) if isinstance(attrs, Mapping) else None
        if not raw:
            continue
        try:
            value = json.loads(str(raw))
        except ValueError:
            continue
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    return {}
