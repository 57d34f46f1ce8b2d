"""The Costs page's semantic cache section, end to end: triage tasks run with the semantic cache and
export through the real OTel exporter to a real collector; the page shows the hit rate and savings
per agent from the `cache_savings` query. The seeded collector (no cache) shows no such section."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine.runner import run_tasks
from agentdeck.engine.semantic_cache import SemanticCache
from tests.dashboard.conftest import AppRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cached_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("cache-store")
    with CollectorServer(CollectorConfig(db_path=tmp / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        summary = run_tasks(
            "triage",
            40,
            checkpoint_db=tmp / "checkpoints.sqlite",
            endpoint=f"{server.url}/v1/traces",
            latency_scale=0.0,
            semantic_cache=SemanticCache(),
        )
        yield server.url, len(summary.tasks)


def test_costs_shows_semantic_cache_hit_rate_and_savings_per_agent(
    app_at: Callable[[str], AppRunner], cached_collector: tuple[str, int], tmp_path: Path
) -> None:
    url, _ = cached_collector
    at = app_at(url)("costs")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cache hit rate"].endswith("%") and metrics["Cache hit rate"] != "0.0%"
    assert metrics["Saved by the cache"].startswith("$") and metrics["Saved by the cache"] != "$0.00"
    frame = next(d.value for d in at.dataframe if "Tokens saved" in d.value.columns)
    assert set(frame["Agent"]) <= {"classifier", "response", "response_senior", "quality"}
    assert (frame["Hits"] > 0).all() and (frame["Hits"] <= frame["LLM calls"]).all()
    assert (frame["Saved"] > 0).all() and (frame["Tokens saved"] > 0).all()


def test_costs_has_no_cache_section_without_cache_hits(app: AppRunner) -> None:
    at = app("costs")
    assert "Cache hit rate" not in {m.label for m in at.metric}
