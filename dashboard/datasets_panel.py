"""Save the Traces page's current filter as a dataset (the same as `agentdeck dataset create
--from-traces`): the matching traces' tasks, read from their checkpoints, kept beside them. Needs the
login when one is in force."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pandas as pd
import streamlit as st

from agentdeck.dashboard import auth, components, data
from agentdeck.engine.datasets import TraceRow

MAX_TRACES: Final = 5_000


def trace_rows(frame: pd.DataFrame) -> list[TraceRow]:
    """The rows of a `traces` answer a dataset is made from (replays left out: branches, not tasks)."""

    return [
        TraceRow(
            str(r.trace_id),
            r.thread_id if isinstance(r.thread_id, str) else "",
            str(r.outcome if isinstance(r.outcome, str) else r.status),
            float(r.cost_usd or 0.0),
            int((r.input_tokens or 0) + (r.output_tokens or 0)),
            float(r.duration_ms or 0.0),
        )
        for r in frame.itertuples()
        if not (isinstance(r.replay_of, str) and r.replay_of)  # a replay is a branch of a task, not a task
    ]


def save_as_dataset(params: Mapping[str, str | int | float | bool | None]) -> None:
    with st.expander("Save these traces as a dataset", expanded=False):
        if not auth.can_edit():
            st.caption("Sign in to make datasets.")
            return
        st.caption(
            "The tasks of the traces this filter matches (replays left out), with their inputs and what they "
            "did, to run again as an experiment on the Experiments page. A name that exists gets a new version."
        )
        name = st.text_input("Dataset name", key="dataset_name", placeholder="e.g. triage-dead-letters")
        if not st.button("Save dataset", key="dataset_save"):
            return
        if not name.strip():
            st.error("Give the dataset a name.")
            return
        try:
            frame = data.fetch_table("traces", {k: _text(v) for k, v in params.items() if v not in (None, "")} | {
                "limit": str(MAX_TRACES), "offset": "0"}, data.settings()).to_pandas()  # fmt: skip
        except data.DataError as exc:
            components.data_error(exc)
            return
        from agentdeck.engine.datasets import DatasetStore, items_from_traces

        db = data.settings().checkpoint_db
        workflow, items, skipped = items_from_traces(trace_rows(frame), db)
        if not items:
            st.error(f"No trace of this filter has its checkpoints in {db}: nothing to save.")
            return
        described = " ".join(
            f"{k}={v}"
            for k, v in params.items()
            if v not in (None, "", False) and k not in ("start_ns", "end_ns", "order_by", "desc")
        )
        if not Path(db).parent.exists():
            st.error(f"The checkpoint folder {Path(db).parent} does not exist.")
            return
        try:
            with DatasetStore(db) as store:
                ds = store.create(name.strip(), workflow, described, items)
        except ValueError as exc:
            st.error(str(exc))
            return
        st.success(f"Saved dataset {ds.name} v{ds.version}: {len(ds.items)} items.")
        if skipped:
            st.caption(f"{len(skipped)} trace(s) left out (no checkpoints here, or not a task's first run).")


def _text(v: object) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)
