"""`agentdeck replay` explains itself: a resume that would change nothing says why, "original" is the
task's first run whatever branch is forked, unchanged steps (tool-using ones too) are served from the
recording, and a replay whose spans the collector refused says so."""

from __future__ import annotations

import json
from pathlib import Path

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.cli.cli_helpers import agentdeck
from tests.dashboard.replay_env import ReplayEnv, replay_env

__all__ = ["replay_env"]


def runs(env: ReplayEnv, thread: str, cwd: Path) -> list[str]:
    out = agentdeck("checkpoints", thread, "--checkpoint-db", str(env.checkpoint_db), "--json", cwd=cwd)
    assert out.returncode == 0, out.stderr
    return [r["trace_id"] for r in json.loads(out.stdout)["runs"]]


def test_resuming_a_finished_task_says_there_is_nothing_to_run(replay_env: ReplayEnv, tmp_path: Path) -> None:
    done = next(t for t in replay_env.summary.tasks if t.outcome == "success")
    before = runs(replay_env, done.thread_id, tmp_path)
    out = agentdeck("replay", done.thread_id, "--checkpoint-db", str(replay_env.checkpoint_db),
                    "--collector-url", replay_env.collector_url, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"agentdeck: thread {done.thread_id} has nothing left to run" in out.stderr
    assert f"agentdeck checkpoints {done.thread_id}" in out.stderr
    assert runs(replay_env, done.thread_id, tmp_path) == before  # no empty run was recorded


def test_a_second_fork_is_served_from_the_recording_and_compared_with_the_first_run(
    replay_env: ReplayEnv, tmp_path: Path
) -> None:
    dead = replay_env.weak_prompt_failure
    db = str(replay_env.checkpoint_db)
    tree = json.loads(agentdeck("checkpoints", dead.thread_id, "--checkpoint-db", db, "--json", cwd=tmp_path).stdout)
    at = next(c for c in tree["checkpoints"] if c["next"] == ["classify"])
    fix = ("--checkpoint", at["checkpoint_id"], "--prompt", f"classifier={CLASSIFIER_PROMPT_FIXED}")
    base = ("--checkpoint-db", db, "--collector-url", replay_env.collector_url, "--json")
    first = agentdeck("replay", dead.thread_id, *fix, *base, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = agentdeck("replay", dead.thread_id, *fix, *base, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    served = {s["node"]: s["replay"]["served_from_record"] for s in report["steps"]}
    assert served == {"classify": True, "research": True, "respond": True, "review": True}
    assert report["totals"]["replay"]["tokens"] == 0
    assert report["original_trace_id"] == dead.trace_id

    # forking from a checkpoint the first fork wrote still compares with the task's first run
    fork = json.loads(first.stdout)
    after = json.loads(agentdeck("checkpoints", dead.thread_id, "--checkpoint-db", db, "--json", cwd=tmp_path).stdout)
    on_fork = next(c for c in after["checkpoints"] if c["trace_id"] == fork["trace_id"] and c["next"] == ["respond"])
    third = agentdeck("replay", dead.thread_id, "--checkpoint", on_fork["checkpoint_id"], *base, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    report = json.loads(third.stdout)
    assert report["original_trace_id"] == dead.trace_id and report["original_outcome"] == "dead_letter"


def test_a_replay_the_collector_refuses_says_so(replay_env: ReplayEnv, tmp_path: Path) -> None:
    # a collector that accepts no request body over 1 KiB refuses the replay's span batch (413)
    weak = replay_env.weak_prompt_failure
    dead = next(t for t in replay_env.summary.tasks if t.outcome == "dead_letter" and t != weak)
    with CollectorServer(CollectorConfig(db_path=tmp_path / "small.duckdb", host="127.0.0.1", port=0,
                                         max_body_bytes=1024)) as small:  # fmt: skip
        out = agentdeck("replay", dead.thread_id, "--checkpoint-db", str(replay_env.checkpoint_db),
                        "--collector-url", small.url, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "span(s) of the replay could not be delivered to" in out.stderr and "Traceback" not in out.stderr
