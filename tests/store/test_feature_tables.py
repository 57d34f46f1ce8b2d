"""The tables scores, datasets and experiments need, through the seam: scores (the collector's
`/api/scores`) are made with the store and keep their ids across `store copy`; a dataset table is
refused until its feature creates it, then written and read back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from agentdeck.collector.store.duckdb.span_store import DuckDBStore
from agentdeck.collector.store.scores import COLUMNS, NewScore


def _score(trace: str, name: str, at: int) -> NewScore:
    return NewScore(trace * 32, None, name, 1.0, "", "human", at)


def test_scores_are_written_and_read_through_the_seam_and_copied_ids_never_collide(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    session = store.session()
    try:
        assert "scores" in store.tables()  # so `agentdeck store copy` moves them
        assert session.read_scores().num_rows == 0
        first = session.add_scores([_score("a", "helpful", 1), _score("b", "helpful", 2)])
        assert session.read_scores(trace_id="b" * 32).column("name").to_pylist() == ["helpful"]
        assert session.read_scores().column_names == list(COLUMNS)
        row = {"id": first[-1] + 10, "trace_id": "c" * 32, "span_id": None, "name": "ok", "value": 0.0}
        copied = pa.Table.from_pylist([{**row, "comment": "", "source": "code", "created_ns": 3}])
        store.append("scores", copied)
        [later] = session.add_scores([_score("d", "helpful", 4)])
        assert later > first[-1] + 10  # past the copied row's id
        assert [r["trace_id"][0] for r in session.read_scores().to_pylist()] == ["d", "c", "b", "a"]
    finally:
        session.close()
        store.close()


def test_datasets_wait_for_their_table_then_round_trip(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    session = store.session()
    try:
        with pytest.raises(NotImplementedError, match="no dataset_items table"):
            session.write_dataset_items("golden", pa.table({"dataset": ["golden"]}))
        store.conn.execute("CREATE TABLE dataset_items (dataset VARCHAR, input VARCHAR)")  # the feature's DDL
        session.write_dataset_items("golden", pa.table({"dataset": ["golden", "other"], "input": ["q1", "q2"]}))
        assert session.read_dataset_items("golden").column("input").to_pylist() == ["q1"]
    finally:
        session.close()
        store.close()
