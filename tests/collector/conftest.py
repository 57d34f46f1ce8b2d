"""Collector fixtures: a real collector on a free port over a temporary DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "agentdeck.duckdb"


@pytest.fixture
def start_collector(db_path: Path) -> Iterator[Callable[..., CollectorServer]]:
    """Start a collector with settings overridden by keyword; all are stopped at teardown."""
    started: list[CollectorServer] = []

    def start(**overrides: object) -> CollectorServer:
        config = CollectorConfig(db_path=str(db_path), host="127.0.0.1", port=0).replace(**overrides)
        server = CollectorServer(config).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def collector(start_collector: Callable[..., CollectorServer]) -> CollectorServer:
    return start_collector()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15.0) as c:
        yield c
