"""The small SQLite stores that live beside the checkpoints (ledger, prompt versions).

One file per store, opened in WAL mode so the engine, the dashboard and the CLI can use it at
the same time; one connection per store object, shared by threads under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import ClassVar, Self


class SqliteStore:
    SCHEMA: ClassVar[str] = ""  # CREATE TABLE IF NOT EXISTS ... run on open

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise FileNotFoundError(
                f"directory {self.path.parent} does not exist: create it or choose another path for {self.path.name}"
            )
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(self.SCHEMA)
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
