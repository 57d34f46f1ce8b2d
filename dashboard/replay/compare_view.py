"""Replay page, part 3: original and replay side by side, step by step, with totals and deltas."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import components, theme
from agentdeck.engine.replay.compare import Comparison, StepRun

RECORDED = "♻ recorded, 0 tokens"


def _status(s: StepRun | None) -> str:
    if s is None:
        return "— not run"
    text = "ok" if s.status == "ok" else f"failed ({s.error})" if s.error else "failed"
    return f"{text} · {RECORDED}" if s.served_from_record else text


def _tokens(s: StepRun | None) -> str:
    return f"{s.tokens:,}" if s is not None else "—"


def _cost(s: StepRun | None) -> str:
    return theme.usd(s.cost_usd) if s is not None else "—"


def _latency(s: StepRun | None) -> str:
    return theme.duration(s.latency_ms) if s is not None else "—"


def _delta_usd(v: float) -> str:
    return ("+" if v > 0 else "-" if v < 0 else "±") + theme.usd(abs(v))


def render(c: Comparison, *, original_trace_id: str, replay_trace_id: str) -> None:
    st.subheader("Original vs replay")
    _o, r, d = c.original, c.replay, c.deltas
    m = st.columns(4)
    was = f"was {components.inert(c.original_outcome or 'n/a')}"  # outcomes come from spans; metrics read Markdown
    m[0].metric("Outcome", components.inert(c.replay_outcome or "n/a"), delta=was, delta_color="off")
    m[1].metric("Cost", theme.usd(r.cost_usd), delta=_delta_usd(d.cost_usd), delta_color="inverse")
    m[2].metric("Tokens", theme.tokens(r.tokens), delta=f"{d.tokens:+,}", delta_color="inverse")
    m[3].metric("Latency", theme.duration(r.latency_ms), delta=f"{d.latency_ms:+,.0f} ms", delta_color="inverse")
    st.caption(
        f"original trace `{original_trace_id}` · replay trace `{replay_trace_id}` · totals cover the "
        f"steps the replay re-ran. Steps marked {RECORDED} were answered from the original's recorded "
        "outputs (same node, inputs, prompt and model)."
    )
    table = pd.DataFrame(
        {
            "Step": [p.node for p in c.pairs],
            "Original": [_status(p.original) for p in c.pairs],
            "Replay": [_status(p.replay) for p in c.pairs],
            "Tokens (orig → replay)": [f"{_tokens(p.original)} → {_tokens(p.replay)}" for p in c.pairs],
            "Cost (orig → replay)": [f"{_cost(p.original)} → {_cost(p.replay)}" for p in c.pairs],
            "Latency (orig → replay)": [f"{_latency(p.original)} → {_latency(p.replay)}" for p in c.pairs],
            "Changed": ["yes" if p.changed else "" for p in c.pairs],
        }
    )
    components.table(table, pinned="Step")
    for p in c.pairs:
        if not p.changed:
            continue
        st.markdown(f"**{components.inert(p.node)}** — output changed: {_status(p.original)} → {_status(p.replay)}")
        left, right = st.columns(2)
        left.caption("Original output")
        left.code(
            p.original.output if p.original and p.original.output else "(no output)", language=None, wrap_lines=True
        )
        right.caption("Replay output")
        right.code(p.replay.output if p.replay and p.replay.output else "(no output)", language=None, wrap_lines=True)
        diff = p.diff() if p.original is not None and p.replay is not None else ""
        if diff:
            st.code(diff, language="diff")
