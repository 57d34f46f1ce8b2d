"""Replay page, part 2: edit prompts (or a state field), run the fork with live progress, save versions."""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import pandas as pd
import streamlit as st

from agentdeck.dashboard import components, data, theme
from agentdeck.dashboard.replay.data import StepFailure
from agentdeck.engine.prompts import PromptOwner, PromptStore, workflow_owner
from agentdeck.engine.replay.compare import SpanFacts
from agentdeck.engine.replay.history import Checkpoint, ThreadHistory
from agentdeck.engine.replay.session import ReplayRun, run_replay
from agentdeck.engine.replay.validate import state_fields
from agentdeck.engine.workflows import get_workflow

RUN_KEY: Final = "replay_run"
RESUME_KEY: Final = "replay_resume"
CACHE_KEY: Final = "replay_serve_recorded"
STATE_KEY: Final = "replay_state_edit"
RESULTS: Final = "replay_results"  # session: replay trace id -> ReplayRun
MAX_WAIT_S: Final = 300.0
EDITOR_LINE_PX: Final = 26  # a line of the text area's font
EDITOR_CHARS_PER_LINE: Final = 90  # what a line holds at the narrowest width we design for, conservatively
EDITOR_MIN_PX: Final = 120
EDITOR_MAX_PX: Final = 720  # longer prompts scroll inside the editor


def editor_height(text: str) -> int:
    """Pixels for a text area that shows `text` whole, wrapped lines included (up to EDITOR_MAX_PX)."""
    lines = sum(max(1, math.ceil(len(line) / EDITOR_CHARS_PER_LINE)) for line in text.split("\n"))
    return min(max(EDITOR_MIN_PX, (lines + 1) * EDITOR_LINE_PX + 16), EDITOR_MAX_PX)


def prompt_key(agent: str) -> str:
    return f"replay_prompt_{agent}"


def prompt_editors(history: ThreadHistory, c: Checkpoint, failures: Mapping[str, StepFailure]) -> dict[str, str]:
    """A text area per agent, prefilled with the prompt in force and tall enough to read it whole, with
    why that agent's step failed in the original run (`failures`: agent -> reason) right above it;
    returns the edited prompts."""
    in_force = history.prompts_at(c.checkpoint_id)
    builtin = history.prompts_at_defaults()
    st.markdown("**Prompts** — edit one or more; fields in `{braces}` are filled from the agent's inputs.")
    for agent, template in in_force.items():
        key = prompt_key(agent)
        if key not in st.session_state:
            st.session_state[key] = template
        failure = failures.get(agent)
        if failure is not None:
            attempt = f"attempt {failure.attempt}, " if failure.attempt else ""
            st.warning(
                f"**Why {components.inert(agent)} failed in the original run** ({attempt}"
                f"{components.inert(failure.error_type)}):",
                icon=":material/error:",
            )
            st.code(failure.message, language=None, wrap_lines=True)
        text = str(st.session_state[key])
        st.text_area(f"Prompt: {agent}", key=key, height=editor_height(max(text, template, key=len)))
    return {
        a: str(st.session_state[prompt_key(a)]) for a in in_force if str(st.session_state[prompt_key(a)]) != builtin[a]
    }


def state_edit(history: ThreadHistory, c: Checkpoint) -> tuple[dict[str, Any] | None, str | None]:
    """An optional JSON object of state fields to set before running; the node it is applied as."""
    fields = ", ".join(sorted(state_fields(get_workflow(history.workflow))))
    text = st.text_area(
        f"State edit (optional JSON object; fields: {fields})",
        key=STATE_KEY,
        height=80,
        placeholder='{"classification": {"category": "billing", "priority": "high", "confidence": 0.9}}',
    )
    if not text.strip():
        return None, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the state edit is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("the state edit must be a JSON object of field: value")
    parent = history.checkpoints.get(c.parent_id or "")
    return value, (parent.next_nodes[0] if parent and parent.next_nodes else None)


def run_with_progress(
    history: ThreadHistory,
    *,
    checkpoint_id: str | None,
    original_trace_id: str,
    original: list[SpanFacts],
    original_outcome: str,
    overrides: Mapping[str, str],
    state: dict[str, Any] | None,
    as_node: str | None,
    serve_recorded: bool,
) -> ReplayRun:
    """Run the replay in a worker thread; show each agent step as it finishes."""
    s = data.settings()
    events: queue.Queue[SpanFacts] = queue.Queue()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["run"] = run_replay(
                history.thread_id,
                checkpoint_db=s.checkpoint_db,
                original=original,
                original_trace_id=original_trace_id,
                original_outcome=original_outcome,
                checkpoint_id=checkpoint_id,
                prompt_overrides=dict(overrides),
                state_update=state,
                as_node=as_node,
                endpoint=s.collector_url,
                serve_recorded=serve_recorded,
                workflow=history.workflow,  # the reference the page resolved (dashboard/replay/workflows.py)
                on_span=lambda f: events.put(f) if f.span_type == "agent" else None,
            )
        except Exception as exc:  # shown to the user below, never a traceback
            box["error"] = exc

    worker = threading.Thread(target=work, name="agentdeck-replay", daemon=True)
    with st.status("Replaying…", expanded=True) as status:
        worker.start()
        deadline = time.monotonic() + MAX_WAIT_S
        while worker.is_alive() and time.monotonic() < deadline:
            _drain(events)
            worker.join(timeout=0.1)
        _drain(events)
        if worker.is_alive():
            status.update(label="The replay is still running after 5 minutes", state="error")
            raise TimeoutError("the replay did not finish in 5 minutes; it keeps running in the background")
        if "error" in box:
            status.update(label="Replay failed to start", state="error")
            raise box["error"]
        run: ReplayRun = box["run"]
        status.update(
            label=f"Replay finished: {run.result.outcome} · {theme.usd(run.result.cost_usd)}",
            state="complete",
            expanded=False,
        )
    return run


def _drain(events: queue.Queue[SpanFacts]) -> None:
    while True:
        try:
            f = events.get_nowait()
        except queue.Empty:
            return
        mark = "ok" if f.ok else f"failed ({f.error})"
        st.text(f"step {f.step} · {f.agent} · {mark}")


def prompt_versions(history: ThreadHistory, checkpoint_db: str) -> None:
    """Save the edited prompt as a new version of an agent's prompt; list the versions; load one to edit."""
    version_panel(workflow_owner(history.workflow), checkpoint_db, list(history.prompts_at_defaults()), prompt_key)


def version_panel(
    owner: PromptOwner, location: str, names: list[str], key_of: Callable[[str], str], prefix: str = "replay_version"
) -> None:
    """The versions of `owner`'s prompts `names`, kept at `location`: save the text in the editor
    `key_of(name)` as a new one, list them, load one into that editor (engine and graph Replay alike)."""
    agent = st.selectbox(owner.missing.capitalize(), names, key=f"{prefix}_agent")
    author = st.text_input("Your name", key=f"{prefix}_author")
    reason = st.text_input("Why this change", key=f"{prefix}_reason")
    if st.button(f"Save the edited {agent} prompt as a new version", key=f"{prefix}_save"):
        try:
            with PromptStore(location) as store:
                saved = store.save(
                    owner, agent, str(st.session_state.get(key_of(agent), "")), author=author, reason=reason
                )
            st.success(f"Saved {agent} prompt {saved.version} (spans will record it as {saved.label}).")
        except ValueError as exc:
            st.error(str(exc))
    with PromptStore(location) as store:
        versions = store.versions(owner, agent)
    components.table(
        pd.DataFrame(
            [
                {
                    "Version": v.version,
                    "Recorded on spans as": v.label,
                    "By": v.author,
                    "When (UTC)": theme.timestamp(v.created_ns) if v.created_ns else "—",
                    "Why": v.reason,
                }
                for v in versions
            ],
            columns=["Version", "Recorded on spans as", "By", "When (UTC)", "Why"],
        ),
        pinned="Version",
    )
    if not versions:
        return
    c = st.columns([2, 1])
    pick = c[0].selectbox("Load version into the editor", [v.version for v in versions], key=f"{prefix}_pick")
    c[1].button(
        "Load",
        key=f"{prefix}_load",
        on_click=_load,
        args=(key_of(agent), next(v.template for v in versions if v.version == pick)),
    )


def _load(key: str, template: str) -> None:
    st.session_state[key] = template  # in a callback: before the editor is drawn again
