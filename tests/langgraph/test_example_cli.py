"""The LangGraph example end to end: installed beside agentdeck, run against a real collector, its failed
task found through the collector's query API, and replayed with an edited prompt through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest

from agentdeck.cli.main import main
from tests.langgraph.conftest import CONSOLE_SCRIPT, ExampleEnv, example_env

__all__ = ["example_env"]
pytestmark = pytest.mark.slow

GRAPH = "support_graph.app:graph"
BILLING_FIXED = 'You are the billing agent. Use the invoice facts. Reply with one JSON object {"answer": "..."}.'


def query(url: str, name: str, **params: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    with urllib.request.urlopen(f"{url}/api/query/{name}?{qs}", timeout=10) as response:
        body = json.load(response)
    return [dict(zip(body["columns"], row, strict=True)) if isinstance(row, list) else row for row in body["rows"]]


def failed_task(env: ExampleEnv) -> dict[str, Any]:
    """The failed task, as a user finds it: the collector's trace list filtered to errors."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = query(env.collector_url, "traces", status="error")
        if rows:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError("no failed trace reached the collector")


def test_failed_ticket_replayed_with_a_fixed_prompt(example_env: ExampleEnv) -> None:
    task = failed_task(example_env)
    assert task["outcome"] == "failed" and task["thread_id"] == "ticket-2" and task["workflow_name"] == "support"
    spans = query(example_env.collector_url, "trace", trace_id=task["trace_id"])
    root = next(s for s in spans if not s["parent_span_id"])
    assert json.loads(root["attributes"])["agentdeck.workflow.ref"] == GRAPH
    nodes = [(s["node"], s["step"], s["attempt"]) for s in spans if s["span_type"] == "agent"]
    assert nodes == [("triage", 1, 1), ("billing", 2, 1)]
    billing = next(s for s in spans if s["span_type"] == "agent" and s["node"] == "billing")
    assert billing["status_code"] == "ERROR" and billing["checkpoint_id"]
    tools = [s["tool_name"] for s in spans if s["span_type"] == "tool"]
    assert tools == ["lookup_invoice"]
    llm = [s for s in spans if s["span_type"] == "llm"]
    assert [s["agent_name"] for s in llm] == ["triage", "billing"]
    assert all(s["input_tokens"] == 470 and s["output_tokens"] == 40 and s["cost_usd"] > 0 for s in llm)

    listed = example_env.agentdeck("checkpoints", "ticket-2", "--graph", GRAPH, "--json")
    assert listed.returncode == 0, listed.stderr
    tree = json.loads(listed.stdout)
    assert tree["workflow"] == GRAPH and tree["runs"] == [{"trace_id": task["trace_id"], "run": 1}]
    before_billing = next(c for c in tree["checkpoints"] if c["next"] == ["billing"])

    done = example_env.agentdeck(
        "replay",
        "ticket-2",
        "--graph",
        GRAPH,
        "--checkpoint",
        before_billing["checkpoint_id"],
        "--prompt",
        f"billing={BILLING_FIXED}",
        "--collector-url",
        example_env.collector_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["original_outcome"] == "failed" and report["replay_outcome"] == "success"
    assert report["original_trace_id"] == task["trace_id"] and report["trace_id"] != task["trace_id"]
    steps = {s["node"]: s for s in report["steps"]}
    assert list(steps) == ["billing", "writer"]
    assert steps["billing"]["original"]["status"] == "failed" and steps["billing"]["replay"]["status"] == "ok"
    assert "refund is on its way" in steps["billing"]["diff"] and steps["billing"]["changed"]
    assert steps["writer"]["original"] is None and steps["writer"]["replay"]["status"] == "ok"
    assert report["totals"]["replay"]["tokens"] == 2 * 510 and report["totals"]["delta"]["steps_failed"] == -1

    after = json.loads(example_env.agentdeck("checkpoints", "ticket-2", "--graph", GRAPH, "--json").stdout)
    assert [r["trace_id"] for r in after["runs"]] == [task["trace_id"], report["trace_id"]]
    replayed = query(example_env.collector_url, "traces", replays_only="true")
    assert any(r["trace_id"] == report["trace_id"] and r["outcome"] == "success" for r in replayed)


def test_a_state_edit_reroutes_the_failed_ticket(example_env: ExampleEnv) -> None:
    tree = json.loads(example_env.agentdeck("checkpoints", "ticket-2", "--graph", GRAPH, "--json").stdout)
    before_triage = next(c for c in tree["checkpoints"] if c["next"] == ["triage"])
    done = example_env.agentdeck(
        "replay",
        "ticket-2",
        "--graph",
        GRAPH,
        "--checkpoint",
        before_triage["checkpoint_id"],
        "--state",
        '{"ticket": "My parcel is late"}',
        "--collector-url",
        example_env.collector_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["replay_outcome"] == "success"
    assert [s["node"] for s in report["steps"]] == ["triage", "billing", "support", "writer"]
    assert report["steps"][1]["replay"] is None and report["steps"][2]["original"] is None


def test_what_cannot_be_replayed_says_why(
    example_env: ExampleEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process `main()` (the console script's function), with the example importable as a user has it."""
    monkeypatch.syspath_prepend(str(example_env.site))
    for key, value in example_env.env().items():
        if key not in ("PATH", "HOME", "PYTHONPATH"):
            monkeypatch.setenv(key, value)
    url = ("--collector-url", example_env.collector_url)
    cases = [
        (("replay", "ticket-2", "--graph", "no_such_app.flows:graph", *url), "no module named 'no_such_app'"),
        (("checkpoints", "ticket-2", "--graph", "support_graph.app:nope"), "has no attribute 'nope'"),
        (
            ("checkpoints", "ticket-2", "--graph", "support_graph.app:route"),
            "is a function, neither an agentdeck workflow nor a compiled LangGraph graph",
        ),
        (("checkpoints", "ticket-9", "--graph", GRAPH), "no thread ticket-9 in the checkpointer of " + GRAPH),
        (("replay", "ticket-2", "--graph", GRAPH, "--checkpoint", "nope", *url), "has no checkpoint nope; its"),
        (("replay", "ticket-2", "--graph", GRAPH, "--prompt", "biling=x", *url), "no prompt 'biling'; the prompts"),
        (
            ("replay", "ticket-2", "--graph", GRAPH, "--state", "{nope", *url),
            "--state: the state edit is not valid JSON",
        ),
        (("replay", "ticket-2", "--graph", GRAPH, "--state", '{"tickt": "x"}', *url), "state has no field 'tickt'"),
        (
            ("replay", "t-1", "--graph", "tests.langgraph.graphs:no_checkpointer", *url),
            "has no checkpointer, so its threads keep no checkpoints to replay from",
        ),
    ]
    before = _checkpoints(capsys)
    for args, message in cases:
        assert main(list(args)) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("agentdeck: ") and message in err, (args, err)
    assert _checkpoints(capsys) == before  # nothing above wrote a checkpoint


def _checkpoints(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["checkpoints", "ticket-2", "--graph", GRAPH, "--json"]) == 0
    return [c["checkpoint_id"] for c in json.loads(capsys.readouterr().out)["checkpoints"]]


def test_the_graph_imports_from_the_folder_the_command_runs_in(example_env: ExampleEnv) -> None:
    env = {k: v for k, v in example_env.env().items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, "checkpoints", "ticket-2", "--graph", GRAPH, "--json"],
        cwd=example_env.site,  # the app's folder, as a user runs the command from their project
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workflow"] == GRAPH


def test_the_thread_alone_finds_the_graph_through_the_collector(example_env: ExampleEnv) -> None:
    """No --graph: the thread is not in the engine's checkpoints, so the reference its trace recorded is
    asked of the collector (the `traces` query filtered by thread), and the graph is replayed as named."""
    task = failed_task(example_env)
    url = ("--collector-url", example_env.collector_url)
    listed = example_env.agentdeck("checkpoints", "ticket-2", *url, "--json")
    assert listed.returncode == 0, listed.stderr
    tree = json.loads(listed.stdout)
    assert tree["workflow"] == GRAPH  # the graph, found through the collector
    assert task["trace_id"] in {r["trace_id"] for r in tree["runs"]}  # (other tests of the module fork it too)
    before_billing = next(c for c in tree["checkpoints"] if c["next"] == ["billing"])
    done = example_env.agentdeck(
        "replay", "ticket-2", "--checkpoint", before_billing["checkpoint_id"], "--prompt", f"billing={BILLING_FIXED}",
        *url, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["original_outcome"] == "failed" and report["replay_outcome"] == "success"
    assert report["undelivered_spans"] == 0

    unknown = example_env.agentdeck("checkpoints", "ticket-77", *url)
    assert unknown.returncode == 2 and unknown.stderr.startswith("agentdeck: no checkpoint file at"), unknown.stderr
    assert (
        f"the collector at {example_env.collector_url} has no trace of it: pass --graph MODULE:ATTR" in unknown.stderr
    )
    gone = example_env.agentdeck("replay", "ticket-2", "--collector-url", "http://127.0.0.1:9")
    assert gone.returncode == 2 and "the collector cannot say which graph ran it" in gone.stderr, gone.stderr
    assert "--graph MODULE:ATTR" in gone.stderr and "Traceback" not in gone.stderr
