"""Shared fixtures: free ports, a real collector, the sample data, a real Chromium and a real PostgreSQL.

Browser tests (marker `browser`) need Debian's chromium at /usr/bin/chromium. Without it they are
skipped with a message saying how to install it, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import streamlit.config

from agentdeck.cli.launch import CHROMIUM_ARGS

# Tests never call the real Anthropic API: the engine would pick it when a key is set.
os.environ.pop("ANTHROPIC_API_KEY", None)
# AppTest leaves server.address unset, which the dashboard's login treats as "every interface" and
# so requires a password; the page tests run as `agentdeck dashboard` does, on loopback. Tests of the
# login itself set their own address and password.
streamlit.config.set_option("server.address", "127.0.0.1")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_traces"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the
    # whole session (the `browser` fixture), and `asyncio.run` refuses to start under it, so a test that
    # runs after the first browser test could not call agentdeck.arun or enqueue tasks as a user would.
    items.sort(key=lambda item: "browser" in item.keywords)  # stable: the order within each part stays
    if CHROMIUM:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        # Under CI the browser tests must run: let them fail loudly in the fixture.
        return
    skip = pytest.mark.skip(reason="no chromium: apt-get install chromium (scripts/test does this as root)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM:
        pytest.fail("CI=true but chromium is missing: apt-get install chromium (scripts/test installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def sample_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real collector on a free port with sample_traces/ loaded through its ingest path."""
    from agentdeck.cli.otlp_files import find_files, load_files
    from agentdeck.collector.config import CollectorConfig
    from agentdeck.collector.server import CollectorServer

    db = tmp_path_factory.mktemp("sample-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        result = load_files(find_files([SAMPLES]), f"{server.url}/v1/traces", shift_to_now=True)
        assert result.spans_sent > 0 and result.spans_rejected == 0
        yield server.url


@contextmanager
def streamlit_server(env: dict[str, str | None], log: Path, app: Path | None = None) -> Iterator[str]:
    """A real Streamlit server (as `agentdeck dashboard` starts it) on a free port; `env` entries are
    added to the environment, or removed from it when None."""
    from agentdeck.cli.launch import APP_PATH, streamlit_command, wait_until_ok

    port = free_port()
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            streamlit_command("127.0.0.1", port, app or APP_PATH),
            env=merged,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ok(f"{url}/_stcore/health", 60, is_alive=lambda: proc.poll() is None):
            pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def dashboard_url(sample_collector: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard reading from `sample_collector`."""
    log = tmp_path_factory.mktemp("dashboard-log") / "streamlit.log"
    with streamlit_server({"AGENTDECK_COLLECTOR_URL": sample_collector}, log) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL for the session (tests/postgres_server.py); skipped when none is installed."""
    from tests.postgres_server import PostgresUnavailable, running_postgres

    with ExitStack() as stack:
        try:
            url = stack.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            pytest.skip(str(exc))
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the test PostgreSQL, for one test."""
    from tests.postgres_server import new_database

    global _pg_databases
    _pg_databases += 1
    return new_database(postgres_server, f"t{os.getpid()}_{_pg_databases}")


_pg_databases = 0
