"""The human review queue: agent answers that wait for a person, and that person's decision.

An agent with a `ReviewRule` escalates an answer (confidence below a threshold, an explicit policy,
or the task at 90% of its budget): the item (inputs, proposed output, why) goes into the queue, which
lives beside the checkpoints (SQLite, by default the checkpoint file), and the task pauses at a
LangGraph `interrupt` with its checkpoint saved. Its status is then `waiting_review`, which is not an
outcome: the ledger does not record it, so the runner that owns the task resumes it on its next run.

A reviewer approves, edits (validated against the agent's output schema) or rejects, from the CLI
or the dashboard; the decision records who and when. When the task runs again, the step takes the
decision instead of calling the model: an approved or edited answer continues the task, a rejected
one ends it as a dead letter with error type `rejected`. The resumed trace has a `review {agent}`
span with the decision, who made it and how long the item waited.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, ReviewRule
from agentdeck.engine.policies import SKIP_OPTIONAL_AT, snapshot
from agentdeck.engine.record_store import RecordStore
from agentdeck.engine.telemetry import new_span

if TYPE_CHECKING:
    from pathlib import Path

    from agentdeck.engine.clock import Cursor
    from agentdeck.engine.context import RunContext
    from agentdeck.engine.execution import TaskResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentdeck_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    task_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    node TEXT NOT NULL,
    agent TEXT NOT NULL,
    reason TEXT NOT NULL,
    inputs TEXT NOT NULL,
    proposed TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_ns INTEGER,
    output TEXT,
    decision_reason TEXT,
    applied INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS agentdeck_reviews_step ON agentdeck_reviews (thread_id, node, agent, applied);
"""
# The same table in PostgreSQL (the workers' shared database): a serial id and 64-bit nanoseconds.
_PG_SCHEMA = (
    _SCHEMA.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
    .replace("created_ns INTEGER", "created_ns BIGINT")
    .replace("decided_ns INTEGER", "decided_ns BIGINT")
)
STATUSES = ("pending", "approved", "edited", "rejected")
_COLUMNS = (
    "id, created_ns, workflow, task_id, thread_id, trace_id, node, agent, reason, inputs, proposed,"
    " status, decided_by, decided_ns, output, decision_reason, applied"
)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    created_ns: int  # wall clock
    workflow: str
    task_id: str
    thread_id: str
    trace_id: str
    node: str
    agent: str
    reason: str
    inputs: dict[str, Any]
    proposed: dict[str, Any]
    status: str  # pending | approved | edited | rejected
    decided_by: str | None
    decided_ns: int | None
    output: dict[str, Any] | None  # the answer the task continues with (approved: the proposed one)
    decision_reason: str | None
    applied: bool  # the task has taken the decision

    def age_s(self, now_ns: int | None = None) -> float:
        """How long the item has waited (until its decision, once decided)."""
        end = self.decided_ns or now_ns or time.time_ns()
        return max(end - self.created_ns, 0) / 1e9

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "age_s": round(self.age_s(), 3)}


def _item(row: tuple[Any, ...]) -> ReviewItem:
    values = list(row)
    for i in (9, 10):  # inputs, proposed
        values[i] = json.loads(values[i])
    values[14] = json.loads(values[14]) if values[14] is not None else None
    values[16] = bool(values[16])
    return ReviewItem(*values)


class ReviewQueue(RecordStore):
    """The review queue, beside the checkpoints: the SQLite file, or the PostgreSQL workers share."""

    SCHEMA = _SCHEMA
    PG_SCHEMA = _PG_SCHEMA

    def request(
        self,
        *,
        workflow: str,
        task_id: str,
        thread_id: str,
        trace_id: str,
        node: str,
        agent: str,
        reason: str,
        inputs: dict[str, Any],
        proposed: dict[str, Any],
    ) -> ReviewItem:
        """Queue a proposed answer for review (the step's open item if it already has one)."""
        existing = self.open_item(thread_id, node, agent)
        if existing is not None:
            return existing
        rows = self.write(
            "INSERT INTO agentdeck_reviews (created_ns, workflow, task_id, thread_id, trace_id, node, agent,"
            " reason, inputs, proposed) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                time.time_ns(),
                workflow,
                task_id,
                thread_id,
                trace_id,
                node,
                agent,
                reason,
                json.dumps(snapshot(inputs), sort_keys=True),
                json.dumps(proposed, sort_keys=True),
            ),
        )
        return self.get(int(rows[0][0]))

    def get(self, item_id: int) -> ReviewItem:
        rows = self.query(f"SELECT {_COLUMNS} FROM agentdeck_reviews WHERE id = ?", (item_id,))
        if not rows:
            raise KeyError(f"no review item {item_id}: `agentdeck review list` shows the pending ones")
        return _item(rows[0])

    def items(self, status: str | None = "pending") -> list[ReviewItem]:
        """Items with `status` (None: all), oldest first."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown review status {status!r}; choose one of: {', '.join(STATUSES)}")
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self.query(f"SELECT {_COLUMNS} FROM agentdeck_reviews {where} ORDER BY created_ns, id", params)
        return [_item(r) for r in rows]

    def open_item(self, thread_id: str, node: str, agent: str) -> ReviewItem | None:
        """The step's item whose decision the task has not taken yet (pending or decided)."""
        rows = self.query(
            f"SELECT {_COLUMNS} FROM agentdeck_reviews WHERE thread_id = ? AND node = ? AND agent = ?"
            " AND applied = 0 ORDER BY id DESC LIMIT 1",
            (thread_id, node, agent),
        )
        return _item(rows[0]) if rows else None

    def approve(self, item_id: int, *, by: str, output: dict[str, Any] | None = None) -> ReviewItem:
        """Approve the proposed answer, or an edited one (`output`, validated against the agent's schema)."""
        item = self._pending(item_id, by)
        status = "approved"
        if output is not None and output != item.proposed:
            output, status = _validated(item, output), "edited"
        return self._decide(item, status, by, output if output is not None else item.proposed, None)

    def reject(self, item_id: int, *, by: str, reason: str) -> ReviewItem:
        if not reason.strip():
            raise ValueError("say why the answer is rejected (reason)")
        item = self._pending(item_id, by)
        return self._decide(item, "rejected", by, None, reason.strip())

    def mark_applied(self, item_id: int) -> None:
        self.write("UPDATE agentdeck_reviews SET applied = 1 WHERE id = ?", (item_id,))

    def _pending(self, item_id: int, by: str) -> ReviewItem:
        if not by.strip():
            raise ValueError("say who decides (by)")
        item = self.get(item_id)
        if item.status != "pending":
            raise ValueError(f"review item {item_id} was already {item.status} by {item.decided_by}")
        return item

    def _decide(
        self, item: ReviewItem, status: str, by: str, output: dict[str, Any] | None, reason: str | None
    ) -> ReviewItem:
        updated = self.write(
            "UPDATE agentdeck_reviews SET status = ?, decided_by = ?, decided_ns = ?, output = ?,"
            " decision_reason = ? WHERE id = ? AND status = 'pending' RETURNING id",
            (
                status,
                by.strip(),
                time.time_ns(),
                json.dumps(output, sort_keys=True) if output is not None else None,
                reason,
                item.id,
            ),
        )
        if len(updated) != 1:
            raise ValueError(f"review item {item.id} was decided by someone else meanwhile")
        return self.get(item.id)


def _schema_of(item: ReviewItem) -> type[BaseModel]:
    from agentdeck.engine.workflows import get_workflow  # the workflows import the step runtime, which imports us

    return get_workflow(item.workflow).agent(item.agent).output_schema


def _validated(item: ReviewItem, output: dict[str, Any]) -> dict[str, Any]:
    schema = _schema_of(item)
    try:
        return schema.model_validate(output).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors())
        raise ValueError(
            f"the edited output does not fit {item.agent}'s schema {schema.__name__}: {problems}"
        ) from None


def escalation_reason(rule: ReviewRule, output: BaseModel, budget_fraction: float) -> str | None:
    """Why an answer needs a human, or None."""
    if rule.always:
        return "policy"
    if rule.confidence_below is not None:
        confidence = getattr(output, rule.confidence_field, None)
        if isinstance(confidence, int | float) and confidence < rule.confidence_below:
            return f"confidence {confidence:.2f} below {rule.confidence_below:g}"
    if rule.at_budget and budget_fraction >= SKIP_OPTIONAL_AT:
        return f"budget {budget_fraction:.0%} spent"
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's decision, as the step takes it: the output to continue with, or a rejection."""

    item: ReviewItem
    output: BaseModel | None  # None: rejected


def before_step(ctx: RunContext, agent: Agent, node: str, cursor: Cursor) -> Decision | None:
    """At the start of a reviewed step: still pending -> pause again (no model call); decided -> the
    decision (traced as a `review {agent}` span); no open item -> None (run the step)."""
    if ctx.reviews is None or agent.review is None:
        return None
    item = ctx.reviews.open_item(ctx.thread_id, node, agent.name)
    if item is None:
        return None
    if item.status == "pending":
        interrupt({"review_id": item.id, "agent": agent.name, "reason": item.reason})
    span = new_span(ctx.tracer, f"review {agent.name}", parent=ctx.root_context, start_ns=cursor.now_ns())
    span.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_REVIEW,
            sc.GEN_AI_AGENT_NAME: agent.name,
            sc.GEN_AI_WORKFLOW_NAME: ctx.workflow,
            sc.AD_TASK_ID: ctx.task_id,
            sc.LANGGRAPH_THREAD_ID: ctx.thread_id,
            sc.LANGGRAPH_NODE: node,
            sc.AD_REVIEW_ID: item.id,
            sc.AD_REVIEW_REASON: item.reason,
            sc.AD_REVIEW_DECISION: item.status,
            sc.AD_REVIEW_BY: item.decided_by or "",
            sc.AD_REVIEW_WAIT_MS: round(item.age_s() * 1000, 1),
            sc.AD_REVIEW_OUTPUT: json.dumps(item.output, sort_keys=True) if item.output is not None else "",
        }
    )
    cursor.advance(0.0)
    span.end(end_time=cursor.now_ns())
    ctx.reviews.mark_applied(item.id)
    if item.output is None:
        return Decision(item, None)
    return Decision(item, agent.output_schema.model_validate(item.output))


def after_step(
    ctx: RunContext, agent: Agent, inputs: dict[str, Any], output: BaseModel | None, node: str, cursor: Cursor
) -> None:
    """After a reviewed step produced an answer: escalate it when the rule says so (pauses the task)."""
    if ctx.reviews is None or agent.review is None or output is None:
        return
    why = escalation_reason(agent.review, output, ctx.budget.fraction())
    if why is None:
        return
    item = ctx.reviews.request(
        workflow=ctx.workflow,
        task_id=ctx.task_id,
        thread_id=ctx.thread_id,
        trace_id=ctx.trace_id,
        node=node,
        agent=agent.name,
        reason=why,
        inputs=inputs,
        proposed=output.model_dump(mode="json"),
    )
    ctx.root_span.add_event(
        sc.EVENT_REVIEW_REQUESTED,
        {sc.GEN_AI_AGENT_NAME: agent.name, sc.AD_REVIEW_ID: item.id, sc.AD_REVIEW_REASON: why},
        timestamp=cursor.now_ns(),
    )
    interrupt({"review_id": item.id, "agent": agent.name, "reason": why})


def resume_decided(checkpoint_db: str | Path, **run_kwargs: Any) -> list[TaskResult]:
    """Run again every task whose review was decided but not yet taken (what the demo does between
    batches; `agentdeck run` with the same workflow and seed does the same for its tasks).
    `run_kwargs` go to `run_tasks` (endpoint, latency_scale, ...)."""
    from agentdeck.engine.runner import run_tasks  # the runner imports the step runtime, which imports us

    with ReviewQueue(checkpoint_db) as queue:
        decided = [i for i in queue.items(None) if i.status != "pending" and not i.applied]
    results: list[TaskResult] = []
    for item in decided:
        match = re.fullmatch(rf"{re.escape(item.workflow)}-s(\d+)-(\d+)", item.task_id)
        if match is None:  # a task run with prompt overrides: its own run resumes it
            continue
        seed, index = int(match[1]), int(match[2])
        summary = run_tasks(item.workflow, 1, seed=seed, first_task=index, checkpoint_db=checkpoint_db, **run_kwargs)
        results += summary.tasks
    return results
