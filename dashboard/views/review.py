"""Review: agent answers waiting for a human. Approve, edit (checked against the agent's schema) or reject.

The queue is read from the checkpoint file (AGENTDECK_CHECKPOINT_DB) through agentdeck.engine.review;
a decision records the reviewer's name and the time, and the task takes it on its next run. The
entrypoint already asked for the login when one is in force; deciding also checks `can_edit()`.
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import streamlit as st

from agentdeck.dashboard import auth, data
from agentdeck.engine.review import ReviewItem, ReviewQueue

REVIEWER_KEY = "review_reviewer"

st.title("Review")
settings = data.settings()
db = Path(settings.checkpoint_db)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _decide(queue: ReviewQueue, item: ReviewItem, reviewer: str) -> None:
    answer = st.text_area(
        "Answer (JSON): edit it to approve a corrected answer",
        value=json.dumps(item.proposed, indent=2, sort_keys=True),
        key=f"review_output_{item.id}",
        height=160,
    )
    reason = st.text_input("Reason (to reject)", key=f"review_reason_{item.id}")
    left, right = st.columns(2)
    approve = left.button("Approve", key=f"review_approve_{item.id}", type="primary", icon=":material/check:")
    reject = right.button("Reject", key=f"review_reject_{item.id}", icon=":material/close:")
    try:
        if approve:
            output = json.loads(answer)
            if not isinstance(output, dict):
                raise ValueError("the answer must be a JSON object, like the proposed one")
            decided = queue.approve(item.id, by=reviewer, output=output)
        elif reject:
            decided = queue.reject(item.id, by=reviewer, reason=reason)
        else:
            return
    except json.JSONDecodeError as exc:
        st.error(f"The answer is not valid JSON: {exc}")
        return
    except (KeyError, ValueError) as exc:
        st.error(str(exc.args[0]))
        return
    st.session_state["review_done"] = f"Item {item.id} {decided.status} by {decided.decided_by}."
    st.rerun()


def _pending(queue: ReviewQueue) -> None:
    items = queue.items("pending")
    st.subheader(f"Waiting ({len(items)})")
    if not items:
        st.info("No agent answer is waiting for review.")
        return
    editable = auth.can_edit()
    if not editable:
        st.warning("Sign in to approve or reject.")
    reviewer = st.text_input("Your name (recorded with each decision)", value=getpass.getuser(), key=REVIEWER_KEY)
    now = time.time_ns()
    for item in items:
        with st.container(border=True):
            st.markdown(
                f"**#{item.id} · {item.agent}** in `{item.workflow}` task `{item.task_id}` · "
                f"waiting {_age(item.age_s(now))} · why: {item.reason}"
            )
            st.caption(
                f"[trace `{item.trace_id}`](/?trace_id={item.trace_id}) · "
                f"thread `{item.thread_id}` · node `{item.node}`"
            )
            c = st.columns(2)
            with c[0]:
                st.markdown("Inputs")
                st.json(item.inputs, expanded=True)
            with c[1]:
                st.markdown("Proposed answer")
                st.json(item.proposed)
            if editable:
                _decide(queue, item, reviewer.strip())


def _decided(queue: ReviewQueue) -> None:
    done = [i for i in queue.items(None) if i.status != "pending"]
    if not done:
        return
    st.subheader("Decided")
    rows = [
        {
            "id": i.id,
            "task": i.task_id,
            "agent": i.agent,
            "decision": i.status,
            "by": i.decided_by,
            "waited": _age(i.age_s()),
            "reason": i.decision_reason or "",
            "resumed": "yes" if i.applied else "on the task's next run",
        }
        for i in reversed(done[-50:])
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


if not db.exists():
    st.info(f"No checkpoint file at `{db}`: set AGENTDECK_CHECKPOINT_DB to the engine's checkpoint file.")
else:
    if "review_done" in st.session_state:
        st.success(st.session_state.pop("review_done"))
    with ReviewQueue(db) as review_queue:
        _pending(review_queue)
        _decided(review_queue)
