"""The public API importable from `agentdeck`: every name resolves lazily and is documented, `import
agentdeck` stays light, and run / arun / replay work on a user's own workflow named only by its thread."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentdeck
from agentdeck.engine.ledger import Ledger

FLOW = textwrap.dedent(
    """
    from typing import Literal

    from pydantic import BaseModel

    import agentdeck

    WEAK = "Sort this request: {text}. Give its queue."
    FIXED = WEAK + " Choose the queue from the allowed list."


    class Sorted(BaseModel):
        queue: Literal["billing", "bugs", "sales", "legal", "hr", "it", "ops", "press"]


    class Reply(BaseModel):
        body: str


    SORTER = agentdeck.Agent("sorter", "request sorter", agentdeck.Prompt(WEAK), agentdeck.Tier.FAST, Sorted)
    WRITER = agentdeck.Agent(
        "writer", "reply writer", agentdeck.Prompt("Reply to {text} for the {queue} queue."), agentdeck.Tier.FAST, Reply
    )
    WORKFLOW = agentdeck.sequential("sorting", [SORTER, WRITER], inputs=["text"])

    if __name__ == "__main__":
        import json, sys

        tasks = [{"text": f"request number {i} about my invoice and a crash"} for i in range(40)]
        summary = agentdeck.run(WORKFLOW, tasks, checkpoint_db=sys.argv[1], latency_scale=0)
        print(json.dumps({t.task_id: t.outcome for t in summary.tasks}))
    """
)


def test_every_public_name_resolves_and_is_documented() -> None:
    assert set(agentdeck.__all__) >= {
        *("Agent", "Prompt", "Tool", "Tier", "Workflow"),
        *("sequential", "fan_out", "supervisor", "graph", "critique_loop", "event_driven"),
        *("Policies", "Retries", "CircuitBreaker", "route"),
        *("run", "arun", "replay", "setup_telemetry"),
    }
    for name in agentdeck.__all__:
        value = getattr(agentdeck, name)
        if callable(value):
            assert inspect.getdoc(value), f"agentdeck.{name} has no docstring"
    assert dir(agentdeck) == sorted(agentdeck.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = agentdeck.nothing_here  # type: ignore[attr-defined]


def test_import_agentdeck_and_the_collector_stay_light(tmp_path: Path) -> None:
    code = (
        "import sys, agentdeck, agentdeck.collector.server\n"
        "heavy = sorted(m for m in ('langgraph', 'langchain_core', 'agentdeck.engine.runner') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_run_then_replay_a_failed_task_from_its_thread_alone(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "sorting_flow.py").write_text(FLOW)
    db = tmp_path / "checkpoints.sqlite"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ran = subprocess.run(
        [sys.executable, "sorting_flow.py", str(db)], cwd=project, capture_output=True, text=True, timeout=120, env=env
    )
    assert ran.returncode == 0, ran.stderr
    ledger = Ledger(db)
    try:
        tasks = {t.task_id: t for t in ledger.tasks()}
    finally:
        ledger.close()
    assert set(tasks) == {str(n) for n in range(1, 41)}  # no `id`: the position from 1
    failed = next(t for t in tasks.values() if t.outcome == "dead_letter")

    # this process never imported the flow: the thread's checkpoints say where it lives (a path.py:ATTR)
    fixed = "Sort this request: {text}. Give its queue. Choose the queue from the allowed list."
    result = agentdeck.replay(failed.thread_id, prompts={"sorter": fixed}, checkpoint_db=db)
    assert result.outcome == "success" and result.task_id == failed.task_id


def test_arun_and_policies(tmp_path: Path) -> None:
    flow = tmp_path / "flow_for_arun.py"
    flow.write_text(FLOW)
    workflow = agentdeck.load_ref(f"{flow}:WORKFLOW")
    tasks = [{"id": f"r{i}", "text": f"request number {i} about my invoice and a crash"} for i in range(40)]
    strict = agentdeck.Policies(retries=agentdeck.Retries(validation=0))
    summary = asyncio.run(
        agentdeck.arun(workflow, tasks, checkpoint_db=tmp_path / "a.sqlite", policies=strict, latency_scale=0)
    )
    lenient = agentdeck.run(workflow, tasks, checkpoint_db=tmp_path / "b.sqlite", latency_scale=0)
    assert {t.task_id for t in summary.tasks} == {f"r{i}" for i in range(40)}
    # without validation retries more tasks fail at the sorter than with the default two
    assert summary.counts.get("dead_letter", 0) > lenient.counts.get("dead_letter", 0)
    with pytest.raises(ValueError, match="budget_usd must be positive"):
        agentdeck.Policies(budget_usd=0)
