"""One span's details beside the trace: what it is, its error, the conversation, usage, attributes, events.

A failed step (an agent span) carries no messages itself; its LLM call does. So the panel shows the
step's error and that call's whole conversation together: a person sees what the model was asked and
what it answered next to why the step failed. All span text is shown literally (`components.inert`,
`st.text`, `st.code`, `st.json`), never as Markdown or HTML.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from agentdeck.dashboard import messages, theme
from agentdeck.dashboard.components import inert


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _error(row: pd.Series) -> None:
    if row["status_code"] != "ERROR":
        return
    kind = _text(row["error_type"]) or "Error"
    message = _text(row["status_message"]) or "no message"
    st.error(f"**{inert(kind)}**: {inert(message)}", icon=":material/error:")


def _heading(row: pd.Series) -> None:
    st.subheader(inert(row["name"]), anchor=False)
    agent = _text(row["agent_name"])
    bits = [inert(row["span_type"]), f"agent **{inert(agent)}**" if agent else "no agent"]
    bits.append(theme.duration(row["duration_ms"]))
    model = _text(row["response_model"]) or _text(row["request_model"])
    if model:
        bits.append(f"model {inert(model)}")
    if _text(row["checkpoint_id"]):
        bits.append(f"checkpoint {inert(row['checkpoint_id'])}")
    if _num(row["attempt"]):
        reason = _text(row["retry_reason"])
        bits.append(f"attempt {int(row['attempt'])}" + (f" ({inert(reason)})" if reason else ""))
    st.caption(" · ".join(bits))


def _conversation(row: pd.Series) -> bool:
    """The span's whole conversation; False when it carries none."""
    inputs, outputs = messages.conversation(
        _text(row["input_messages"]), _text(row["output_messages"]), messages.parse_json(_text(row["attributes"]))
    )
    if inputs:
        st.markdown("**Input**")
        messages.render_turns(inputs)
    if outputs:
        st.markdown("**Output**")
        messages.render_turns(outputs)
    return bool(inputs or outputs)


def _messages_tab(row: pd.Series, call: pd.Series | None) -> None:
    if _conversation(row):
        return
    if call is not None:
        failed = call["status_code"] == "ERROR"
        st.caption(
            f"This step's {'failed' if failed else 'last'} LLM call, {inert(call['name'])} "
            f"({theme.duration(call['duration_ms'])}):"
        )
        _error(call)
        if _conversation(call):
            return
    st.caption("This span carries no messages (the producer did not record content, or it is not an LLM call).")


def _usage_tab(row: pd.Series) -> None:
    usage = {
        "input tokens": row["input_tokens"], "output tokens": row["output_tokens"],
        "cache read tokens": row["cache_read_tokens"], "cache write tokens": row["cache_write_tokens"],
        "reasoning tokens": row["reasoning_tokens"],
    }  # fmt: skip
    cols = st.columns(3)
    cols[0].metric("Input tokens", theme.tokens(_num(usage["input tokens"])))
    cols[1].metric("Output tokens", theme.tokens(_num(usage["output tokens"])))
    cols[2].metric("Span cost", theme.usd(_num(row["cost_usd"])))
    extra = {k: int(v) for k, v in usage.items() if _num(v) is not None and k not in ("input tokens", "output tokens")}
    if extra:
        st.caption(" · ".join(f"{k}: {v:,}" for k, v in extra.items()) + " (cache tokens are inside input tokens)")
    if _text(row["cost_source"]):
        st.caption(f"cost source: {inert(row['cost_source'])}")
    if not bool(row["usage_counted"]):
        st.info("Another span already counts this call's tokens and cost, so totals leave this one out.")


def _events_tab(row: pd.Series) -> None:
    events = messages.parse_events(_text(row["events"]))
    if not events:
        st.caption("No events on this span.")
    for ev in events:
        if ev.is_exception:
            kind = ev.attributes.get("exception.type", "exception")
            st.error(f"**{inert(kind)}**: {inert(ev.attributes.get('exception.message', ''))}")
            trace = ev.attributes.get("exception.stacktrace")
            if trace:
                st.code(str(trace), language="python")
        else:
            st.markdown(f"**{inert(ev.name)}**" + (f" · {theme.timestamp(ev.time_ns)}" if ev.time_ns else ""))
            if ev.attributes:
                st.json(messages.readable(ev.attributes), expanded=False)


def panel(row: pd.Series, call: pd.Series | None = None) -> None:
    """The span `row` (a full `trace` row); `call` is the LLM call under it to show when it has no messages."""
    _heading(row)
    _error(row)
    tabs = st.tabs(["Messages", "Usage", "Attributes", "Events"])
    with tabs[0]:
        _messages_tab(row, call)
    with tabs[1]:
        _usage_tab(row)
    with tabs[2]:
        st.json(messages.readable(messages.parse_json(_text(row["attributes"])) or {}), expanded=True)
        resource = messages.parse_json(_text(row["resource_attributes"]))
        if resource:
            st.caption("Resource")
            st.json(messages.readable(resource), expanded=False)
    with tabs[3]:
        _events_tab(row)
