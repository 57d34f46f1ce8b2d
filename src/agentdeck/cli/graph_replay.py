"""`agentdeck checkpoints/replay THREAD --graph MODULE:ATTR`: time travel for adapted LangGraph graphs.

The graph is imported from its reference and replayed on its own checkpointer; the original run's
spans come from the collector, as for engine replays, and the result is the same comparison JSON.
Every way this cannot work (a reference that does not load, a graph without a checkpointer, an
unknown thread, checkpoint or prompt, a bad `--state`) is an `agentdeck: ...` message with exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from agentdeck.cli.main import CliError, agent_pairs, collector_token, collector_url
from agentdeck.engine.replay.history import ThreadHistory
from agentdeck.engine.replay.session import ReplayRun
from agentdeck.refs import RefError


def _graph(ref: str) -> Any:
    from agentdeck.langgraph.replay import ReplayImpossible, load_graph

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: the app's folder is where the command runs
    try:
        return load_graph(ref)
    except (RefError, ReplayImpossible) as exc:
        raise CliError(str(exc)) from None


def graph_checkpoints(args: argparse.Namespace) -> ThreadHistory:
    from agentdeck.langgraph.replay import graph_history

    try:
        return graph_history(_graph(args.graph), args.thread_id)
    except LookupError as exc:
        raise CliError(str(exc)) from None


def state_edit(text: str | None) -> dict[str, Any] | None:
    """`--state JSON` as a dict of state fields; CliError when it is not a JSON object."""
    from agentdeck.engine.replay.validate import parse_state_edit

    try:
        return parse_state_edit(text)
    except ValueError as exc:
        raise CliError(f"--state: {exc}") from None


def cmd_replay_graph(args: argparse.Namespace, report: Callable[[ReplayRun], int]) -> int:
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)  # the data module caches with Streamlit; quiet here
    from agentdeck.dashboard import data
    from agentdeck.dashboard.replay import data as replay_data
    from agentdeck.langgraph.replay import fork, prompts_recorded

    if args.prompt_version:
        raise CliError("--prompt-version is for engine workflows; with --graph pass the text: --prompt NAME=TEXT")
    graph = _graph(args.graph)
    history = graph_checkpoints(args)
    overrides = agent_pairs(args.prompt, "--prompt")
    state = state_edit(args.state)
    try:
        start = history.start(args.checkpoint)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    url = collector_url(args)
    settings = data.Settings(collector_url=url, token=collector_token(args), refresh_s=0.0, timeout_s=15.0)
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
            endpoint=url,
        )
    except (LookupError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return report(run)
