"""`agentdeck evaluator` in its own process: it reads traces through the query API, writes scores back
through the collector, scores each trace once per evaluator, and a mistake exits 2."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.cli_helpers import agentdeck
from tests.dashboard.replay_env import ReplayEnv, replay_env

__all__ = ["replay_env"]


def scores(url: str) -> list[dict[str, object]]:
    body = httpx.get(f"{url}/api/scores", params={"limit": "10000"}, timeout=10).json()
    return [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]


def test_new_traces_are_scored_once_by_code_and_by_a_judge(replay_env: ReplayEnv, tmp_path: Path) -> None:
    args = ("evaluator", "--once", "--workflow", "triage", "--evaluator", "success", "--judge", "Grade the reply.",
            "--collector-url", replay_env.collector_url)  # fmt: skip
    first = agentdeck(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    tasks = {t.trace_id: t.outcome for t in replay_env.summary.tasks}
    written = [s for s in scores(replay_env.collector_url) if s["trace_id"] in tasks]
    success = {s["trace_id"]: s["value"] for s in written if s["name"] == "success"}
    assert success == {tid: (1.0 if outcome == "success" else 0.0) for tid, outcome in tasks.items()}
    judged = [s for s in written if s["name"] == "judge"]
    assert judged and all(s["source"] == "llm-judge" and 0 <= float(s["value"]) <= 1 for s in judged)  # type: ignore[arg-type]
    again = agentdeck(*args, cwd=tmp_path)
    assert again.returncode == 0 and "0 score(s) written" in again.stderr
    assert len(scores(replay_env.collector_url)) == len(written)


def test_an_evaluator_without_evaluators_or_with_a_bad_one_exits_2(tmp_path: Path) -> None:
    for args, message in (
        ((), "name at least one --evaluator"),
        (("--evaluator", "vibes"), "unknown evaluator 'vibes'"),
        (("--evaluator", "success", "--sample", "0"), "--sample is the share"),
    ):
        out = agentdeck("evaluator", "--once", *args, "--collector-url", "http://127.0.0.1:9", cwd=tmp_path)
        assert out.returncode == 2 and f"agentdeck: {message}" in out.stderr and "Traceback" not in out.stderr
