"""The dashboard's Replay page and the CLI on tasks that ran on workers: they read the checkpoints, the
failed tasks and the prompt versions in the workers' PostgreSQL (AGENTDECK_POSTGRES_URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from worker_helpers import outcomes, queue_tasks, wait_for, workers

from agentdeck.cli.main import main
from agentdeck.cli.replay_seed import wait_for_traces
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard.auth import PASSWORD_ENV
from agentdeck.engine.prompts import PromptStore
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.dashboard.as_read import as_read
from tests.dashboard.test_replay_page import open_replay


def test_replay_page_reads_the_workers_postgres(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with CollectorServer(CollectorConfig(db_path=tmp_path / "spans.duckdb", host="127.0.0.1", port=0)) as collector:
        ids = queue_tasks(postgres_url, "triage", 12, latency_scale=0.0, seed=1)
        with workers(postgres_url, tmp_path, 1, collector_url=collector.url):
            wait_for("every task to end", lambda: len(outcomes(postgres_url, ids)) == len(ids))
        ended = outcomes(postgres_url, ids)
        assert wait_for_traces(collector.url, [r.trace_id for r in ended.values()])
        dead = next(r for r in ended.values() if r.outcome == "dead_letter" and r.detail.startswith("classifier"))

        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", collector.url)
        monkeypatch.setenv("AGENTDECK_POSTGRES_URL", postgres_url)
        monkeypatch.setenv("AGENTDECK_CHECKPOINT_DB", str(tmp_path / "no-such-file.sqlite"))  # the PostgreSQL wins
        monkeypatch.setenv("AGENTDECK_DASHBOARD_REFRESH_S", "0")
        at = open_replay()
        shown = as_read(" ".join(m.value for m in at.markdown))
        assert all(t in shown for t, r in ended.items() if r.outcome != "success")  # failed tasks, from PostgreSQL

        at = open_replay(trace_id=dead.trace_id)
        at.text_area(key="replay_prompt_classifier").input(CLASSIFIER_PROMPT_FIXED).run()
        at.button(key="replay_run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        outcome = next(m for m in at.metric if m.label == "Outcome")
        assert (as_read(outcome.value), as_read(str(outcome.delta))) == ("success", "was dead_letter")

        at.text_input(key="replay_version_author").input("ana").run()
        at.text_input(key="replay_version_reason").input("allowed categories only").run()
        at.button(key="replay_version_save").click().run()
        assert any("Saved classifier prompt v2" in s.value for s in at.success), [e.value for e in at.error]

    with PromptStore(postgres_url) as store:  # every worker sees the saved version
        assert store.get("triage", "classifier", "v2").template == CLASSIFIER_PROMPT_FIXED
    run = ["run", "triage", "--tasks", "2", "--seed", "1", "--latency-scale", "0", "--no-export"]
    assert main([*run, "--postgres", postgres_url, "--prompt-version", "classifier=v2"]) == 0
    assert "queued 2 tasks" in capsys.readouterr().err
    assert main([*run, "--postgres", postgres_url, "--prompt-version", "classifier=v9"]) == 2
    assert "classifier has no prompt version 'v9'" in capsys.readouterr().err
