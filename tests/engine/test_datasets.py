"""Datasets: JSONL items with their bad lines named, versions that never change what was saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.engine.datasets import DatasetStore, Item, items_from_jsonl


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_jsonl_file_gives_items_and_names_its_bad_lines(tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "items.jsonl",
        [
            json.dumps({"id": "a", "input": {"q": 1}, "expected": "yes"}),
            json.dumps({"input": {"q": 2}}),
            "{not json",
            json.dumps({"id": "c", "input": "text"}),
            json.dumps({"id": "d", "input": {}, "answer": 3}),
        ],
    )
    items, errors = items_from_jsonl(f)
    assert [(i.item_id, i.input, i.expected) for i in items] == [("a", {"q": 1}, "yes"), ("2", {"q": 2}, None)]
    assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5"]
    assert "unknown field(s) answer" in errors[2]


def test_a_dataset_made_again_is_a_new_version_and_the_old_one_is_unchanged(tmp_path: Path) -> None:
    with DatasetStore(tmp_path / "cp.sqlite") as store:
        v1 = store.create("failures", "triage", "file a", [Item("t1", {"x": 1}), Item("t2", {"x": 2}, "ok")])
        v2 = store.create("failures", "triage", "file b", [Item("t1", {"x": 100})])
        assert (v1.version, v2.version) == (1, 2)
        assert [(d.name, d.version) for d in store.latest()] == [("failures", 2)]
    with DatasetStore(tmp_path / "cp.sqlite") as store:  # read back from the file
        old = store.get("failures", 1)
        assert [(i.item_id, i.input, i.expected) for i in old.items] == [("t1", {"x": 1}, None), ("t2", {"x": 2}, "ok")]
        assert [i.input for i in store.get("failures").items] == [{"x": 100}]
        with pytest.raises(KeyError, match="has no version 3; its versions: 1, 2"):
            store.get("failures", 3)
        with pytest.raises(KeyError, match="no dataset 'other'; datasets: failures"):
            store.get("other")


def test_a_dataset_refuses_repeated_ids_and_emptiness(tmp_path: Path) -> None:
    with DatasetStore(tmp_path / "cp.sqlite") as store:
        with pytest.raises(ValueError, match="item id 'a' appears twice"):
            store.create("d", "", "x", [Item("a", {}), Item("a", {})])
        with pytest.raises(ValueError, match="would hold no item"):
            store.create("d", "", "x", [])
        assert store.latest() == []
