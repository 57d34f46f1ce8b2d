"""Replay page for adapted LangGraph graphs: fork a thread of the user's own graph from a checkpoint.

A trace whose root span names a graph (`agentdeck.workflow.ref`, written by `agentdeck.langgraph`)
is replayed through that graph and its own checkpointer: the dashboard imports the graph's module,
so it must run where that module imports (installed, or on PYTHONPATH); when it does not, the page
says so. Prompts offered for editing are those the original run read through `agentdeck.prompt`; an
edit can be saved as a version of that prompt (kept in the graph's checkpoint database), with the
engine page's panel.
The comparison is the engine's, shown by the same view as engine replays.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import streamlit as st

from agentdeck import refs
from agentdeck.dashboard import auth, components, data
from agentdeck.dashboard.messages import parse_json
from agentdeck.dashboard.replay import compare_view, run_view, workflows
from agentdeck.dashboard.replay import data as replay_data
from agentdeck.engine.replay.history import Checkpoint, ThreadHistory
from agentdeck.engine.replay.session import ReplayRun
from agentdeck.engine.replay.validate import parse_state_edit

RUN_KEY: Final = "graph_replay_run"
PICK_KEY: Final = "graph_replay_checkpoint"
STATE_KEY: Final = "graph_replay_state"
RESULTS: Final = "graph_replay_results"  # session: replay trace id -> ReplayRun


def prompt_key(name: str) -> str:
    return f"graph_replay_prompt_{name}"


def graph_ref(rows: pd.DataFrame) -> str | None:
    """The reference of the graph that ran this trace (its root span's), or None: not an adapted graph."""
    if rows.empty or "attributes" not in rows:
        return None
    for raw in rows[rows["parent_span_id"].isna()]["attributes"]:
        value = parse_json(raw)
        if isinstance(value, dict) and value.get(refs.SPAN_ATTRIBUTE):
            return str(value[refs.SPAN_ATTRIBUTE])
    return None


def render(rows: pd.DataFrame, trace_id: str) -> bool:
    """Draw the page for a trace of an adapted graph; False when the trace is not one (nothing drawn)."""
    ref = graph_ref(rows)
    if ref is None:
        return False
    from agentdeck.langgraph.replay import ReplayImpossible, graph_history, load_graph, prompts_recorded

    threads = rows["thread_id"].dropna()
    thread = str(threads.iloc[0]) if not threads.empty else ""
    outcome = replay_data.outcome(rows)
    st.markdown(
        f"**Graph** {components.inert(ref)} · thread {components.inert(thread)} · trace {components.inert(trace_id)}"
        f" · outcome **{components.inert(outcome or 'unknown')}**"
    )
    if not workflows.is_configured(ref):
        st.error(
            f"This trace names the graph {components.inert(ref)}, which the dashboard was not told about, so it "
            f"will not import it. {workflows.HOW_TO}"
        )
        return True
    try:
        graph = load_graph(ref)
        history = graph_history(graph, thread)
    except (refs.RefError, ReplayImpossible, LookupError) as exc:
        st.error(
            f"Cannot replay this thread: {components.inert(exc)}. The dashboard imports the graph to replay it: "
            f"start it where {components.inert(ref.partition(':')[0])} imports (install the app, or put its folder "
            "on PYTHONPATH)."
        )
        return True
    results: dict[str, ReplayRun] = st.session_state.setdefault(RESULTS, {})
    shown = st.query_params.get("replay")
    if shown in results:
        compare_view.render(results[shown].comparison, original_trace_id=trace_id, replay_trace_id=shown)
    picked = _pick(history, trace_id)
    if picked is None:
        st.info("This run wrote no checkpoint to replay from.")
        return True
    if not auth.can_edit():
        st.warning("Sign in to replay runs and edit prompts.")
        return True
    prompts = prompts_recorded(rows["attributes"].tolist())
    st.markdown("**Prompts** — as read through `agentdeck.prompt`; edit one or more.")
    for name, default in prompts.items():
        st.session_state.setdefault(prompt_key(name), default)
        st.text_area(f"Prompt: {name}", key=prompt_key(name), height=110)
    edited = {n: str(st.session_state[prompt_key(n)]) for n in prompts if st.session_state[prompt_key(n)] != prompts[n]}
    state_text = st.text_area("State edit (optional JSON object of state fields)", key=STATE_KEY, height=80)
    if prompts:
        _versions(graph, ref, prompts)
    if not st.button("Run replay from this checkpoint", key=RUN_KEY, type="primary", disabled=not picked.next_nodes):
        return True
    try:
        state = parse_state_edit(state_text)
        from agentdeck.langgraph.replay import fork

        with st.spinner("Replaying…"):
            run = fork(
                graph,
                thread,
                original=replay_data.facts(rows),
                original_trace_id=trace_id,
                original_outcome=outcome,
                checkpoint_id=picked.checkpoint_id,
                prompt_overrides=edited,
                state_update=state,
                endpoint=data.settings().collector_url,
            )
    except (ValueError, LookupError) as exc:
        st.error(f"Cannot replay: {components.inert(exc)}")
        return True
    results[run.result.trace_id] = run
    st.query_params["replay"] = run.result.trace_id
    st.rerun()
    return True


def _versions(graph: object, ref: str, prompts: dict[str, str]) -> None:
    """The engine page's prompt versions panel, for the graph's prompts, kept in its checkpointer's database."""
    from agentdeck.engine.prompts import graph_owner
    from agentdeck.langgraph.prompt_versions import PromptVersionError, location

    with st.expander("Prompt versions", expanded=False):
        try:
            where = location(graph, ref)
        except PromptVersionError as exc:
            st.info(str(exc))
            return
        run_view.version_panel(graph_owner(ref, prompts), where, list(prompts), prompt_key, "graph_replay_version")


def _pick(history: ThreadHistory, trace_id: str) -> Checkpoint | None:
    """A checkpoint the run wrote; by default the last one with a step still to run (where it failed)."""
    mine = history.for_trace(trace_id) or [c for _, c in history.walk()]
    if not mine:
        return None
    ids = [c.checkpoint_id for c in mine]
    runnable = [c for c in mine if c.next_nodes]
    default = ids.index(runnable[-1].checkpoint_id) if runnable else len(ids) - 1
    chosen = st.selectbox(
        "Replay from checkpoint",
        ids,
        index=default,
        key=PICK_KEY,
        format_func=lambda cid: (
            f"step {history.checkpoints[cid].step} · next: {', '.join(history.checkpoints[cid].next_nodes) or 'end'}"
        ),
    )
    return history.checkpoints[str(chosen)]
