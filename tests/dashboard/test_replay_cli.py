"""`agentdeck replay` and `agentdeck checkpoints` as a script runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.dashboard.replay_env import ReplayEnv, replay_env

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = "import sys; from agentdeck.cli.main import main; sys.exit(main())"
__all__ = ["replay_env"]


def agentdeck(*args: str) -> subprocess.CompletedProcess[str]:
    # what the `agentdeck` console script runs (`python -m agentdeck` would make a second CliError class)
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )


def test_checkpoints_then_replay_with_a_fixed_prompt(replay_env: ReplayEnv) -> None:
    dead = replay_env.weak_prompt_failure
    db = str(replay_env.checkpoint_db)
    listed = agentdeck("checkpoints", dead.thread_id, "--checkpoint-db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    tree = json.loads(listed.stdout)
    assert tree["workflow"] == "triage" and tree["runs"][0]["trace_id"] == dead.trace_id
    at = next(c for c in tree["checkpoints"] if c["next"] == ["classify"])

    done = agentdeck(
        "replay",
        dead.thread_id,
        "--checkpoint",
        at["checkpoint_id"],
        "--prompt",
        f"classifier={CLASSIFIER_PROMPT_FIXED}",
        "--checkpoint-db",
        db,
        "--collector-url",
        replay_env.collector_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["thread_id"] == dead.thread_id and report["outcome"] == "success"
    assert report["original_trace_id"] == dead.trace_id and report["trace_id"] != dead.trace_id
    classify = report["steps"][0]
    assert classify["node"] == "classify" and classify["original"]["status"] == "failed"
    assert classify["replay"]["status"] == "ok" and classify["changed"]
    assert report["totals"]["delta"]["steps_failed"] == -1 and report["totals"]["delta"]["cost_usd"] > 0

    after = json.loads(agentdeck("checkpoints", dead.thread_id, "--checkpoint-db", db, "--json").stdout)
    assert [r["trace_id"] for r in after["runs"]] == [dead.trace_id, report["trace_id"]]
    assert report["head_checkpoint_id"] in {c["checkpoint_id"] for c in after["checkpoints"]}


def test_clear_errors_name_the_choices(replay_env: ReplayEnv) -> None:
    dead = replay_env.weak_prompt_failure
    db = str(replay_env.checkpoint_db)
    base = ("--checkpoint-db", db, "--collector-url", replay_env.collector_url)
    cases = [
        (("replay", "no-such-thread", *base), "no thread no-such-thread"),
        (("replay", dead.thread_id, "--checkpoint", "nope", *base), "has no checkpoint nope; its checkpoints: "),
        (
            ("replay", dead.thread_id, "--prompt", "clasifier=x", *base),
            "no agent 'clasifier'; choose one of: classifier, research, response, response_senior, quality",
        ),
        (("replay", dead.thread_id, "--prompt", "classifier", *base), "--prompt wants AGENT=VALUE"),
        (("checkpoints", dead.thread_id, "--checkpoint-db", "/nonexistent/x.sqlite"), "no checkpoint file at"),
        (("replay", dead.thread_id, "--checkpoint-db", db, "--collector-url", "http://127.0.0.1:9"), "does not answer"),
    ]
    for args, message in cases:
        r = agentdeck(*args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
