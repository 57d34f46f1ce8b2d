"""`agentdeck store copy` from a DuckDB file into ClickHouse (chdb): the spans arrive once (a second
copy adds nothing), the target answers the named queries as the source, and the alerts the
ClickHouse store cannot hold yet are reported, not silently dropped."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.collector.store.clickhouse import open_store
from agentdeck.collector.store.url import parse_store_url
from tests.store.store_fixture import Fixture, close, fill

pytest.importorskip("chdb")


def copy(src: Path, dst: Path, progress: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdeck", "store", "copy", "--from", f"duckdb://{src}", "--to", f"chdb://{dst}",
         "--batch", "2000", "--progress-file", str(progress)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_duckdb_file_copied_into_clickhouse_answers_the_same(tmp_path: Path, fixture_data: Fixture) -> None:
    source = fill("duckdb", tmp_path / "src", fixture_data)
    spans = source.store.count()
    want = {q: source.session.run_query(q, source.range, timeout_s=60).to_pylist() for q in ("overview", "facets")}
    close(source)
    first = copy(tmp_path / "src" / "spans.duckdb", tmp_path / "ch", tmp_path / "p1.json")
    assert first.returncode == 0, first.stderr
    assert f"spans: {spans:,} of {spans:,} read, {spans:,} added" in first.stderr
    again = copy(tmp_path / "src" / "spans.duckdb", tmp_path / "ch", tmp_path / "p2.json")
    assert again.returncode == 0, again.stderr
    assert f"{spans:,} read, 0 added" in again.stderr  # nothing twice
    target = open_store(parse_store_url(f"chdb://{tmp_path / 'ch'}"))
    try:
        assert target.count() == spans
        params = {"start_ns": str(fixture_data.start_ns), "end_ns": str(fixture_data.end_ns)}
        for name, rows in want.items():
            got = target.run_query(name, params).to_pylist()
            assert len(got) == len(rows)
            for g, w in zip(got, rows, strict=True):
                assert g.keys() == w.keys()
                assert all(close_to(g[k], w[k]) for k in w), (name, g, w)
    finally:
        target.close()


def close_to(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b
