"""The demo's replayable triage tasks, as the collector stores them: the weak prompt's failures are
there to fix, and the tasks last as long as simulated LLM calls take (seconds), not 5 ms."""

from __future__ import annotations

import httpx

from tests.dashboard.replay_env import ReplayEnv, replay_env

__all__ = ["replay_env"]


def test_replayable_tasks_have_realistic_latency_and_the_weak_prompts_failures(replay_env: ReplayEnv) -> None:
    outcomes = sorted(t.outcome for t in replay_env.summary.tasks)
    assert outcomes.count("dead_letter") == 3 and outcomes.count("success") == 9
    assert replay_env.weak_prompt_failure.detail.startswith("classifier")
    resp = httpx.get(
        f"{replay_env.collector_url}/api/query/traces",
        params={"start_ns": 0, "end_ns": 2**62, "workflow": "triage", "limit": 100, "format": "json"},
        timeout=10,
    )
    resp.raise_for_status()
    body = resp.json()
    durations = [row[body["columns"].index("duration_ms")] for row in body["rows"]]
    assert len(durations) == 12
    assert min(durations) >= 200, durations  # each task makes LLM calls of simulated seconds
