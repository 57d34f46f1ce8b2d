"""`--graph MODULE:ATTR` on `replay` and `checkpoints` overrides the reference a thread recorded for
engine workflows too (an `agentdeck.Workflow`), not only adapted LangGraph graphs: a user whose package
was renamed after the run names it again. A reference that is neither says what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.cli.replay_seed import wait_for_traces
from tests.cli.test_run_your_workflow import FIXED, REF, agentdeck, collector, project, tasks_in

__all__ = ["collector", "project"]
MOVED = "expenses_v2.workflow:WORKFLOW"


@pytest.mark.slow
def test_graph_names_a_renamed_workflow_for_checkpoints_and_replay(project: Path, collector: str) -> None:
    db = project / "checkpoints.sqlite"
    (project / "one.jsonl").write_text((project / "tasks.jsonl").read_text().splitlines()[0] + "\n")
    ran = agentdeck(
        project, "run", REF, "--tasks-file", "one.jsonl", "--checkpoint-db", str(db), "--collector-url", collector,
        "--latency-scale", "0",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (outcome, trace_id) = tasks_in(db)["exp-001"]
    assert wait_for_traces(collector, [trace_id])
    (project / "expenses").rename(project / "expenses_v2")  # the recorded expenses.workflow:WORKFLOW is gone

    lost = agentdeck(project, "checkpoints", "exp-001", "--checkpoint-db", str(db), "--json")
    assert lost.returncode == 2 and "no module named 'expenses'" in lost.stderr, lost.stderr

    listed = agentdeck(project, "checkpoints", "exp-001", "--checkpoint-db", str(db), "--graph", MOVED, "--json")
    assert listed.returncode == 0, listed.stderr
    tree = json.loads(listed.stdout)
    assert tree["workflow"] == MOVED and tree["runs"] == [{"trace_id": trace_id, "run": 1}]
    start = next(c for c in tree["checkpoints"] if c["next"] == ["triager"])

    replayed = agentdeck(
        project, "replay", "exp-001", "--checkpoint-db", str(db), "--graph", MOVED, "--checkpoint",
        start["checkpoint_id"], "--prompt", f"triager={FIXED}", "--collector-url", collector, "--json",
    )  # fmt: skip
    assert replayed.returncode in (0, 1), replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["original_trace_id"] == trace_id and report["original_outcome"] == outcome
    assert report["steps"][0]["node"] == "triager" and report["steps"][0]["replay"]["status"] == "ok"


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        (
            "expenses.workflow:Filing",
            "'expenses.workflow:Filing' is the class Filing, neither an agentdeck workflow nor",
        ),
        ("expenses.workflow:LIMITS_USD", "is a dict, neither an agentdeck workflow nor a compiled LangGraph graph"),
        ("expenses.workflow:NOTHING", "has no attribute 'NOTHING'"),
    ],
)
def test_a_graph_reference_that_is_neither_says_what_it_is(project: Path, ref: str, says: str) -> None:
    for command in ("checkpoints", "replay"):
        done = agentdeck(project, command, "exp-001", "--checkpoint-db", str(project / "none.sqlite"), "--graph", ref)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("agentdeck: ") and says in done.stderr and "Traceback" not in done.stderr
    assert not (project / "none.sqlite").exists()
