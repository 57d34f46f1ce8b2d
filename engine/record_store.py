"""The small record stores beside the checkpoints (ledger, prompt versions), in SQLite or PostgreSQL.

A location is a file path (SQLite in WAL mode, so the engine, the dashboard and the CLI can use it at
the same time) or a `postgresql://` URL (shared by every worker, the CLI and the dashboard). One
connection per store object, shared by threads under a lock. Stores write portable SQL with `?`
placeholders (translated for psycopg) and declare one schema per dialect.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from agentdeck.engine.checkpoints import is_postgres


class RecordStore:
    SCHEMA: ClassVar[str] = ""  # SQLite: CREATE TABLE IF NOT EXISTS ... run on open
    PG_SCHEMA: ClassVar[str] = ""  # the same tables in PostgreSQL

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self.postgres = is_postgres(location)
        self._lock = threading.Lock()
        self._conn: Any
        if self.postgres:
            self._conn = _pg_connect(self.location)
            with self._lock, self._conn.transaction():
                # one set-up at a time: concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL
                self._conn.execute("SELECT pg_advisory_xact_lock(4242001)")
                self._conn.execute(self.PG_SCHEMA)
            return
        self.path = Path(location)
        if not self.path.parent.exists():
            raise FileNotFoundError(
                f"directory {self.path.parent} does not exist: create it or choose another path for {self.path.name}"
            )
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(self.SCHEMA)
            self._conn.commit()

    @property
    def row_order(self) -> str:
        """The column that orders rows by insertion (SQLite's rowid; a serial column in PostgreSQL)."""
        return "seq" if self.postgres else "rowid"

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._conn.execute(self._sql(sql), tuple(args)).fetchall()]

    def write(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and commit; its rows (for `RETURNING`)."""
        with self._lock:
            cur = self._conn.execute(self._sql(sql), tuple(args))
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
            if not self.postgres:  # PostgreSQL connections autocommit
                self._conn.commit()
            return rows

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pg_connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise RuntimeError(
            "a postgresql:// location needs the postgres extra: pip install 'agentdeck[postgres]'"
        ) from None
    return psycopg.connect(url, connect_timeout=10, autocommit=True)
