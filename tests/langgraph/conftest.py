"""Fixtures for the LangGraph adapter: the fake Messages API, and the example app installed beside agentdeck.

The example (examples/langgraph_app) is installed with `pip install --no-deps --target`, the way a
user's project sits next to agentdeck, and run as a subprocess with that folder on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.engine.fake_anthropic import FakeAnthropic

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "langgraph_app"
# What the fake Messages API answers, by the JSON key a system prompt asks for.
ANSWERS = {
    "priority": {"priority": "high"},
    "answer": {"answer": "Invoice INV-1042 was paid twice; a refund is on its way."},
    "reply": {"reply": "Sorry about that: the double charge is being refunded."},
}
TICKETS = ("My parcel is late, where is it?", "Invoice INV-1042 was charged twice", "Cannot log in")
CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(ANSWERS) as fake:
        yield fake


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, pip-installed (no dependencies: agentdeck's are already here) into a folder."""
    target = tmp_path_factory.mktemp("example-site")
    build = tmp_path_factory.mktemp("example-build")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=build,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert (target / "support_graph" / "app.py").exists()
    return target


@dataclass(frozen=True)
class ExampleEnv:
    site: Path
    workdir: Path
    collector_url: str
    llm_url: str

    def env(self) -> dict[str, str]:
        """The environment a user of the example would set: collector, API endpoint and key, checkpoints."""
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.workdir),
            "PYTHONPATH": str(self.site),
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.collector_url,
            "ANTHROPIC_BASE_URL": self.llm_url,
            "ANTHROPIC_API_KEY": "test-key",
            "SUPPORT_GRAPH_DB": str(self.workdir / "support.sqlite"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=self.workdir, env=self.env(), capture_output=True, text=True, timeout=180
        )

    def agentdeck(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-c", CONSOLE_SCRIPT, *args)


@pytest.fixture(scope="module")
def example_env(
    example_site: Path, fake_llm: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExampleEnv]:
    """A real collector, and the example's tickets already run against it (one of them fails)."""
    store = tmp_path_factory.mktemp("example-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=store, host="127.0.0.1", port=0)) as server:
        env = ExampleEnv(example_site, tmp_path_factory.mktemp("example-work"), server.url, fake_llm.url)
        ran = env.run("-m", "support_graph", *TICKETS)
        assert ran.returncode == 1, ran.stdout + ran.stderr  # the invoice ticket fails with the weak prompt
        assert "ticket-2: failed: billing: the model's answer has no 'answer' field" in ran.stderr
        yield env
