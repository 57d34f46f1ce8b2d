"""Durable run records in SQLite (by default the checkpoint file): dead letters, task outcomes, responses.

The dead-letter queue keeps everything needed to understand and replay a failure: the full state
snapshot, the failing input, the error, the trace id and the checkpoint. The task ledger records
each task's outcome so a resumed run knows which tasks are finished and none is lost. Recorded
responses (validated answers, and tool-call rounds, by request key) let a replay serve unchanged
steps at zero tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.providers.base import LLMResponse, ToolCall, Usage
from agentdeck.engine.sqlite_store import SqliteStore

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
"""


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


class Ledger(SqliteStore):
    SCHEMA = _SCHEMA

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
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO agentdeck_dead_letters (created_ns, workflow, task_id, thread_id, trace_id,"
                " checkpoint_id, agent, node, error_type, error, attempts, failing_input, state_snapshot)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
            self._conn.commit()
            return int(cur.lastrowid or 0)

    def dead_letters(self, task_id: str | None = None) -> list[DeadLetter]:
        sql = "SELECT * FROM agentdeck_dead_letters"
        args: tuple[str, ...] = ()
        if task_id is not None:
            sql, args = sql + " WHERE task_id = ?", (task_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
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
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO agentdeck_tasks VALUES (?,?,?,?,?,?,?)",
                (rec.task_id, rec.workflow, rec.thread_id, rec.trace_id, rec.outcome, rec.cost_usd, rec.detail),
            )
            self._conn.commit()

    def task(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM agentdeck_tasks WHERE task_id = ?", (task_id,)).fetchone()
        return TaskRecord(*row) if row else None

    def tasks(self, *, exclude_outcome: str | None = None, limit: int = 200) -> list[TaskRecord]:
        """Recorded task outcomes, most recently recorded first."""
        sql, args = "SELECT * FROM agentdeck_tasks", []
        if exclude_outcome is not None:
            sql, args = sql + " WHERE outcome != ?", [exclude_outcome]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY rowid DESC LIMIT ?", (*args, limit)).fetchall()
        return [TaskRecord(*r) for r in rows]

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
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO agentdeck_responses VALUES (?, ?)", (key, body))
            self._conn.commit()

    def recorded_response(self, key: str) -> LLMResponse | None:
        with self._lock:
            row = self._conn.execute("SELECT response FROM agentdeck_responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls", []))
        return LLMResponse(
            id=data["id"],
            model=data["model"],
            text=data["text"],
            usage=Usage(),
            finish_reason=data["finish_reason"],
            tool_calls=calls,
        )
