"""A tiny Streamlit app for tests/dashboard/test_auth.py: the login gate, a page, and an edit action."""

from __future__ import annotations

import streamlit as st

from agentdeck.dashboard.auth import can_edit, require_login

st.caption(f"may edit before the gate: {can_edit()}")  # what an ungated action handler would see
require_login()
st.markdown("private dashboard content")
if can_edit():
    st.button("Replay from this checkpoint", key="replay")
