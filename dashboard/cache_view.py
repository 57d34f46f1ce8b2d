"""The Costs page's semantic cache section: per agent, its hit rate and what the hits saved.

Fed by the `cache_savings` named query (chat spans the engine marks `agentdeck.cache.kind=semantic`).
Shown only when some agent had a hit in the filtered range, so pages of apps without the cache stay
as they were.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentdeck.dashboard import components, data, theme
from agentdeck.dashboard.filters import Filters


def show(f: Filters) -> None:
    savings = data.query("cache_savings", f.params())
    if savings.empty:
        return
    calls = savings["calls"].astype(int)
    hits = savings["semantic_hits"].astype(int)
    st.markdown("##### Semantic cache")
    cols = st.columns(3)
    cols[0].metric("Cache hit rate", theme.pct(hits.sum() / calls.sum() if calls.sum() else None), border=True)
    cols[1].metric("Saved by the cache", theme.usd(float(savings["saved_usd"].astype(float).sum())), border=True)
    cols[2].metric("Tokens saved", theme.count(int(savings["saved_tokens"].astype(int).sum())), border=True)
    shown = pd.DataFrame(
        {
            "Agent": savings["agent"],
            "Hit rate": hits / calls.where(calls > 0),
            "Hits": hits,
            "LLM calls": calls,
            "Saved": savings["saved_usd"].astype(float),
            "Tokens saved": savings["saved_tokens"].astype(int),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        key="cache_savings",
        column_config={
            "Hit rate": components.PERCENT_BAR_COLUMN,
            "Saved": components.USD_COLUMN,
            "Tokens saved": st.column_config.NumberColumn(format="localized"),
        },
    )
