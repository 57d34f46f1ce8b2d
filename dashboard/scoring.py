"""Human scores on the trace page: thumbs up/down or 1-5 and a comment, written to the collector's
scores store (source `human`), with the scores the trace already has (code, judge, people).
Giving a score needs the login when one is in force, as Replay does."""

from __future__ import annotations

from typing import Final

import streamlit as st

from agentdeck.dashboard import auth, components, data

KINDS: Final = {"Thumbs": "thumbs", "1 to 5": "rating"}


def panel(trace_id: str) -> None:
    with st.expander("Scores", expanded=False):
        try:
            given = data.scores(trace_id)
        except data.DataError as exc:
            components.data_error(exc)
            return
        if given.empty:
            st.caption("No score yet.")
        else:
            shown = given[["name", "value", "source", "comment"]].rename(columns=str.capitalize)
            components.table(shown, key="trace_scores")
        if not auth.can_edit():
            st.caption("Sign in to score this trace.")
            return
        kind = st.radio("Score as", list(KINDS), horizontal=True, key="score_kind")
        if kind == "Thumbs":
            value = (
                1.0
                if st.radio("Verdict", ["Good (thumbs up)", "Bad (thumbs down)"], horizontal=True, key="score_thumb")
                == "Good (thumbs up)"
                else 0.0
            )
        else:
            value = float(st.slider("Rating", 1, 5, 3, key="score_rating"))
        comment = st.text_input("Comment (optional)", key="score_comment", max_chars=4000)
        if st.button("Save score", key="score_save"):
            try:
                data.add_score(trace_id, KINDS[kind], value, comment)
            except data.DataError as exc:
                components.data_error(exc)
                return
            st.success("Score saved.")
