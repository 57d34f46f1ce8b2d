"""Replay page for traces without checkpoints: re-run one LLM call with edited messages."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from agentdeck.dashboard import components, theme
from agentdeck.dashboard.replay.data import LlmCall, llm_calls, messages_json
from agentdeck.engine.replay.call import CallResult, call_provider, check_messages, rerun_call


def render(frame: pd.DataFrame, trace_id: str) -> None:
    calls = llm_calls(frame)
    st.info(
        "This trace has no checkpoints in the configured checkpoint file, so its workflow cannot be "
        "forked; you can still re-run any of its LLM calls alone with edited messages.",
        icon=":material/science:",
    )
    if not calls:
        components.empty_state(
            "No LLM calls with messages in this trace", "Only spans that carry their input messages can be re-run."
        )
        return
    by_id = {c.span_id: c for c in calls}
    wanted = st.query_params.get("span_id")
    ids = list(by_id)
    span_id = st.selectbox(
        "LLM call",
        ids,
        index=ids.index(wanted) if wanted in by_id else 0,
        format_func=lambda i: f"{ids.index(i) + 1}. {by_id[i].name} · span {i}",
        key="call_pick",
    )
    call = by_id[span_id]
    model = st.text_input("Model", value=call.model, key=f"call_model_{span_id}")
    system = st.text_area("System prompt", value=call.system, key=f"call_system_{span_id}", height=80)
    text = st.text_area(
        "Messages (JSON list of {role, content})", value=messages_json(call), key=f"call_messages_{span_id}", height=220
    )
    provider = call_provider()
    if st.button(f"Re-run this call ({provider.name})", key="call_run", type="primary"):
        try:
            messages = check_messages(json.loads(text))
        except ValueError as exc:
            st.error(f"Cannot re-run: {exc}")
            return
        with st.spinner("Calling the model…"):
            result = rerun_call(model, system, messages, provider=provider)
        _side_by_side(call, result)


def _side_by_side(call: LlmCall, r: CallResult) -> None:
    left, right = st.columns(2)
    left.markdown("**Original call**")
    left.caption(
        f"{call.model} · {theme.tokens(call.input_tokens + call.output_tokens)} tokens · "
        f"{theme.usd(call.cost_usd)} · {theme.duration(call.latency_ms)}"
    )
    left.code(call.output or "(no output recorded)", language=None, wrap_lines=True)
    right.markdown(f"**Re-run ({r.provider})**")
    right.caption(
        f"{r.model} · {theme.tokens(r.input_tokens + r.output_tokens)} tokens · {theme.usd(r.cost_usd)} · "
        f"{theme.duration(r.latency_ms)}"
    )
    if r.error:
        right.error(r.error)
    else:
        right.code(r.text or "(empty answer)", language=None, wrap_lines=True)
