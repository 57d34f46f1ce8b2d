"""The Experiments page, the Traces page's dataset box and the trace page's scores (AppTest) need the
login when a password is set, as Replay does; signed in, their controls show."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from agentdeck.dashboard.auth import FORM_KEY, PASSWORD_ENV, PASSWORD_KEY, THROTTLE
from agentdeck.engine.datasets import DatasetStore, TraceRow, items_from_traces
from tests.dashboard.replay_env import ReplayEnv, replay_env

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
ENV = ("AGENTDECK_COLLECTOR_URL", "AGENTDECK_CHECKPOINT_DB", "AGENTDECK_DASHBOARD_REFRESH_S", PASSWORD_ENV)
CONTROLS = ("exp_run", "dataset_save", "score_save")
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
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", address)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def buttons(at: AppTest) -> set[str]:
    return {str(b.key) for b in at.button if b.key in CONTROLS}


def visit(at: AppTest, page: str, **query: str) -> set[str]:
    at.switch_page(page)
    at.query_params.clear()
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return buttons(at)


def test_dataset_experiment_and_score_actions_need_the_login_when_a_password_is_set(replay_env: ReplayEnv) -> None:
    dead = [t for t in replay_env.summary.tasks if t.outcome == "dead_letter"]
    rows = [TraceRow(t.trace_id, t.thread_id, t.outcome, t.cost_usd, 0, 0.0) for t in dead]
    workflow, items, _ = items_from_traces(rows, replay_env.checkpoint_db)
    with DatasetStore(replay_env.checkpoint_db) as store:
        store.create("login-check", workflow, "test", items)
    os.environ[PASSWORD_ENV] = "s3cret-enough-password"
    THROTTLE.reset()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["trace_id"] = dead[0].trace_id
    at.run()
    assert buttons(at) == set() and at.text_input(key=PASSWORD_KEY)  # nothing but the sign-in form
    at.text_input(key=PASSWORD_KEY).input("s3cret-enough-password")
    at.button(key=f"{FORM_KEY}_submit").click().run()
    assert visit(at, "views/experiments.py", dataset="login-check") == {"exp_run"}
    assert visit(at, "views/traces.py") == {"dataset_save"}
    assert visit(at, "views/traces.py", trace_id=dead[0].trace_id) == {"score_save"}
