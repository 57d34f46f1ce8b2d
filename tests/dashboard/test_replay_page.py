"""The Replay page (AppTest) against a real collector and a real checkpoint file: from a failed task to
a fixed replay and its comparison, reopening replays, bad edits, login, and third-party LLM calls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from agentdeck.dashboard.auth import FORM_KEY, PASSWORD_ENV, PASSWORD_KEY, THROTTLE
from agentdeck.engine.workflows.triage import CLASSIFIER_PROMPT_FIXED, CLASSIFIER_PROMPT_WEAK, RESPONSE_PROMPT_FIXED
from tests.dashboard.as_read import as_read
from tests.dashboard.otlp_seed import REFUND_CALL_SPAN, TRIAGE_OK, seed
from tests.dashboard.replay_env import ReplayEnv, replay_env

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
ENV = (
    "AGENTDECK_COLLECTOR_URL",
    "AGENTDECK_CHECKPOINT_DB",
    "AGENTDECK_DASHBOARD_REFRESH_S",
    PASSWORD_ENV,
    "ANTHROPIC_API_KEY",
)
__all__ = ["replay_env"]


@pytest.fixture(autouse=True)
def env(replay_env: ReplayEnv) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ENV}
    address = config.get_option("server.address")
    os.environ.update(
        AGENTDECK_COLLECTOR_URL=replay_env.collector_url,
        AGENTDECK_CHECKPOINT_DB=str(replay_env.checkpoint_db),
        AGENTDECK_DASHBOARD_REFRESH_S="0",
    )
    os.environ.pop(PASSWORD_ENV, None)
    os.environ.pop("ANTHROPIC_API_KEY", None)
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", address)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def open_replay(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/replay.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> tuple[str, str]:
    """A metric's value and delta as read (their Markdown escapes undone)."""
    m = next(m for m in at.metric if m.label == label)
    return tuple(as_read(str(v)) for v in (m.value, m.delta))  # type: ignore[return-value]


def test_failed_tasks_list_opens_a_task_in_replay(replay_env: ReplayEnv) -> None:
    at = open_replay()
    failed = {t.task_id for t in replay_env.summary.tasks if t.outcome != "success"}
    shown = as_read(" ".join(m.value for m in at.markdown))
    assert all(task in shown for task in failed)
    at.button(key="replay_open_0").click().run()
    assert at.query_params["thread_id"] and at.query_params["trace_id"]
    assert any(s.label == "Replay from checkpoint" for s in at.selectbox)


def test_fix_the_weak_prompt_replay_succeeds_and_the_comparison_shows_it(replay_env: ReplayEnv) -> None:
    dead = replay_env.weak_prompt_failure
    at = open_replay(trace_id=dead.trace_id)
    picked = at.selectbox(key="replay_checkpoint")
    assert "next: classify" in picked.format_func(picked.value)  # the checkpoint the failed step ran from
    assert at.text_area(key="replay_prompt_classifier").value.startswith("Classify this support ticket.")
    at.text_area(key="replay_prompt_classifier").input(CLASSIFIER_PROMPT_FIXED).run()
    at.button(key="replay_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    replay_trace = at.query_params["replay"]
    assert replay_trace and replay_trace != dead.trace_id
    assert metric(at, "Outcome") == ("success", "was dead_letter")
    cost, delta = metric(at, "Cost")
    assert cost.startswith("$") and cost != "$0.00"
    assert delta.startswith("+$")  # the fixed run goes on to the later steps: it costs more
    table = next(d.value for d in at.dataframe if "Step" in d.value.columns)
    classify = table[table["Step"] == "classify"].iloc[0]
    assert classify["Original"].startswith("failed") and classify["Replay"] == "ok" and classify["Changed"] == "yes"
    assert any('-  "category"' in c.value and '+  "category"' in c.value for c in at.code)  # the diff

    # the replay was traced to the collector, linked to the original
    rows = httpx.get(
        f"{replay_env.collector_url}/api/query/trace", params={"trace_id": replay_trace, "format": "json"}, timeout=10
    ).json()
    cols = rows["columns"]
    root = next(r for r in rows["rows"] if r[cols.index("parent_span_id")] is None)
    assert root[cols.index("replay_of")] == dead.trace_id
    assert dead.trace_id in root[cols.index("links")]

    # reopened later (a new session, from the URL): the comparison is rebuilt from the collector
    again = open_replay(trace_id=dead.trace_id, replay=replay_trace)
    assert metric(again, "Outcome") == ("success", "was dead_letter")
    assert metric(again, "Cost")[1] == delta
    assert any(replay_trace in o for o in again.selectbox(key="replay_pick").options)  # listed, reopenable


def test_a_state_edit_with_an_unknown_field_is_refused_clearly(replay_env: ReplayEnv) -> None:
    dead = replay_env.weak_prompt_failure
    at = open_replay(trace_id=dead.trace_id)
    at.text_area(key="replay_state_edit").input('{"clasification": {}}').run()
    at.button(key="replay_run").click().run()
    errors = [as_read(e.value) for e in at.error]
    assert any("no field 'clasification'" in e and "classification" in e for e in errors), errors
    assert "replay" not in at.query_params


def test_with_a_password_set_replay_needs_sign_in(replay_env: ReplayEnv) -> None:
    os.environ[PASSWORD_ENV] = "s3cret-enough-password"
    THROTTLE.reset()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["trace_id"] = replay_env.weak_prompt_failure.trace_id
    at.run()
    assert not [b for b in at.button if b.key == "replay_run"]
    at.text_input(key=PASSWORD_KEY).input("s3cret-enough-password")
    at.button(key=f"{FORM_KEY}_submit").click().run()
    at.switch_page("views/replay.py")
    at.query_params["trace_id"] = replay_env.weak_prompt_failure.trace_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b for b in at.button if b.key == "replay_run"], "signed in: the replay controls show"


def test_a_third_party_llm_call_can_be_rerun_with_edited_messages(replay_env: ReplayEnv) -> None:
    seed(replay_env.collector_url)  # traces of another app: no checkpoints anywhere
    at = open_replay(trace_id=TRIAGE_OK, span_id=REFUND_CALL_SPAN)
    assert any("no checkpoints" in i.value for i in at.info)
    assert at.text_area(key=f"call_system_{REFUND_CALL_SPAN}").value == "You are a support agent."
    box = at.text_area(key=f"call_messages_{REFUND_CALL_SPAN}")
    assert "REFUND" in box.value
    box.input('[{"role": "user", "content": "Customer asks to CANCEL order 8812"}]').run()
    at.button(key="call_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value.startswith("**Re-run (simulated)") for m in at.markdown)
    assert any(m.value == "**Original call**" for m in at.markdown)
    box = at.text_area(key=f"call_messages_{REFUND_CALL_SPAN}")
    box.input("not json").run()
    at.button(key="call_run").click().run()
    assert any("Cannot re-run" in e.value for e in at.error)


def test_resume_in_place_reruns_only_the_failed_step(replay_env: ReplayEnv) -> None:
    failed = next(t for t in replay_env.summary.tasks if t.detail.startswith("response_senior"))
    at = open_replay(trace_id=failed.trace_id)
    for agent in ("response", "response_senior"):
        at.text_area(key=f"replay_prompt_{agent}").input(RESPONSE_PROMPT_FIXED).run()
    at.button(key="replay_resume").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "Step" in d.value.columns)
    assert list(table["Step"]) == ["respond", "review"]  # classify and research were not run again
    assert table.iloc[0]["Original"].startswith("failed") and table.iloc[0]["Replay"] == "ok"
    assert metric(at, "Outcome") == ("success", "was dead_letter")


def test_an_edited_prompt_is_saved_as_a_new_version(replay_env: ReplayEnv) -> None:
    at = open_replay(trace_id=replay_env.weak_prompt_failure.trace_id)
    at.text_area(key="replay_prompt_classifier").input(CLASSIFIER_PROMPT_FIXED + " v2!").run()
    at.text_input(key="replay_version_author").input("ana").run()
    at.text_input(key="replay_version_reason").input("answer from the allowed list").run()
    at.button(key="replay_version_save").click().run()
    assert any("Saved classifier prompt v2" in s.value for s in at.success), [e.value for e in at.error]
    listed = next(d.value for d in at.dataframe if "Version" in d.value.columns)
    assert list(listed["Version"]) == ["v1", "v2"] and listed.iloc[1]["By"] == "ana"
    assert listed.iloc[1]["Why"] == "answer from the allowed list"
    at.button(key="replay_version_save").click().run()  # the same text again is refused, clearly
    assert any("already classifier's version v2" in e.value for e in at.error)
    at.selectbox(key="replay_version_pick").select("v1").run()
    at.button(key="replay_version_load").click().run()
    assert at.text_area(key="replay_prompt_classifier").value == CLASSIFIER_PROMPT_WEAK  # v1 back in the editor
