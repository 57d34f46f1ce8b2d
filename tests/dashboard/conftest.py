"""Fixtures for the dashboard page tests: a real collector with seeded traces, and AppTest runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.dashboard.otlp_seed import seed

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def seeded_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("dashboard-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        seed(server.url)
        yield server.url


@pytest.fixture(scope="module")
def empty_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("empty-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        yield server.url


AppRunner = Callable[..., AppTest]


def _runner(url: str) -> AppRunner:
    def run(page: str | None = None, **query: str) -> AppTest:
        """Run the app like a browser opening `/<page>?<query>` against the collector at `url`."""
        os.environ["AGENTDECK_COLLECTOR_URL"] = url
        os.environ["AGENTDECK_DASHBOARD_REFRESH_S"] = "0"
        at = AppTest.from_file(APP, default_timeout=30)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(f"views/{page}.py")
            for key, value in query.items():
                at.query_params[key] = value
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


@pytest.fixture
def app(seeded_collector: str) -> Iterator[AppRunner]:
    saved = {k: os.environ.get(k) for k in ("AGENTDECK_COLLECTOR_URL", "AGENTDECK_DASHBOARD_REFRESH_S")}
    yield _runner(seeded_collector)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def app_at() -> Iterator[Callable[[str], AppRunner]]:
    """An app runner against a collector URL of the test's choosing."""
    saved = {k: os.environ.get(k) for k in ("AGENTDECK_COLLECTOR_URL", "AGENTDECK_DASHBOARD_REFRESH_S")}
    yield _runner
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
