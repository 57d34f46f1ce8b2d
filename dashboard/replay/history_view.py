"""Replay page, part 1: the failed tasks to start from, and a task's checkpoint tree."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import components, data, theme
from agentdeck.dashboard.replay import data as replay_data
from agentdeck.engine.replay.history import Checkpoint, ThreadHistory, failed_tasks

CHECKPOINT_KEY = "replay_checkpoint"


def failed_list(checkpoint_db: str) -> None:
    """Failed and dead-lettered tasks from the checkpoint file's ledger, each one click from Replay."""
    tasks = failed_tasks(checkpoint_db)
    if not tasks:
        components.empty_state(
            "No failed tasks with checkpoints",
            f"Replay works on runs of the agentdeck engine checkpointed in `{checkpoint_db}` "
            "(set `AGENTDECK_CHECKPOINT_DB` to another file). Open any engine trace and use **Open in Replay**, "
            "or re-run a single LLM call of any trace from its trace id (`/replay?trace_id=...`).",
        )
        return
    st.subheader("Failed tasks")
    st.caption(f"Tasks that did not succeed, from `{checkpoint_db}`. Pick one to replay it.")
    for i, t in enumerate(tasks[:50]):
        c = st.columns([3, 2, 4, 1.6], vertical_alignment="center")  # room for the whole "Replay" label
        c[0].markdown(f"**{components.inert(t.task_id)}** · {components.inert(t.workflow)}")
        c[1].markdown(components.status_badge("error", t.outcome))
        dead = f" (dead letter: {t.dead_letter_agent})" if t.dead_letter_agent else ""
        c[2].caption(components.inert(t.detail[:160] + dead))
        if c[3].button("Replay", key=f"replay_open_{i}", icon=":material/history:"):
            st.query_params.from_dict({"trace_id": t.trace_id, "thread_id": t.thread_id})
            st.rerun()


def label(c: Checkpoint, depth: int) -> str:
    nxt = ", ".join(c.next_nodes) if c.next_nodes else "end"
    return f"{'  ' * depth}{'└ ' if depth else ''}step {c.step} · next: {nxt} · run {c.run} · {c.checkpoint_id[-8:]}"


def default_checkpoint(history: ThreadHistory, trace_id: str | None) -> str:
    """The checkpoint the failing step ran from: the original run's last one with work left."""
    own = history.for_trace(trace_id) if trace_id else []
    pool = own or sorted(history.checkpoints.values(), key=lambda c: c.checkpoint_id)
    pending = [c for c in pool if c.next_nodes]
    return (pending or pool)[-1].checkpoint_id


def tree(history: ThreadHistory, trace_id: str | None) -> Checkpoint:
    """The branch tree as a pickable list; returns the picked checkpoint."""
    walked = history.walk()
    labels = {c.checkpoint_id: label(c, depth) for depth, c in walked}
    ids = [c.checkpoint_id for _, c in walked]
    wanted = st.query_params.get("checkpoint")
    start = wanted if wanted in labels else default_checkpoint(history, trace_id)
    if st.session_state.get(CHECKPOINT_KEY) not in labels:
        st.session_state[CHECKPOINT_KEY] = start
    components.table(
        pd.DataFrame(
            {
                "Checkpoint": [labels[i].replace(" ", "\u00a0") for i in ids],
                "Source": [history.checkpoints[i].source for i in ids],
                "Run (trace)": [theme.short_id(history.checkpoints[i].trace_id) for i in ids],
                "Prompt edits": [", ".join(sorted(history.checkpoints[i].prompt_overrides)) or "—" for i in ids],
            }
        ),
        pinned="Checkpoint",
    )
    picked = st.selectbox(
        "Replay from checkpoint", ids, format_func=lambda i: labels[i], key=CHECKPOINT_KEY, on_change=_forget_edits
    )
    st.query_params["checkpoint"] = picked
    return history.checkpoints[picked]


def _forget_edits() -> None:
    for key in [k for k in st.session_state if str(k).startswith("replay_prompt_")]:
        del st.session_state[key]


def details(history: ThreadHistory, c: Checkpoint) -> None:
    """State, prompts in force and the spans that ran from the checkpoint."""
    with st.expander(f"State at step {c.step} ({len(c.values)} fields)", expanded=False):
        st.json(c.values, expanded=1)
    with st.expander("Prompts in force", expanded=False):
        for agent, template in history.prompts_at(c.checkpoint_id).items():
            edited = " (edited in this branch)" if agent in c.prompt_overrides else ""
            st.markdown(f"**{components.inert(agent)}**{edited}")
            st.code(template, language=None, wrap_lines=True)
    with st.expander("Spans that ran from this checkpoint", expanded=False):
        if not c.trace_id:
            st.caption("No run is recorded for this checkpoint.")
            return
        try:
            rows = replay_data.trace_rows(c.trace_id)
        except data.DataError as exc:
            components.data_error(exc)
            return
        ran = rows[rows["checkpoint_id"] == c.checkpoint_id] if not rows.empty else rows
        if ran.empty:
            st.caption("No spans of this checkpoint have reached the collector (the next step may not have run).")
            return
        components.table(
            pd.DataFrame(
                {
                    "Span": ran["name"],
                    "Status": ran["status_code"],
                    "Attempt": ran["attempt"],
                    "Duration": [theme.duration(v) for v in ran["duration_ms"]],
                }
            ),
            pinned="Span",
        )
