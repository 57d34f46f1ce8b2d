"""Replay: pick a checkpoint of a task, edit prompts, run the fork, compare it with the original.

URL: `/replay?trace_id=...` (a run of the engine, or any trace: its LLM calls can be re-run alone),
`&thread_id=...`, `&checkpoint=...` (the checkpoint picked), `&replay=...` (a replay to compare with).
"""

from __future__ import annotations

import streamlit as st

from agentdeck.dashboard import auth, components, data
from agentdeck.dashboard.replay import call_view as replay_call_view
from agentdeck.dashboard.replay import compare_view as replay_compare_view
from agentdeck.dashboard.replay import data as replay_data
from agentdeck.dashboard.replay import graph_runner, history_view, run_view, workflows
from agentdeck.engine.replay.history import ThreadHistory, checkpoint_tree, thread_of_trace
from agentdeck.engine.replay.session import ReplayRun

# The entrypoint already asked for the login when one is in force; editing also checks can_edit().
st.title("Replay")
settings = data.settings()
trace_id = st.query_params.get("trace_id") or None
thread_id = st.query_params.get("thread_id") or None
if thread_id is None and trace_id is not None:
    thread_id = thread_of_trace(settings.checkpoint_db, trace_id)


def _original_trace(history: ThreadHistory) -> str:
    return trace_id if trace_id else history.runs()[0][0]


def _compare(history: ThreadHistory, original_id: str) -> None:
    replays = [(t, n) for t, n in history.runs() if t != original_id]
    results: dict[str, ReplayRun] = st.session_state.setdefault(run_view.RESULTS, {})
    chosen = st.query_params.get("replay")
    if replays:
        ids = [t for t, _ in reversed(replays)]
        st.selectbox(
            "Replays of this task",
            ["", *ids],
            key="replay_pick",
            index=(["", *ids]).index(chosen) if chosen in ids else 0,
            format_func=lambda t: (
                "pick one to compare"
                if not t
                else f"run {dict(replays)[t]} · trace {t}" + (" (just run)" if t in results else "")
            ),
            on_change=lambda: st.query_params.update(replay=st.session_state["replay_pick"]),
        )
    if not chosen:
        return
    if chosen in results:
        replay_compare_view.render(results[chosen].comparison, original_trace_id=original_id, replay_trace_id=chosen)
        return
    replay_compare_view.render(
        replay_data.compare_traces(original_id, chosen, history), original_trace_id=original_id, replay_trace_id=chosen
    )


def _thread(thread: str) -> None:
    try:
        history = checkpoint_tree(settings.checkpoint_db, thread, workflows.for_thread(settings.checkpoint_db, thread))
    except workflows.WorkflowNotFound as exc:  # the thread's code is not importable here: say what to configure
        st.error(str(exc))
        return
    except LookupError as exc:
        st.error(f"{components.inert(exc)}. Check AGENTDECK_CHECKPOINT_DB (now `{settings.checkpoint_db}`).")
        return
    original_id = _original_trace(history)
    original_rows = replay_data.trace_rows(original_id)
    original_outcome = replay_data.outcome(original_rows)
    st.markdown(
        f"**Task {components.inert(history.task_id)}** · workflow {components.inert(history.workflow)} · "
        f"thread {components.inert(thread)} · original trace {components.inert(original_id)} · "
        f"outcome **{components.inert(original_outcome or 'unknown')}**"
    )
    _compare(history, original_id)  # a replay picked or just run: its comparison comes first
    st.subheader("Checkpoint history")
    picked = history_view.tree(history, original_id)
    history_view.details(history, picked)
    st.subheader("Edit and run")
    if not auth.can_edit():
        st.warning("Sign in to replay runs and edit prompts.")
        return
    overrides = run_view.prompt_editors(history, picked, replay_data.step_failures(original_rows))
    try:
        state, as_node = run_view.state_edit(history, picked)
        state_error = None
    except ValueError as exc:
        state, as_node, state_error = None, None, str(exc)
    serve = st.toggle("Serve unchanged steps from recorded outputs (zero tokens)", value=True, key=run_view.CACHE_KEY)
    c = st.columns([2, 3])
    run = c[0].button(
        "Run replay from this checkpoint",
        key=run_view.RUN_KEY,
        type="primary",
        icon=":material/play_arrow:",
        disabled=not picked.next_nodes,
    )
    resume = c[1].button(
        "Resume the thread in place (re-run only the failed step)",
        key=run_view.RESUME_KEY,
        disabled=original_outcome == "success",
    )
    with st.expander("Prompt versions", expanded=False):
        run_view.prompt_versions(history, settings.checkpoint_db)
    if run or resume:
        if state_error and run:
            st.error(f"Cannot replay: {components.inert(state_error)}")
        else:
            try:
                result = run_view.run_with_progress(
                    history,
                    checkpoint_id=picked.checkpoint_id if run else None,
                    original_trace_id=original_id,
                    original=replay_data.facts(original_rows),
                    original_outcome=original_outcome,
                    overrides=overrides,
                    state=state if run else None,
                    as_node=as_node if run else None,
                    serve_recorded=serve,
                )
            except (ValueError, LookupError, TimeoutError) as exc:
                st.error(f"Cannot replay: {components.inert(exc)}")
            else:
                st.session_state[run_view.RESULTS][result.result.trace_id] = result
                st.query_params["replay"] = result.result.trace_id
                st.rerun()


def _page() -> None:
    if thread_id is not None:
        _thread(thread_id)
        return
    if trace_id is not None:
        rows = replay_data.trace_rows(trace_id)
        if rows.empty:
            st.error(f"No trace {components.inert(trace_id)} in the collector.")
            return
        if graph_runner.render(rows, trace_id):  # a thread of an adapted LangGraph graph
            return
        replay_call_view.render(rows, trace_id)
        return
    history_view.failed_list(settings.checkpoint_db)


st.session_state.setdefault(run_view.RESULTS, {})

components.guarded(_page)
