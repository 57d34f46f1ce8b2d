"""What a named query is: its parameters and a function that writes its SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from agentdeck.collector.store.duckdb.queries.sql import Binder
from agentdeck.collector.store.query_params import Args, Param

MAX_ROWS: Final = 5_000
MAX_BUCKETS: Final = 500


@dataclass(frozen=True, slots=True)
class QuerySpec:
    name: str
    description: str
    params: tuple[Param, ...]
    # Writes the SQL (ending in ORDER BY, without LIMIT) and binds its values on the Binder.
    build: Callable[[Args, Binder], str]
    # Rows answered at most; `limit_param` names a parameter that lowers it (and `offset` pages).
    max_rows: int = MAX_ROWS
    limit_param: str | None = None
    # True when the SQL pages itself with $row_limit / $row_offset (else LIMIT is appended).
    pages_in_sql: bool = False

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "max_rows": self.max_rows,
            "params": [p.describe() for p in self.params],
        }


def limit_param(default: int, maximum: int = MAX_ROWS) -> Param:
    return Param("limit", "int", "rows per page", default, minimum=1, maximum=maximum)


OFFSET: Final = Param("offset", "int", "rows to skip (paging)", 0, minimum=0, maximum=10_000_000)
