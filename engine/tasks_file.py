"""Task inputs a user brings: a JSONL or CSV file, one task per line (`agentdeck run --tasks-file`).

Each line is one task's initial state (the fields of the workflow's state it starts from). Its `id`
field, when present, is the task id (and checkpoint thread); otherwise its line number is. A line
that cannot be a task (not JSON, not an object, a field the workflow's state lacks, a repeated id)
is reported with its line number and the other lines still run, unless the caller is strict.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.engine.runner import TaskInput

ID_FIELD = "id"
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


@dataclass
class TasksFile:
    path: Path
    tasks: list[TaskInput] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "line N: what is wrong", in file order


def read_tasks(path: Path, fields: Iterable[str] | None = None) -> TasksFile:
    """The tasks in `path` and the bad lines' messages. `fields`: the workflow state's fields (a line's
    other keys are a mistake); None accepts any. OSError/ValueError for a file that cannot be read."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: a tasks file is .jsonl (one JSON object per line) or .csv (a header row)")
    text = path.read_text(encoding="utf-8-sig")
    out = TasksFile(path)
    known = set(fields) if fields is not None else None
    seen: set[str] = set()
    rows = _jsonl(text) if kind == "jsonl" else _csv(text)
    for line, row in rows:
        if isinstance(row, str):
            out.errors.append(f"line {line}: {row}")
            continue
        task_id = str(row.pop(ID_FIELD, "") or "").strip() or str(line)
        problem = _problem(row, known, task_id, seen)
        if problem:
            out.errors.append(f"line {line}: {problem}")
            continue
        seen.add(task_id)
        out.tasks.append(TaskInput(task_id, row))
    return out


def _problem(row: Mapping[str, Any], known: set[str] | None, task_id: str, seen: set[str]) -> str:
    if task_id in seen:
        return f"task id {task_id!r} repeats an earlier line's"
    if not row:
        return "no fields besides the id"
    if known is not None:
        unknown = sorted(set(row) - known)
        if unknown:
            return (
                f"field {', '.join(map(repr, unknown))} is not in the workflow's state "
                f"(its fields: {', '.join(sorted(known))})"
            )
    return ""


def _jsonl(text: str) -> list[tuple[int, dict[str, Any] | str]]:
    out: list[tuple[int, dict[str, Any] | str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            out.append((number, f"not JSON ({exc})"))
            continue
        out.append((number, value if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"))
    return out


def _csv(text: str) -> list[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ValueError("the CSV tasks file has no header row (the field names)")
    names = [h.strip() for h in header]
    out: list[tuple[int, dict[str, Any] | str]] = []
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            out.append((number, f"{len(row)} values for {len(names)} columns ({', '.join(names)})"))
            continue
        out.append((number, dict(zip(names, row, strict=True))))
    return out
