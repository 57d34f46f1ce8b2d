"""Worker tests: a real PostgreSQL (the shared `postgres_url` fixture) and workers as subprocesses."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/workers/" in str(item.fspath) and "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.slow)
