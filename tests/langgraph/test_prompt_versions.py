"""Saved prompt versions of adapted LangGraph graphs: kept in the database of the graph's own
checkpointer under its MODULE:ATTR, put in force for the app's own runs by $AGENTDECK_PROMPT_VERSIONS,
and for replays by `--prompt-version NAME=VERSION` (a real SqliteSaver file, the example app installed
beside agentdeck, a real collector, the fake Messages API)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine.execution import META_PROMPTS
from agentdeck.engine.prompts import PromptStore, graph_owner
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.langgraph import instrument
from agentdeck.langgraph.prompt_versions import ENV_VAR, PromptVersionError
from tests.engine.fake_anthropic import FakeAnthropic
from tests.langgraph.conftest import ExampleEnv, example_env
from tests.langgraph.graphs import PLAN_PROMPT, builder
from tests.langgraph.test_example_cli import BILLING_FIXED, GRAPH

__all__ = ["example_env"]
REF = "my_app.flows:graph"
BETTER_PLAN = "Plan the work, step by step, for: {topic}"


def test_a_graphs_versions_are_keyed_by_its_reference_and_prompt_name(tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite"
    owner = graph_owner(REF, {"plan": PLAN_PROMPT})  # the prompts its runs recorded: name -> the code's default
    with PromptStore(db) as store:
        saved = store.save(owner, "plan", BETTER_PLAN, author="ana", reason="clearer")
        assert (saved.workflow, saved.agent, saved.version) == (REF, "plan", "v2")
        assert [(v.version, v.template) for v in store.versions(owner, "plan")] == [
            ("v1", PLAN_PROMPT),
            ("v2", BETTER_PLAN),
        ]
        typo = re.escape("the graph my_app.flows:graph has no prompt 'plna'; its prompts: plan")
        with pytest.raises(KeyError, match=typo):
            store.save(owner, "plna", "x", author="ana", reason="typo")
        with pytest.raises(ValueError, match="already plan's version v1"):
            store.save(owner, "plan", PLAN_PROMPT, author="ana", reason="same")
        # without the recorded prompts (an app's own process) names are not checked: a version must exist
        assert store.overrides(graph_owner(REF), {"plan": "v2"}) == {"plan": BETTER_PLAN}
        with pytest.raises(KeyError, match="plan has no prompt version 'v7'; choose one of: v2"):
            store.get(graph_owner(REF), "plan", "v7")
        with pytest.raises(KeyError, match="act has no prompt version 'v2'; choose one of: none saved yet"):
            store.get(graph_owner(REF), "act", "v2")
        assert store.versions("triage", "classifier")[0].workflow == "triage"  # engine workflows: as before


def test_the_env_var_puts_a_saved_version_in_force_for_the_apps_runs(
    fake_llm: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "app.sqlite"
    with PromptStore(db) as store:
        store.save(graph_owner(REF), "plan", BETTER_PLAN, author="ana", reason="clearer")
    exporter = InMemorySpanExporter()
    saver = SqliteSaver(sqlite3.connect(db, check_same_thread=False))
    graph = instrument(
        builder(fake_llm.url, fail_first=False).compile(checkpointer=saver),
        ref=REF,
        tracer_provider=make_tracer_provider(exporters=[exporter]),
    )
    config = {"configurable": {"thread_id": "t-1"}}
    assert graph.invoke({"topic": "tax"}, config)["plan"] == "echo: Plan the work for: tax"  # the code's prompt

    monkeypatch.setenv(ENV_VAR, "plan=v2")
    config = {"configurable": {"thread_id": "t-2"}}
    assert graph.invoke({"topic": "tax"}, config)["plan"] == "echo: Plan the work, step by step, for: tax"
    assert json.loads(graph.get_state(config).metadata[META_PROMPTS]) == {"plan": BETTER_PLAN}

    spans = len(exporter.get_finished_spans())
    for value, says in [
        ("plan=v9", "the graph my_app.flows:graph: plan has no prompt version 'v9'; choose one of: v2"),
        ("plan", f"{ENV_VAR}: 'plan' is not NAME=VERSION"),
    ]:
        monkeypatch.setenv(ENV_VAR, value)
        with pytest.raises(PromptVersionError, match=says):
            graph.invoke({"topic": "tax"}, {"configurable": {"thread_id": "t-3"}})
    assert len(exporter.get_finished_spans()) == spans  # refused before the run started: no half trace
    in_memory = instrument(builder(fake_llm.url).compile(checkpointer=InMemorySaver()), ref=REF)
    monkeypatch.setenv(ENV_VAR, "plan=v2")
    with pytest.raises(PromptVersionError, match="InMemorySaver, not in a SQLite file or a PostgreSQL database"):
        in_memory.invoke({"topic": "tax"}, {"configurable": {"thread_id": "t-4"}})


@pytest.mark.slow
def test_a_saved_version_fixes_the_example_in_a_replay_and_in_its_own_runs(example_env: ExampleEnv) -> None:
    db = Path(example_env.env()["SUPPORT_GRAPH_DB"])
    with PromptStore(db) as store:  # what the graph Replay panel's "save as a new version" does
        saved = store.save(graph_owner(GRAPH), "billing", BILLING_FIXED, author="ana", reason="ask for JSON")
    tree = json.loads(example_env.agentdeck("checkpoints", "ticket-2", "--graph", GRAPH, "--json").stdout)
    before_billing = next(c for c in tree["checkpoints"] if c["next"] == ["billing"])
    replay = ("replay", "ticket-2", "--graph", GRAPH, "--checkpoint", before_billing["checkpoint_id"])
    url = ("--collector-url", example_env.collector_url)
    done = example_env.agentdeck(*replay, "--prompt-version", f"billing={saved.version}", *url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["replay_outcome"] == "success"
    missing = example_env.agentdeck(*replay, "--prompt-version", "billing=v9", *url)
    assert missing.returncode == 2, missing.stderr
    assert f"billing has no prompt version 'v9'; choose one of: v1, {saved.version}" in missing.stderr
    typo = example_env.agentdeck(*replay, "--prompt-version", "biling=v2", *url)
    assert typo.returncode == 2 and "the graph support_graph.app:graph has no prompt 'biling'" in typo.stderr

    def app(versions: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "support_graph", "Invoice INV-7 was charged twice", "--prefix", versions],
            cwd=example_env.workdir,
            env={**example_env.env(), ENV_VAR: versions},
            capture_output=True,
            text=True,
            timeout=120,
        )

    fixed = app(f"billing={saved.version}")
    assert fixed.returncode == 0, fixed.stderr
    wrong = app("billing=v9")
    assert wrong.returncode == 1 and "the graph support_graph.app:graph: billing has no prompt version" in wrong.stderr


@pytest.mark.slow
def test_the_graph_replay_panel_saves_a_version_like_the_engine_page(
    example_env: ExampleEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from agentdeck.dashboard.replay.graph_runner import prompt_key
    from tests.langgraph.test_example_cli import failed_task
    from tests.langgraph.test_graph_runner_page import APP

    for key, value in example_env.env().items():
        if key not in ("PATH", "HOME", "PYTHONPATH"):
            monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(example_env.site))
    for name in [m for m in sys.modules if m == "support_graph" or m.startswith("support_graph.")]:
        monkeypatch.delitem(sys.modules, name)  # imported again, on this test's checkpoint file
    monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", example_env.collector_url)
    monkeypatch.setenv("AGENTDECK_DASHBOARD_REFRESH_S", "0")
    monkeypatch.setenv("AGENTDECK_WORKFLOWS", "support_graph")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/replay.py")
    at.query_params["trace_id"] = failed_task(example_env)["trace_id"]
    at.run()
    assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    text = BILLING_FIXED + " Be brief."
    at.selectbox(key="graph_replay_version_agent").select("billing").run()
    at.text_area(key=prompt_key("billing")).input(text).run()
    at.text_input(key="graph_replay_version_author").input("ana").run()
    at.text_input(key="graph_replay_version_reason").input("ask for the JSON the code reads").run()
    at.button(key="graph_replay_version_save").click().run()
    assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    assert any(s.value.startswith("Saved billing prompt v") for s in at.success), [s.value for s in at.success]
    with PromptStore(example_env.env()["SUPPORT_GRAPH_DB"]) as store:
        versions = store.versions(graph_owner(GRAPH), "billing")  # the saved ones (no recorded default here)
    assert versions[-1].template == text and versions[-1].author == "ana"
    table = at.dataframe[-1].value
    assert list(table["Version"]) == ["v1", *(v.version for v in versions)]  # v1: the default the run read
    assert table["By"].iloc[0] == "built-in" and table["By"].iloc[-1] == "ana"


@pytest.mark.postgres
def test_a_graph_on_postgres_keeps_its_versions_there(
    fake_llm: FakeAnthropic, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    with psycopg.connect(postgres_url, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn)  # type: ignore[arg-type]
        saver.setup()
        graph = instrument(builder(fake_llm.url, fail_first=False).compile(checkpointer=saver), ref=REF)
        with PromptStore(postgres_url) as store:  # saved by another process (the dashboard, on the same database)
            store.save(graph_owner(REF), "plan", BETTER_PLAN, author="ana", reason="clearer")
        monkeypatch.setenv(ENV_VAR, "plan=v2")
        final = graph.invoke({"topic": "tax"}, {"configurable": {"thread_id": "pg-1"}})
    assert final["plan"] == "echo: Plan the work, step by step, for: tax"
