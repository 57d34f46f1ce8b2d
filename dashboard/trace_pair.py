"""Two traces side by side (`/traces?trace_id=A&compare=B`): any two runs, not only a replay and its
original: each one's outcome, cost, tokens and latency, their steps paired by node with the outputs
that differ and a diff. Opened from a trace's "Compare with another trace" box."""

from __future__ import annotations

import streamlit as st

from agentdeck.dashboard import components, theme

KEY = "compare"


def picker(trace_id: str) -> None:
    """A box on a trace's page: another trace id opens the two side by side."""
    with st.expander("Compare with another trace", expanded=False):
        other = st.text_input("Other trace id", key="compare_with", placeholder="32 hex characters")
        if st.button("Compare side by side", key="compare_go"):
            other = other.strip().lower()
            if len(other) != 32 or any(c not in "0123456789abcdef" for c in other):
                st.error("A trace id is 32 hex characters (copy it from a trace's page or the trace list).")
            elif other == trace_id:
                st.error("Pick another trace than this one.")
            else:
                st.query_params[KEY] = other
                st.rerun()


def render(a: str, b: str) -> None:
    from agentdeck.dashboard.replay.data import facts, outcome, trace_rows
    from agentdeck.engine.replay.compare import compare, steps_of

    left_rows, right_rows = trace_rows(a), trace_rows(b)
    for rows, tid in ((left_rows, a), (right_rows, b)):
        if rows.empty:
            components.empty_state(
                "This trace is not in the collector", f"No spans with trace id {components.inert(tid)}."
            )
            return
    c = compare(
        steps_of(facts(left_rows)),
        steps_of(facts(right_rows)),
        original_outcome=outcome(left_rows),
        replay_outcome=outcome(right_rows),
    )
    cols = st.columns(2)
    for col, tid, total, result in (
        (cols[0], a, c.original, c.original_outcome),
        (cols[1], b, c.replay, c.replay_outcome),
    ):
        with col:
            st.markdown(f"**Trace `{tid}`**")
            top, bottom = st.columns(2), st.columns(2)  # two by two: a metric's value is not cut short
            top[0].metric("Outcome", components.inert(result or "n/a"))
            top[1].metric("Cost", theme.usd(total.cost_usd))
            bottom[0].metric("Tokens", theme.tokens(total.tokens))
            bottom[1].metric("Latency", theme.duration(total.latency_ms))
    d = c.deltas
    st.caption(
        f"Right minus left: cost {'+' if d.cost_usd >= 0 else '-'}${abs(d.cost_usd):.4f}, tokens {d.tokens:+,}, "
        f"latency {d.latency_ms:+,.0f} ms. Steps are paired by node, in order."
    )
    for p in c.pairs:
        status = f"{p.original.status if p.original else '-'} → {p.replay.status if p.replay else '-'}"
        st.markdown(
            f"**{components.inert(p.node)}** · {components.inert(status)}" + (" · changed" if p.changed else "")
        )
        if not p.changed:
            continue
        left, right = st.columns(2)
        left.code(
            p.original.output if p.original and p.original.output else "(no output)", language=None, wrap_lines=True
        )
        right.code(p.replay.output if p.replay and p.replay.output else "(no output)", language=None, wrap_lines=True)
        diff = (
            p.diff().replace("--- original", "--- left", 1).replace("+++ replay", "+++ right", 1)
            if p.original and p.replay
            else ""
        )
        if diff:
            st.code(diff, language="diff")
