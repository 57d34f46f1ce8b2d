"""Replay test environment: a real collector and a checkpoint file holding triage tasks that the weak
classifier prompt dead-lettered (the demo's start-up batch), exported to that collector."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentdeck.cli.replay_seed import seed_replayable, wait_for_traces
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine.execution import TaskResult
from agentdeck.engine.runner import RunSummary


@dataclass(frozen=True)
class ReplayEnv:
    collector_url: str
    checkpoint_db: Path
    summary: RunSummary

    @property
    def weak_prompt_failure(self) -> TaskResult:
        return next(t for t in self.summary.tasks if t.outcome == "dead_letter" and t.detail.startswith("classifier"))


@pytest.fixture(scope="module")
def replay_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayEnv]:
    tmp = tmp_path_factory.mktemp("replay")
    with CollectorServer(CollectorConfig(db_path=tmp / "agentdeck.duckdb", host="127.0.0.1", port=0)) as server:
        summary = seed_replayable(tmp / "checkpoints.sqlite", server.url)
        assert wait_for_traces(server.url, [t.trace_id for t in summary.tasks]), "seeded traces did not arrive"
        yield ReplayEnv(server.url, tmp / "checkpoints.sqlite", summary)
