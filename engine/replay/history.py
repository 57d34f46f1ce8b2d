"""A task's checkpoint history as a tree of branches, and the failed tasks worth replaying.

LangGraph lists a thread's checkpoints newest first with every branch mixed in; the tree is rebuilt
from each checkpoint's parent. Each checkpoint knows the run (trace) that wrote it through the
metadata the engine puts there, so a checkpoint leads to its spans and a trace to its thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.types import StateSnapshot

from agentdeck.engine.checkpoints import is_postgres, open_checkpointer
from agentdeck.engine.execution import META_PROMPTS, META_RUN, META_TASK_ID, META_TRACE_ID
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.replay.validate import agent_names
from agentdeck.engine.workflows import get_workflow, ref_in


@dataclass(frozen=True, slots=True)
class Checkpoint:
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str  # input | loop | update | fork
    next_nodes: tuple[str, ...]  # the node(s) about to run from here
    trace_id: str  # the run that wrote it
    run: int
    created_at: str
    values: dict[str, Any]
    prompt_overrides: dict[str, str]  # agent -> template, for the run that wrote it


@dataclass
class ThreadHistory:
    thread_id: str
    workflow: str  # the workflow's reference: an example's name or MODULE:ATTR (get_workflow loads it)
    task_id: str
    checkpoints: dict[str, Checkpoint]
    children: dict[str | None, list[str]] = field(default_factory=dict)

    @property
    def roots(self) -> list[str]:
        return self.children.get(None, [])

    def runs(self) -> list[tuple[str, int]]:
        """The runs (trace id, run number) that wrote this thread, oldest first."""
        seen: dict[str, int] = {}
        for c in sorted(self.checkpoints.values(), key=lambda c: c.checkpoint_id):
            if c.trace_id:
                seen.setdefault(c.trace_id, c.run)
        return sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))

    def for_trace(self, trace_id: str) -> list[Checkpoint]:
        """The checkpoints one run wrote, oldest first."""
        return sorted((c for c in self.checkpoints.values() if c.trace_id == trace_id), key=lambda c: c.checkpoint_id)

    def walk(self) -> list[tuple[int, Checkpoint]]:
        """Depth-first (depth, checkpoint), oldest child first: the tree as an indented list."""
        out: list[tuple[int, Checkpoint]] = []
        stack = [(0, cid) for cid in reversed(self.roots)]
        while stack:
            depth, cid = stack.pop()
            out.append((depth, self.checkpoints[cid]))
            kids = self.children.get(cid, [])
            # a checkpoint with several children is a fork point: its branches are indented
            inner = depth + 1 if len(kids) > 1 else depth
            stack.extend((inner, k) for k in reversed(kids))
        return out

    def start(self, checkpoint_id: str | None) -> Checkpoint:
        """The checkpoint a replay starts from: the one named, else the latest. LookupError naming the choices."""
        if checkpoint_id is None:
            return max(self.checkpoints.values(), key=lambda c: c.checkpoint_id)
        if checkpoint_id not in self.checkpoints:
            raise LookupError(
                f"thread {self.thread_id} has no checkpoint {checkpoint_id}; its checkpoints: "
                f"{', '.join(c.checkpoint_id for _, c in self.walk())}"
            )
        return self.checkpoints[checkpoint_id]

    def prompts_at_defaults(self) -> dict[str, str]:
        """Every agent's built-in prompt template (fallback agents included)."""
        wf = get_workflow(self.workflow)
        return {name: wf.agent(name).prompt.template for name in agent_names(wf)}

    def prompts_at(self, checkpoint_id: str) -> dict[str, str]:
        """Every agent's prompt template in force at this checkpoint (defaults + the run's overrides)."""
        return {**self.prompts_at_defaults(), **self.checkpoints[checkpoint_id].prompt_overrides}


def _missing(checkpoint_db: str | Path) -> bool:
    """A SQLite checkpoint file that does not exist (looking must not create it)."""
    return not is_postgres(checkpoint_db) and not Path(checkpoint_db).exists()


def _overrides(meta: Mapping[str, Any]) -> dict[str, str]:
    raw = meta.get(META_PROMPTS)
    if not raw:
        return {}
    try:
        data = json.loads(str(raw))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def checkpoint_tree(checkpoint_db: str | Path, thread_id: str, workflow: str | None = None) -> ThreadHistory:
    """The thread's checkpoints as a tree. LookupError when the thread has none. The workflow's code is
    found from the reference in the checkpoints; `workflow` (a name or MODULE:ATTR) overrides it."""
    if _missing(checkpoint_db):
        raise LookupError(f"no checkpoint file at {checkpoint_db}")
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    with open_checkpointer(checkpoint_db) as saver:
        first = saver.get_tuple(config)
        if first is None:
            raise LookupError(f"no thread {thread_id} in {checkpoint_db}")
        workflow = workflow or ref_in(first.metadata or {})
        if not workflow:
            raise LookupError(f"thread {thread_id} was not written by the agentdeck engine (no workflow name)")
        graph = get_workflow(workflow).build().compile(checkpointer=saver)
        snapshots = list(graph.get_state_history(config))
    return history_of(ThreadHistory(thread_id, workflow, "", {}), snapshots)


def history_of(history: ThreadHistory, snapshots: Iterable[StateSnapshot]) -> ThreadHistory:
    """Fill `history` with a thread's state snapshots (from any compiled graph's get_state_history)."""
    task_id = history.task_id
    for snap in snapshots:
        meta = dict(snap.metadata or {})
        cid = str(snap.config["configurable"]["checkpoint_id"])
        parent = snap.parent_config["configurable"].get("checkpoint_id") if snap.parent_config else None
        task_id = task_id or str(meta.get(META_TASK_ID, ""))
        history.checkpoints[cid] = Checkpoint(
            checkpoint_id=cid,
            parent_id=str(parent) if parent else None,
            step=int(str(meta.get("step", -1))),
            source=str(meta.get("source", "")),
            next_nodes=tuple(snap.next),
            trace_id=str(meta.get(META_TRACE_ID, "")),
            run=int(str(meta.get(META_RUN, 1))),
            created_at=str(snap.created_at or ""),
            values=dict(snap.values or {}),
            prompt_overrides=_overrides(meta),
        )
    history.task_id = task_id or history.thread_id
    nodes = history.checkpoints
    for cid in sorted(nodes):
        parent = nodes[cid].parent_id
        history.children.setdefault(parent if parent in nodes else None, []).append(cid)
    return history


def thread_of_trace(checkpoint_db: str | Path, trace_id: str) -> str | None:
    """The thread a run (trace) of the engine wrote, or None when no checkpoint names it."""
    if _missing(checkpoint_db):
        return None
    with open_checkpointer(checkpoint_db) as saver:
        for t in saver.list(None, filter={META_TRACE_ID: trace_id}, limit=1):
            return str(t.config["configurable"]["thread_id"])
    return None


@dataclass(frozen=True, slots=True)
class FailedTask:
    task_id: str
    thread_id: str
    trace_id: str
    workflow: str
    outcome: str
    detail: str
    dead_letter_agent: str | None


def failed_tasks(checkpoint_db: str | Path, limit: int = 200) -> list[FailedTask]:
    """Tasks whose last recorded outcome was not a success, with their dead letter's agent, newest first."""
    if _missing(checkpoint_db):
        return []
    ledger = Ledger(checkpoint_db)
    try:
        letters = {d.task_id: d for d in ledger.dead_letters()}
        return [
            FailedTask(
                t.task_id,
                t.thread_id,
                t.trace_id,
                t.workflow,
                t.outcome,
                t.detail,
                letters[t.task_id].agent if t.task_id in letters else None,
            )
            for t in ledger.tasks(exclude_outcome="success", limit=limit)
        ]
    finally:
        ledger.close()
