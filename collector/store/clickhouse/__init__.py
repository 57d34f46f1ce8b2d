"""The span store on ClickHouse: a server over HTTP (clickhouse-connect) or the engine in-process
(chdb). Both are optional (`pip install 'agentdeck[clickhouse]'`) and imported only when a
`clickhouse://`, `clickhouses://` or `chdb://` store is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.collector.store.clickhouse.store import ClickHouseStore
    from agentdeck.collector.store.url import StoreURL


def open_store(url: StoreURL, *, memory_limit_mb: int | None = None) -> ClickHouseStore:
    """The ClickHouse store a `chdb://`, `clickhouse://` or `clickhouses://` URL names, its schema
    created or moved forward. Raises StoreError saying what to fix (a missing extra, an unreachable
    server, a newer schema). `memory_limit_mb` is DuckDB's; ClickHouse has its own server settings."""
    from agentdeck.collector.store.clickhouse.store import ClickHouseStore

    return ClickHouseStore(url)
