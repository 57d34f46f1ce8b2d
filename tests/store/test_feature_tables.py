"""The tables scores, datasets and experiments need, through the seam: refused until the feature
creates its table, then written and read back by trace / dataset."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from agentdeck.collector.store.duckdb.span_store import DuckDBStore


def test_scores_and_datasets_wait_for_their_tables_then_round_trip(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    session = store.session()
    try:
        scores = pa.table({"id": [1, 2], "trace_id": ["a" * 32, "b" * 32], "name": ["helpful", "helpful"]})
        assert session.read_scores(["a" * 32]).num_rows == 0 and "scores" not in store.tables()
        with pytest.raises(NotImplementedError, match="no scores table"):
            session.write_scores(scores)
        with pytest.raises(NotImplementedError, match="no dataset_items table"):
            session.write_dataset_items("golden", pa.table({"dataset": ["golden"]}))
        store.conn.execute("CREATE TABLE scores (id BIGINT, trace_id VARCHAR, name VARCHAR)")  # the feature's DDL
        store.conn.execute("CREATE TABLE dataset_items (dataset VARCHAR, input VARCHAR)")
        session.write_scores(scores)
        session.write_dataset_items("golden", pa.table({"dataset": ["golden", "other"], "input": ["q1", "q2"]}))
        assert session.read_scores(["b" * 32]).column("name").to_pylist() == ["helpful"]
        assert session.read_dataset_items("golden").column("input").to_pylist() == ["q1"]
        assert "scores" in store.tables()  # so `agentdeck store copy` moves them
    finally:
        session.close()
        store.close()
