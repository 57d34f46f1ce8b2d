"""Tasks files (agentdeck.engine.tasks_file): what becomes a task, its id, and each bad line's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.engine.tasks_file import read_tasks


def test_jsonl_ids_line_numbers_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "q": 1}\n\n{"q": 2}\n{"id": "a", "q": 3}\n{"id": "", "q": 4}\n{"id": "z"}\n')
    found = read_tasks(path, ["q"])
    assert [(t.task_id, t.state) for t in found.tasks] == [("a", {"q": 1}), ("3", {"q": 2}), ("5", {"q": 4})]
    assert found.errors == ["line 4: task id 'a' repeats an earlier line's", "line 6: no fields besides the id"]


def test_csv_with_a_byte_order_mark_and_quoted_commas(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('\ufeffid,q\nx,"one, two"\n\n,three\n', encoding="utf-8")
    found = read_tasks(path, None)
    assert [(t.task_id, t.state) for t in found.tasks] == [("x", {"q": "one, two"}), ("4", {"q": "three"})]
    assert found.errors == []


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("t.txt", "{}", "a tasks file is .jsonl"),
        ("t.csv", "\n", "no header row"),
    ],
)
def test_a_file_that_cannot_hold_tasks(tmp_path: Path, name: str, text: str, says: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=says):
        read_tasks(path, None)
