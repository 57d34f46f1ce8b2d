"""What `agentdeck checkpoints/replay THREAD` replay with, and time travel for adapted LangGraph graphs.

A thread is found without `--graph` from what recorded it: an engine thread from the checkpoint store
(as always), otherwise the `agentdeck.workflow.ref` on the root span of its first run, asked of the
collector (the `traces` named query filtered by thread, then that trace). `--graph MODULE:ATTR` only
overrides the reference, for engine workflows (an `agentdeck.Workflow`) and adapted graphs alike. A
recorded `path.py:ATTR` (a span can be sent by anyone who reaches the collector) is loaded only when
named by the user (`--graph`, or AGENTDECK_WORKFLOWS); a module name is imported as recorded.
A graph is replayed on its own checkpointer; the original run's spans come from the collector, as
for engine replays, and the result is the same comparison JSON, exported to the same target. Every
way this cannot work (a reference that does not load or names something else, a graph without a
checkpointer, an unknown thread, checkpoint, prompt or version, a bad `--state`) is an
`agentdeck: ...` message with exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdeck.cli.main import CliError, agent_pairs, collector_token, collector_url
from agentdeck.engine.replay.history import ThreadHistory
from agentdeck.engine.replay.session import ReplayRun
from agentdeck.refs import RefError

RECORDED_TRACES_LOOKED_AT = 5  # the thread's oldest runs read for a reference (the first run has it)


@dataclass(frozen=True, slots=True)
class Target:
    """What a thread is replayed with: an adapted graph, or the engine on `db` (with `workflow`, a
    reference overriding the one its checkpoints record, or None)."""

    graph: Any = None  # an agentdeck.langgraph InstrumentedGraph
    db: Path | str | None = None
    workflow: str | None = None


def resolve(args: argparse.Namespace, engine_db: Callable[[argparse.Namespace], Path | str]) -> Target:
    """The target for `args.thread_id`: `--graph` when given, else the engine's checkpoints when they
    hold the thread, else the reference the collector recorded for it."""
    if args.graph:
        return _load(args.graph, args, engine_db)
    try:
        db = engine_db(args)
    except CliError as exc:
        problem = str(exc)
    else:
        if _holds(db, args.thread_id):
            return Target(db=db)
        problem = f"no thread {args.thread_id} in {db}"
    ref = _recorded_ref(args, problem)
    if ref.partition(":")[0].endswith(".py") and not _configured(ref):
        raise CliError(
            f"thread {args.thread_id}'s trace names the file {ref}; a trace can be sent by anyone who reaches the "
            f"collector, so a file it names is run only when you name it: pass --graph {ref} (or name its module "
            "in AGENTDECK_WORKFLOWS)"
        )
    return _load(ref, args, engine_db)


def _configured(ref: str) -> bool:
    from agentdeck.dashboard.replay.workflows import is_configured

    return is_configured(ref)


def _holds(db: Path | str, thread_id: str) -> bool:
    from agentdeck.engine.checkpoints import open_checkpointer

    with open_checkpointer(db) as saver:
        return saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}) is not None


def _load(ref: str, args: argparse.Namespace, engine_db: Callable[[argparse.Namespace], Path | str]) -> Target:
    from langgraph.graph.state import CompiledStateGraph

    from agentdeck.engine.workflow import Workflow
    from agentdeck.langgraph.replay import ReplayImpossible, load_graph
    from agentdeck.refs import load_ref

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: the app's folder is where the command runs
    try:
        value = load_ref(ref)
        if isinstance(value, Workflow):
            return Target(db=engine_db(args), workflow=ref)
        if isinstance(value, CompiledStateGraph):
            return Target(graph=load_graph(ref))
    except (RefError, ReplayImpossible) as exc:
        raise CliError(str(exc)) from None
    what = f"the class {value.__name__}" if isinstance(value, type) else f"a {type(value).__name__}"
    raise CliError(
        f"{ref!r} is {what}, neither an agentdeck workflow nor a compiled LangGraph graph: point --graph at an "
        "agentdeck.Workflow (agentdeck.sequential(...), ...) or at the result of "
        "StateGraph(...).compile(checkpointer=...) (or of agentdeck.langgraph.instrument(...))"
    )


def _recorded_ref(args: argparse.Namespace, problem: str) -> str:
    """The reference the root span of one of the thread's oldest runs records, asked of the collector."""
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)  # the data module caches with Streamlit; quiet here
    from agentdeck.dashboard import data
    from agentdeck.dashboard.replay.graph_runner import graph_ref

    url = collector_url(args)
    settings = data.Settings(collector_url=url, token=collector_token(args), refresh_s=0.0, timeout_s=15.0)
    where = {"thread": args.thread_id, "start_ns": "0", "order_by": "start", "desc": "false"}
    try:
        traces = data.fetch_table("traces", {**where, "limit": str(RECORDED_TRACES_LOOKED_AT)}, settings)
        for trace_id in traces.column("trace_id").to_pylist():
            ref = graph_ref(data.fetch_table("trace", {"trace_id": str(trace_id)}, settings).to_pandas())
            if ref:
                return ref
    except data.DataError as exc:
        raise CliError(
            f"{problem}, and the collector cannot say which graph ran it: {exc.message} {exc.hint} "
            "(or name the graph: --graph MODULE:ATTR)"
        ) from None
    seen = "no trace of it" if not traces.num_rows else "its traces name no workflow or graph reference"
    raise CliError(
        f"{problem}, and the collector at {url} has {seen}: pass --graph MODULE:ATTR, or --checkpoint-db/--postgres "
        "where its checkpoints are"
    )


def graph_checkpoints(graph: Any, thread_id: str) -> ThreadHistory:
    from agentdeck.langgraph.replay import graph_history

    try:
        return graph_history(graph, thread_id)
    except LookupError as exc:
        raise CliError(str(exc)) from None


def state_edit(text: str | None) -> dict[str, Any] | None:
    """`--state JSON` as a dict of state fields; CliError when it is not a JSON object."""
    from agentdeck.engine.replay.validate import parse_state_edit

    try:
        return parse_state_edit(text)
    except ValueError as exc:
        raise CliError(f"--state: {exc}") from None


def saved_graph_prompts(graph: Any, chosen: dict[str, str], recorded: dict[str, str]) -> dict[str, str]:
    """The texts of `--prompt-version NAME=VERSION` for a graph, from the database of its checkpointer."""
    if not chosen:
        return {}
    from agentdeck.engine.prompts import PromptStore, graph_owner
    from agentdeck.langgraph.prompt_versions import PromptVersionError, location

    ref = graph.reference() or graph.agentdeck.name
    try:
        with PromptStore(location(graph, ref)) as store:
            return store.overrides(graph_owner(ref, recorded), chosen)
    except (KeyError, PromptVersionError) as exc:
        raise CliError(str(exc).strip('"')) from None


def cmd_replay_graph(args: argparse.Namespace, graph: Any, report: Callable[[ReplayRun], int]) -> int:
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)  # the data module caches with Streamlit; quiet here
    from agentdeck.cli.export import export_endpoint, require_collector, target_of, token_headers
    from agentdeck.dashboard import data
    from agentdeck.dashboard.replay import data as replay_data
    from agentdeck.langgraph.replay import fork, prompts_recorded

    history = graph_checkpoints(graph, args.thread_id)
    overrides = agent_pairs(args.prompt, "--prompt")
    chosen = agent_pairs(args.prompt_version, "--prompt-version")
    state = state_edit(args.state)
    try:
        start = history.start(args.checkpoint)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    settings = data.Settings(
        collector_url=collector_url(args), token=collector_token(args), refresh_s=0.0, timeout_s=15.0
    )
    try:
        frame = data.fetch_table("trace", {"trace_id": start.trace_id}, settings).to_pandas()
    except data.DataError as exc:
        raise CliError(f"{exc.message} {exc.hint}") from None
    known = prompts_recorded(frame["attributes"].tolist() if "attributes" in frame else [])
    unknown = sorted(set(overrides) - set(known))
    if known and unknown:
        raise CliError(
            f"the graph read no prompt {', '.join(map(repr, unknown))}; the prompts it reads (names given to "
            f"agentdeck.prompt): {', '.join(sorted(known))}"
        )
    overrides = {**saved_graph_prompts(graph, chosen, known), **overrides}
    require_collector(target_of(args))
    try:
        run = fork(
            graph,
            args.thread_id,
            original=replay_data.facts(frame),
            original_trace_id=start.trace_id,
            original_outcome=replay_data.outcome(frame),
            checkpoint_id=args.checkpoint,
            prompt_overrides=overrides,
            state_update=state,
            endpoint=export_endpoint(args),
            headers=token_headers(args),
        )
    except (LookupError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return report(run)
