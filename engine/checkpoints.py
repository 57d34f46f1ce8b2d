"""Checkpointers: LangGraph's SqliteSaver on a WAL file by default, PostgresSaver for a postgres URL.

PostgresSaver runs on a connection pool (`pool_size` connections), so a worker's concurrent tasks
write their checkpoints in parallel rather than one at a time through one connection.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
def open_checkpointer(target: str | Path, *, pool_size: int = 4) -> Iterator[BaseCheckpointSaver[str]]:
    """SqliteSaver for a file path, PostgresSaver for a postgres:// URL; closed on exit."""
    if is_postgres(target):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise RuntimeError(
                "a postgres checkpoint URL needs the postgres extra: pip install 'agentdeck[postgres]'"
            ) from None
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, "connect_timeout": 10}
        with ConnectionPool(
            str(target), min_size=1, max_size=max(pool_size, 1), kwargs=kwargs, open=True, timeout=30
        ) as pool:
            saver = PostgresSaver(pool)  # type: ignore[arg-type]
            with _setup_lock(str(target)):
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


@contextmanager
def _setup_lock(url: str) -> Iterator[None]:
    """One PostgresSaver.setup() at a time: workers starting together would race on its migrations."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn, advisory_lock(conn, 4242002):
        yield


@contextmanager
def advisory_lock(conn: Any, key: int) -> Iterator[None]:
    """A PostgreSQL session advisory lock, waited for by polling: a session blocked inside
    pg_advisory_lock is an open transaction, which the holder's CREATE INDEX CONCURRENTLY (in
    PostgresSaver's migrations) would wait for in turn, a deadlock."""
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        time.sleep(0.05)
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
