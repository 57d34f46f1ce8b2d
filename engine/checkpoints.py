"""Checkpointers: LangGraph's SqliteSaver on a WAL file by default, PostgresSaver for a postgres URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver


def is_postgres(target: str | Path) -> bool:
    return str(target).startswith(("postgres://", "postgresql://"))


def sqlite_connection(path: str | Path) -> sqlite3.Connection:
    """A connection shared across threads (SqliteSaver serialises its use with its own lock)."""
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@contextmanager
def open_checkpointer(target: str | Path) -> Iterator[BaseCheckpointSaver[str]]:
    """SqliteSaver for a file path, PostgresSaver for a postgres:// URL; closed on exit."""
    if is_postgres(target):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError:
            raise RuntimeError(
                "a postgres checkpoint URL needs the postgres extra: pip install 'agentdeck[postgres]'"
            ) from None
        with PostgresSaver.from_conn_string(str(target)) as saver:
            saver.setup()
            yield saver
        return
    path = Path(target)
    if not path.parent.exists():
        raise FileNotFoundError(
            f"directory {path.parent} does not exist: create it or choose another path for {path.name}"
        )
    conn = sqlite_connection(path)
    try:
        sqlite_saver = SqliteSaver(conn)
        sqlite_saver.setup()
        yield sqlite_saver
    finally:
        conn.close()
