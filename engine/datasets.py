"""Datasets: named, versioned sets of tasks to run again (failed tasks from traces, or a JSONL file).

A dataset item keeps the task's input, the original trace and thread it came from (when it came from
a trace), what the original run did (outcome, cost, tokens, latency, output), and an optional
expected output. Datasets live beside the checkpoints (SQLite, by default the checkpoint file, like the
ledger and prompt versions). They are versioned: creating a dataset under a name that exists makes
its next version, and the items of a version are never changed afterwards, so an experiment always
says exactly which items it ran.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdeck.engine.checkpoints import is_postgres
from agentdeck.engine.record_store import RecordStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentdeck_datasets (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    source TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS agentdeck_dataset_items (
    dataset TEXT NOT NULL,
    version INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    input TEXT NOT NULL,
    expected TEXT,
    trace_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    original TEXT NOT NULL,
    PRIMARY KEY (dataset, version, item_id)
);
"""


@dataclass(frozen=True, slots=True)
class Original:
    """What the item's original run did (empty for items from a file)."""

    outcome: str = ""
    cost_usd: float = 0.0
    tokens: int = 0
    latency_ms: float = 0.0
    output: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
            "latency_ms": self.latency_ms,
            "output": self.output,
        }


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    input: dict[str, Any]
    expected: Any = None  # None: no expected output
    trace_id: str = ""  # the original run's trace ("" for items from a file)
    thread_id: str = ""  # the original run's checkpoint thread
    original: Original = Original()


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    version: int
    workflow: str  # the workflow reference its items belong to ("" when the file did not say)
    source: str  # what it was made from: the trace filter, or the file
    created_ns: int
    items: tuple[Item, ...]


class DatasetStore(RecordStore):
    """SQLite only for now (its statements use the sqlite3 connection directly)."""

    SCHEMA = _SCHEMA

    def __init__(self, location: str | Path) -> None:
        if is_postgres(location):
            raise ValueError(
                "datasets and experiments are kept in a SQLite checkpoint file for now: pass --checkpoint-db PATH "
                "(a postgresql:// location holds the workers' records, not these)"
            )
        super().__init__(location)

    def create(self, name: str, workflow: str, source: str, items: Sequence[Item]) -> Dataset:
        """Save `items` as the next version of dataset `name` (version 1 when it is new)."""
        if not name.strip() or "/" in name:
            raise ValueError(f"a dataset name is a non-empty word without '/', got {name!r}")
        if not items:
            raise ValueError(f"dataset {name} would hold no item: nothing matched")
        seen: set[str] = set()
        for item in items:
            if item.item_id in seen:
                raise ValueError(f"item id {item.item_id!r} appears twice; give every item its own id")
            seen.add(item.item_id)
        now = time.time_ns()
        with self._lock:
            row = self._conn.execute("SELECT max(version) FROM agentdeck_datasets WHERE name = ?", (name,)).fetchone()
            version = int(row[0] or 0) + 1
            self._conn.execute(
                "INSERT INTO agentdeck_datasets VALUES (?,?,?,?,?,?)",
                (name, version, workflow, source, now, len(items)),
            )
            self._conn.executemany(
                "INSERT INTO agentdeck_dataset_items VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        name,
                        version,
                        i.item_id,
                        n,
                        json.dumps(i.input, sort_keys=True, default=str),
                        None if i.expected is None else json.dumps(i.expected, default=str),
                        i.trace_id,
                        i.thread_id,
                        json.dumps(i.original.to_json(), default=str),
                    )
                    for n, i in enumerate(items)
                ],
            )
            self._conn.commit()
        return Dataset(name, version, workflow, source, now, tuple(items))

    def latest(self) -> list[Dataset]:
        """Every dataset's latest version (without items), by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, version, workflow, source, created_ns FROM agentdeck_datasets d"
                " WHERE version = (SELECT max(version) FROM agentdeck_datasets WHERE name = d.name) ORDER BY name"
            ).fetchall()
        return [Dataset(r[0], r[1], r[2], r[3], r[4], ()) for r in rows]

    def versions(self, name: str) -> list[int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT version FROM agentdeck_datasets WHERE name = ? ORDER BY version", (name,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def get(self, name: str, version: int | None = None) -> Dataset:
        """A dataset with its items (its latest version unless `version`); KeyError naming the choices."""
        versions = self.versions(name)
        if not versions:
            known = ", ".join(d.name for d in self.latest()) or "none yet"
            raise KeyError(f"no dataset {name!r}; datasets: {known}")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise KeyError(f"dataset {name} has no version {version}; its versions: {', '.join(map(str, versions))}")
        with self._lock:
            head = self._conn.execute(
                "SELECT workflow, source, created_ns FROM agentdeck_datasets WHERE name = ? AND version = ?",
                (name, chosen),
            ).fetchone()
            rows = self._conn.execute(
                "SELECT item_id, input, expected, trace_id, thread_id, original FROM agentdeck_dataset_items"
                " WHERE dataset = ? AND version = ? ORDER BY position",
                (name, chosen),
            ).fetchall()
        items = tuple(
            Item(
                r[0],
                json.loads(r[1]),
                None if r[2] is None else json.loads(r[2]),
                r[3],
                r[4],
                Original(**json.loads(r[5])),
            )
            for r in rows
        )
        return Dataset(name, chosen, head[0], head[1], head[2], items)


def items_from_jsonl(path: str | Path) -> tuple[list[Item], list[str]]:
    """Items of a JSONL file (`{"id": ..., "input": {...}, "expected": ...}`, `expected` optional) and
    its bad lines, each as `line N: what is wrong`. OSError when the file cannot be read."""
    items: list[Item] = []
    errors: list[str] = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {number}: not JSON ({exc.msg})")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("input"), dict):
                errors.append(
                    f'line {number}: wants {{"id": ..., "input": {{...}}, "expected": ...}} with input an object'
                )
                continue
            unknown = sorted(set(row) - {"id", "input", "expected"})
            if unknown:
                errors.append(f"line {number}: unknown field(s) {', '.join(unknown)} (id, input, expected)")
                continue
            items.append(Item(str(row.get("id") or number), dict(row["input"]), row.get("expected")))
    return items, errors


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One row of the collector's trace list (the `traces` named query) that an item is made from."""

    trace_id: str
    thread_id: str
    outcome: str
    cost_usd: float
    tokens: int
    duration_ms: float


def items_from_traces(rows: Iterable[TraceRow], checkpoint_db: str | Path) -> tuple[str, list[Item], list[str]]:
    """The workflow reference and the items of traces of the engine, read from their checkpoints (the
    input is the state at the run's first step, the original output its result at its last), and the
    traces that could not be used, each with the reason. Replays are the originals' branches, not tasks:
    a trace that is not its thread's first run is skipped."""
    from agentdeck.engine.replay.history import checkpoint_tree
    from agentdeck.engine.workflows import get_workflow

    items: list[Item] = []
    skipped: list[str] = []
    workflow = ""
    for row in rows:
        if not row.thread_id:
            skipped.append(f"trace {row.trace_id}: no checkpoint thread (not a run of the agentdeck engine)")
            continue
        try:
            history = checkpoint_tree(checkpoint_db, row.thread_id)
        except (LookupError, ValueError) as exc:
            skipped.append(f"trace {row.trace_id}: {exc}")
            continue
        first_run = history.runs()[0][0] if history.runs() else ""
        if first_run != row.trace_id:
            skipped.append(f"trace {row.trace_id}: a later run of thread {row.thread_id}, not the task itself")
            continue
        written = history.for_trace(row.trace_id)
        first = min(written, key=lambda c: (c.step < 0, c.step, c.checkpoint_id))
        wf = get_workflow(history.workflow)
        if workflow and history.workflow != workflow:
            skipped.append(f"trace {row.trace_id}: workflow {history.workflow}, not {workflow}")
            continue
        workflow = history.workflow
        original = Original(
            row.outcome or "unknown", row.cost_usd, row.tokens, row.duration_ms, written[-1].values.get(wf.result_key)
        )
        items.append(Item(history.task_id, dict(first.values), None, row.trace_id, row.thread_id, original))
    return workflow, items, skipped
