"""Helpers for the collector tests."""

from __future__ import annotations

from pathlib import Path

import duckdb


def stored_rows(db_path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Rows from the DuckDB file (only once the collector has stopped)."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()
