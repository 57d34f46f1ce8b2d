"""`agentdeck dataset` and `agentdeck experiment` as a user runs them: the demo's dead letters become a
dataset through the collector's query API, the fixed classifier prompt fixes them from the failing step,
and the JSON report says so; mistakes are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from agentdeck.cli.replay_seed import wait_for_traces
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED
from tests.cli.cli_helpers import agentdeck
from tests.dashboard.replay_env import ReplayEnv, replay_env

__all__ = ["replay_env"]


def root_attributes(url: str, trace_id: str) -> dict[str, object]:
    body = httpx.get(f"{url}/api/query/trace", params={"trace_id": trace_id, "format": "json"}, timeout=10).json()
    cols = body["columns"]
    root = next(r for r in body["rows"] if r[cols.index("parent_span_id")] is None)
    attrs = root[cols.index("attributes")]
    return json.loads(attrs) if isinstance(attrs, str) else dict(attrs)


def test_dead_letters_become_a_dataset_and_the_fixed_prompt_fixes_them(replay_env: ReplayEnv, tmp_path: Path) -> None:
    base = ("--checkpoint-db", str(replay_env.checkpoint_db), "--collector-url", replay_env.collector_url)
    made = agentdeck("dataset", "create", "dead", "--from-traces", "--workflow", "triage", "--status",
                     "dead_letter", "--since", "7d", *base, cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    dead = sorted(t.task_id for t in replay_env.summary.tasks if t.outcome == "dead_letter")
    assert made.stdout.startswith(f"dataset dead v1: {len(dead)} items")
    shown = json.loads(agentdeck("dataset", "show", "dead", "--json", *base[:2], cwd=tmp_path).stdout)
    assert sorted(i["id"] for i in shown["items"]) == dead
    assert all(i["original"]["outcome"] == "dead_letter" and i["input"]["ticket"] for i in shown["items"])

    run = agentdeck("experiment", "run", "dead", "--from-failing-step", "--name", "v2", "--prompt",
                    f"classifier={CLASSIFIER_PROMPT_FIXED}", "--evaluator", "success", "--json", *base,
                    cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    classifier_failures = sum(
        t.outcome == "dead_letter" and t.detail.startswith("classifier") for t in replay_env.summary.tasks
    )
    assert report["fixed"] >= classifier_failures >= 1 and report["broken"] == 0
    assert report["fixed"] + report["unchanged"] == len(dead)
    assert report["cost_delta_usd"] == report["totals"]["cost_delta_usd"]
    fixed = next(i for i in report["items"] if i["verdict"] == "fixed")
    assert fixed["baseline"]["outcome"] == "dead_letter" and fixed["candidate"]["outcome"] == "success"
    assert fixed["candidate"]["tokens"] > 0 and fixed["output_diff"]
    # the run is traced to the collector and linked to its item (and, as a fork, to the original)
    trace_id = fixed["candidate"]["trace_id"]
    assert wait_for_traces(replay_env.collector_url, [trace_id])
    attrs = root_attributes(replay_env.collector_url, trace_id)
    assert attrs["agentdeck.experiment.name"] == "v2" and attrs["agentdeck.dataset.item_id"] == fixed["item_id"]
    assert attrs["agentdeck.replay_of"] == fixed["baseline"]["trace_id"]
    assert fixed["candidate"]["scores"] == [{"name": "success", "value": 1.0, "source": "code", "comment": ""}]
    sent = httpx.get(f"{replay_env.collector_url}/api/scores", params={"trace_id": trace_id}, timeout=10).json()
    assert [(r[3], r[4], r[6]) for r in sent["rows"]] == [("success", 1.0, "code")]  # name, value, source

    again = agentdeck("experiment", "run", "dead", "--from-failing-step", "--name", "v2", "--prompt",
                      f"classifier={CLASSIFIER_PROMPT_FIXED}", "--json", *base, cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["ran"] == 0  # resumed by name: nothing left to run

    compared = agentdeck("experiment", "compare", "original", "v2", *base[:2], cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.startswith(f"v2 against original: {report['fixed']} fixed, 0 broken")


def test_mistakes_are_one_line_and_exit_2(replay_env: ReplayEnv, tmp_path: Path) -> None:
    db = ("--checkpoint-db", str(replay_env.checkpoint_db))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "input": {"ticket": {}}}\n{"id": 2}\n', encoding="utf-8")
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"id": "w1", "input": {"subject": "hi"}}\n', encoding="utf-8")
    cases = [
        (
            ("dataset", "create", "x", "--from-file", str(wrong), "--workflow", "triage", *db),
            "item w1: the triage state has no field 'subject'",
        ),
        (("dataset", "create", "x", *db), "give --from-traces (with the trace filters) or --from-file"),
        (("dataset", "create", "x", "--from-file", str(bad), *db), f"1 bad line(s) in {bad}; no dataset was made"),
        (("dataset", "create", "x", "--from-traces", "--since", "yesterday", *db), "--since wants a duration"),
        (("experiment", "run", "nope", *db, "--no-export"), "no dataset 'nope'"),
        (("experiment", "compare", "original", "nope", *db), "no experiment 'nope'"),
    ]
    for args, message in cases:
        out = agentdeck(*args, cwd=tmp_path)
        assert out.returncode == 2 and "Traceback" not in out.stderr, (args, out.stderr)
        assert f"agentdeck: {message}" in out.stderr, (args, out.stderr)
