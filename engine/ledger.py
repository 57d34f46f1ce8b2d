"""Durable run records beside the checkpoints (the SQLite file, or the PostgreSQL every worker shares):
dead letters, task outcomes, responses and per-task budget state.

The dead-letter queue keeps everything needed to understand and replay a failure: the full state
snapshot, the failing input, the error, the trace id and the checkpoint. The task ledger records
each task's outcome so a resumed run knows which tasks are finished and none is lost. Recorded
responses (validated answers, and tool-call rounds, by request key) let a replay serve unchanged
steps at zero tokens. The budget state (USD a task has spent, over all its runs) lets a task resumed on
another worker go on with what is left of its budget instead of a fresh one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.providers.base import LLMResponse, ToolCall, Usage
from agentdeck.engine.record_store import RecordStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentdeck_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ns INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    task_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    checkpoint_id TEXT,
    agent TEXT,
    node TEXT,
    error_type TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failing_input TEXT NOT NULL,
    state_snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agentdeck_responses (
    key TEXT PRIMARY KEY,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agentdeck_tasks (
    task_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cost_usd REAL NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agentdeck_budgets (
    task_id TEXT PRIMARY KEY,
    spent_usd REAL NOT NULL
);
"""

# The same tables in PostgreSQL: a serial id, 64-bit nanoseconds, doubles, and an insertion order for tasks.
_PG_SCHEMA = (
    _SCHEMA.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
    .replace("created_ns INTEGER", "created_ns BIGINT")
    .replace(" REAL ", " DOUBLE PRECISION ")
    .replace("    detail TEXT NOT NULL\n)", "    detail TEXT NOT NULL,\n    seq BIGSERIAL\n)")
)
_TASK_COLUMNS = "task_id, workflow, thread_id, trace_id, outcome, cost_usd, detail"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    created_ns: int
    workflow: str
    task_id: str
    thread_id: str
    trace_id: str
    checkpoint_id: str | None
    agent: str | None
    node: str | None
    error_type: str
    error: str
    attempts: int
    failing_input: str
    state_snapshot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TaskRecord:
    task_id: str
    workflow: str
    thread_id: str
    trace_id: str
    outcome: str
    cost_usd: float
    detail: str


class Ledger(RecordStore):
    SCHEMA = _SCHEMA
    PG_SCHEMA = _PG_SCHEMA

    def dead_letter(
        self,
        *,
        created_ns: int,
        workflow: str,
        task_id: str,
        thread_id: str,
        trace_id: str,
        checkpoint_id: str | None,
        agent: str | None,
        node: str | None,
        error_type: str,
        error: str,
        attempts: int,
        failing_input: str,
        state_snapshot: dict[str, Any],
    ) -> int:
        rows = self.write(
            "INSERT INTO agentdeck_dead_letters (created_ns, workflow, task_id, thread_id, trace_id,"
            " checkpoint_id, agent, node, error_type, error, attempts, failing_input, state_snapshot)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                created_ns,
                workflow,
                task_id,
                thread_id,
                trace_id,
                checkpoint_id,
                agent,
                node,
                error_type,
                error,
                attempts,
                failing_input,
                json.dumps(state_snapshot, default=str),
            ),
        )
        return int(rows[0][0])

    def dead_letters(self, task_id: str | None = None) -> list[DeadLetter]:
        sql = "SELECT * FROM agentdeck_dead_letters"
        args: tuple[str, ...] = ()
        if task_id is not None:
            sql, args = sql + " WHERE task_id = ?", (task_id,)
        rows = self.query(sql + " ORDER BY id", args)
        return [
            DeadLetter(
                id=r[0],
                created_ns=r[1],
                workflow=r[2],
                task_id=r[3],
                thread_id=r[4],
                trace_id=r[5],
                checkpoint_id=r[6],
                agent=r[7],
                node=r[8],
                error_type=r[9],
                error=r[10],
                attempts=r[11],
                failing_input=r[12],
                state_snapshot=json.loads(r[13]),
            )
            for r in rows
        ]

    def record_task(self, rec: TaskRecord) -> None:
        self.write(
            f"INSERT INTO agentdeck_tasks ({_TASK_COLUMNS}) VALUES (?,?,?,?,?,?,?) ON CONFLICT (task_id) DO UPDATE SET"
            " workflow = excluded.workflow, thread_id = excluded.thread_id, trace_id = excluded.trace_id,"
            " outcome = excluded.outcome, cost_usd = excluded.cost_usd, detail = excluded.detail",
            (rec.task_id, rec.workflow, rec.thread_id, rec.trace_id, rec.outcome, rec.cost_usd, rec.detail),
        )

    def task(self, task_id: str) -> TaskRecord | None:
        rows = self.query(f"SELECT {_TASK_COLUMNS} FROM agentdeck_tasks WHERE task_id = ?", (task_id,))
        return TaskRecord(*rows[0]) if rows else None

    def tasks(
        self, *, exclude_outcome: str | None = None, task_ids: Sequence[str] | None = None, limit: int = 200
    ) -> list[TaskRecord]:
        """Recorded task outcomes (of `task_ids` when given), most recently recorded first."""
        where: list[str] = []
        args: list[str | int] = []
        if exclude_outcome is not None:
            where.append("outcome != ?")
            args.append(exclude_outcome)
        if task_ids is not None:
            if not task_ids:
                return []
            where.append(f"task_id IN ({','.join('?' * len(task_ids))})")
            args.extend(task_ids)
        sql = f"SELECT {_TASK_COLUMNS} FROM agentdeck_tasks" + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self.query(sql + f" ORDER BY {self.row_order} DESC LIMIT ?", (*args, limit))
        return [TaskRecord(*r) for r in rows]

    def budget_spent(self, task_id: str) -> float:
        """USD the task has spent over all its runs so far (0 for a new task)."""
        rows = self.query("SELECT spent_usd FROM agentdeck_budgets WHERE task_id = ?", (task_id,))
        return float(rows[0][0]) if rows else 0.0

    def record_budget(self, task_id: str, spent_usd: float) -> None:
        self.write(
            "INSERT INTO agentdeck_budgets VALUES (?, ?)"
            " ON CONFLICT (task_id) DO UPDATE SET spent_usd = excluded.spent_usd",
            (task_id, spent_usd),
        )

    def record_response(self, key: str, response: LLMResponse) -> None:
        body = json.dumps(
            {
                "id": response.id,
                "model": response.model,
                "text": response.text,
                "finish_reason": response.finish_reason,
                "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
            }
        )
        self.write(
            "INSERT INTO agentdeck_responses VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET response = excluded.response",
            (key, body),
        )

    def recorded_response(self, key: str) -> LLMResponse | None:
        rows = self.query("SELECT response FROM agentdeck_responses WHERE key = ?", (key,))
        if not rows:
            return None
        data = json.loads(rows[0][0])
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls", []))
        return LLMResponse(
            id=data["id"],
            model=data["model"],
            text=data["text"],
            usage=Usage(),
            finish_reason=data["finish_reason"],
            tool_calls=calls,
        )
