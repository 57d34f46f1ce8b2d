"""A reader's handle on the ClickHouse store (the seam's `StoreSession`): the named queries, with a
time limit ClickHouse enforces itself (`max_execution_time`).

Alert metrics, alert state, deliveries and scores are not on ClickHouse yet: those calls raise
`StoreError` saying so (the collector's alert evaluation needs a DuckDB store for now).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NoReturn

import pyarrow as pa

from agentdeck.collector.store.base import StoreError
from agentdeck.collector.store.clickhouse import queries
from agentdeck.collector.store.clickhouse.client import Client
from agentdeck.collector.store.clickhouse.reference import QueryError

_NOT_YET: Final = "is not available on a ClickHouse store yet: evaluate alerts against a DuckDB store (--db) for now"


class ClickHouseSession:
    def __init__(self, client: Client) -> None:
        self.client = client

    def run_query(self, name: str, params: Mapping[str, str], *, timeout_s: float | None = None) -> pa.Table:
        """A named query (collector/store/clickhouse/queries.py), stopped by ClickHouse after `timeout_s`."""
        sql, values, limit = queries.prepare(name, params)
        settings = dict(queries.SETTINGS)
        if timeout_s:
            settings["max_execution_time"] = timeout_s
        try:
            table = self.client.query_arrow(sql, values, settings=settings)
        except Exception as exc:
            if "TIMEOUT_EXCEEDED" in str(exc) or "QUERY_WAS_CANCELLED" in str(exc):
                raise QueryError(
                    503, f"query {name!r} took longer than {timeout_s or 0:g} s; narrow the time range or filters"
                ) from None
            raise
        return queries.plain(table, limit)

    def interrupt(self) -> None:
        """Nothing to stop between queries; a running one ends at its `max_execution_time`."""

    def close(self) -> None:
        """The session shares its store's client: nothing of its own to release."""

    def __getattr__(self, name: str) -> NoReturn:
        raise StoreError(f"{name} {_NOT_YET}")
