"""The acknowledgement record: how many spans this store has acknowledged to clients, kept beside
the DuckDB file (`<db>.ack`), so that damage to the file or its write-ahead log is never silent.

DuckDB replays a truncated WAL up to the cut, and a WAL of random bytes not at all, without an
error: the spans in the lost part are simply gone (measured: a WAL cut to a third kept 10,000 of
30,000 rows). The record is rewritten in place after every commit (one `pwrite` of 54 bytes, no
fsync: it is written after DuckDB has synced the commit, so it can lag behind the file after a
machine crash but never run ahead of it). At start, `check_acknowledged` opens the file read-only
(which replays the WAL without consuming it) and refuses to go on when it holds fewer spans than
the record says were acknowledged, naming what to do.

The record carries the store's id (a random id in its `meta` table), so a record left beside a file
that was deleted or replaced on purpose is recognized as stale and rewritten.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

log = logging.getLogger(__name__)

_FORMAT: Final = re.compile(rb"([0-9a-f]{32}) ([0-9]{20})\n")


@dataclass(frozen=True, slots=True)
class Acknowledged:
    store_id: str
    spans: int


def ack_path(db_path: str) -> Path:
    return Path(db_path + ".ack")


def wal_path(db_path: str) -> Path:
    return Path(db_path + ".wal")


def read_record(db_path: str) -> Acknowledged | None:
    """The record beside `db_path`, or None when there is none (or it is unreadable: logged)."""
    path = ack_path(db_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read %s (%s); damage to the store cannot be checked at this start", path, exc)
        return None
    match = _FORMAT.fullmatch(raw)
    if match is None:
        log.warning("%s is not an acknowledgement record; it is rewritten", path)
        return None
    return Acknowledged(store_id=match.group(1).decode("ascii"), spans=int(match.group(2)))


class RecordWriter:
    """Rewrites the record in place (fixed size: one pwrite, the file never grows)."""

    def __init__(self, db_path: str) -> None:
        self.path = ack_path(db_path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def write(self, record: Acknowledged) -> None:
        data = f"{record.store_id} {record.spans:020d}\n".encode("ascii")
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def close(self) -> None:
        os.close(self._fd)


def stored_facts(conn: duckdb.DuckDBPyConnection) -> tuple[str | None, int]:
    """(store id, spans) of an open file; (None, 0) when it has no tables yet."""
    tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    store_id = None
    if "meta" in tables:
        rows = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchall()
        store_id = str(rows[0][0]) if rows else None
    count = 0
    if "spans" in tables:
        count = int(conn.execute("SELECT count(*) FROM spans").fetchall()[0][0])
    return store_id, count


def shortfall_message(db_path: str, record: Acknowledged, readable: int) -> str:
    """What to tell the user when the file holds fewer spans than were acknowledged."""
    wal, ack = wal_path(db_path), ack_path(db_path)
    where = (
        f"its write-ahead log {wal} ({wal.stat().st_size:,} bytes) is truncated or corrupt"
        if wal.exists()
        else "the file was truncated, damaged or replaced by an older copy"
    )
    return (
        f"{db_path} is damaged: it holds {readable:,} spans but {record.spans:,} were acknowledged to clients "
        f"(recorded in {ack}); {where}. Nothing was changed. First copy the damaged files aside "
        f"(cp {db_path} {wal} <a backup folder>). Then, to go on with the {readable:,} readable spans, "
        f"move the record aside (mv {ack} {ack}.damaged) and start again: the collector keeps what the file "
        f"and its log still hold; or, to start with an empty store, move {db_path}, {wal} and {ack} aside."
    )


def unreadable_message(db_path: str, error: BaseException) -> str:
    """What to tell the user when DuckDB cannot read the file at all."""
    first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
    wal = wal_path(db_path)
    return (
        f"{db_path} is damaged and cannot be read ({first}). Nothing was changed. Move it aside "
        f"(mv {db_path} {db_path}.damaged{f'; mv {wal} {db_path}.damaged.wal' if wal.exists() else ''}) "
        f"and start again to begin with an empty store; restore it from a backup if you have one. "
        f"A file cut short cannot be read by DuckDB, so nothing is recovered from it automatically."
    )
