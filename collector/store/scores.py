"""Scores in the collector's store: a value given to a trace (or one span of it) by a person, by code or
by an LLM judge, with a name, an optional comment and when it was given.

Behind a small interface (`ScoreStore`) so the store seam (`SpanStore`) can take it over with its other
tables; `DuckDBScores` is the implementation on the collector's DuckDB file. Every function takes a
cursor (the API's query gate hands one out) and binds every value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import duckdb
import pyarrow as pa

SOURCES: Final = ("human", "code", "llm-judge")
MAX_NAME: Final = 200
MAX_COMMENT: Final = 4000

_DDL: Final = (
    "CREATE SEQUENCE IF NOT EXISTS scores_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS scores (
    id BIGINT PRIMARY KEY DEFAULT nextval('scores_id_seq'),
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR,
    name VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    comment VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    created_ns BIGINT NOT NULL
)""",
)
COLUMNS: Final = ("id", "trace_id", "span_id", "name", "value", "comment", "source", "created_ns")


@dataclass(frozen=True, slots=True)
class NewScore:
    trace_id: str  # 32 lowercase hex
    span_id: str | None  # 16 lowercase hex, or None for the whole trace
    name: str
    value: float
    comment: str
    source: str  # human | code | llm-judge
    created_ns: int


def check(score: NewScore) -> str | None:
    """What is wrong with a score, or None."""
    if len(score.trace_id) != 32 or any(c not in "0123456789abcdef" for c in score.trace_id):
        return f"trace_id {score.trace_id[:40]!r} is not 32 hex characters"
    if score.span_id is not None and (
        len(score.span_id) != 16 or any(c not in "0123456789abcdef" for c in score.span_id)
    ):
        return f"span_id {score.span_id[:40]!r} is not 16 hex characters"
    if not score.name.strip() or len(score.name) > MAX_NAME:
        return f"name must be 1 to {MAX_NAME} characters"
    if not math.isfinite(score.value):
        return "value must be a finite number"
    if len(score.comment) > MAX_COMMENT:
        return f"comment is longer than {MAX_COMMENT} characters"
    if score.source not in SOURCES:
        return f"source {score.source[:40]!r} is not one of {', '.join(SOURCES)}"
    return None


class ScoreStore(Protocol):
    def add(self, conn: duckdb.DuckDBPyConnection, scores: Sequence[NewScore]) -> list[int]: ...

    def read(
        self,
        conn: duckdb.DuckDBPyConnection,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        source: str | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> pa.Table: ...


class DuckDBScores:
    def ensure(self, conn: duckdb.DuckDBPyConnection) -> None:
        for stmt in _DDL:
            conn.execute(stmt)

    def add(self, conn: duckdb.DuckDBPyConnection, scores: Sequence[NewScore]) -> list[int]:
        """Insert the scores in one transaction; their ids."""
        self.ensure(conn)
        ids: list[int] = []
        conn.execute("BEGIN TRANSACTION")
        try:
            for s in scores:
                row = conn.execute(
                    "INSERT INTO scores (trace_id, span_id, name, value, comment, source, created_ns)"
                    " VALUES ($t, $s, $n, $v, $c, $src, $at) RETURNING id",
                    {"t": s.trace_id, "s": s.span_id, "n": s.name, "v": s.value, "c": s.comment,
                     "src": s.source, "at": s.created_ns},
                ).fetchone()  # fmt: skip
                assert row is not None
                ids.append(int(row[0]))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return ids

    def read(
        self,
        conn: duckdb.DuckDBPyConnection,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        source: str | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> pa.Table:
        """Scores, newest first, filtered by whichever of trace, name, source and time are given."""
        self.ensure(conn)
        where: list[str] = []
        params: dict[str, object] = {"limit": limit}
        for key, value, cond in (
            ("trace_id", trace_id, "trace_id = $trace_id"),
            ("name", name, "name = $name"),
            ("source", source, "source = $source"),
            ("since", since_ns, "created_ns >= $since"),
        ):
            if value is not None:
                where.append(cond)
                params[key] = value
        sql = f"SELECT {', '.join(COLUMNS)} FROM scores"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return conn.sql(sql + " ORDER BY created_ns DESC, id DESC LIMIT $limit", params=params).to_arrow_table()
