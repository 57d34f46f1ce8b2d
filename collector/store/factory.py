"""Open the span store a URL names (`store.url`): the one place that knows every implementation.

DuckDB is built in. The ClickHouse stores (`clickhouse://`, `clickhouses://`, `chdb://`) live in
`agentdeck.collector.store.clickhouse`, imported only when asked for, with the optional extra
`agentdeck[clickhouse]`; that package provides `open_store(url, *, memory_limit_mb) -> SpanStore`.
"""

from __future__ import annotations

import importlib
from typing import cast

from agentdeck.collector.store.base import SpanStore, StoreError, StoreSession
from agentdeck.collector.store.url import StoreURL

_CLICKHOUSE_MODULE = "agentdeck.collector.store.clickhouse"


def open_store(url: StoreURL, *, memory_limit_mb: int | None = None, checkpoint_mb: int | None = None) -> SpanStore:
    """The store for `url`, open and migrated. Raises StoreError saying what to fix."""
    if url.scheme == "duckdb":
        from agentdeck.collector.store.duckdb.span_store import DuckDBStore
        from agentdeck.collector.store.duckdb.store import CHECKPOINT_MB

        return DuckDBStore(
            url.path,
            memory_limit_mb=memory_limit_mb,
            checkpoint_mb=CHECKPOINT_MB if checkpoint_mb is None else checkpoint_mb,
        )
    try:
        module = importlib.import_module(_CLICKHOUSE_MODULE)
    except ImportError as exc:
        if exc.name is not None and exc.name != _CLICKHOUSE_MODULE and not exc.name.startswith(_CLICKHOUSE_MODULE):
            missing = f" (missing: {exc.name})"
        else:
            missing = ""
        raise StoreError(
            f"{url.display()}: the {url.scheme}:// store needs the ClickHouse extra{missing}: "
            "pip install 'agentdeck[clickhouse]'"
        ) from None
    opener = getattr(module, "open_store", None)
    if opener is None:
        raise StoreError(f"{url.display()}: the {url.scheme}:// store is not available in this version of agentdeck")
    store: SpanStore = opener(url, memory_limit_mb=memory_limit_mb)
    return store


def open_reader(url: StoreURL) -> StoreSession:
    """A read-only session on the store (`alerts check --store`): a DuckDB file is opened read-only,
    so it must not be held by a running collector. Closing the session releases the store."""
    if url.scheme == "duckdb":
        from agentdeck.collector.store.duckdb.session import open_read_only

        return open_read_only(url.path)
    store = open_store(url)
    return cast(StoreSession, _OwningSession(store))


class _OwningSession:
    """A store's session that closes the store with it."""

    def __init__(self, store: SpanStore) -> None:
        self._store = store
        self._session = store.session()

    def __getattr__(self, name: str) -> object:
        return getattr(self._session, name)

    def close(self) -> None:
        try:
            self._session.close()
        finally:
            self._store.close()
