"""The real dashboard entrypoint is behind the login when a password is configured."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from agentdeck.dashboard import auth
from tests.dashboard.conftest import APP


def test_every_page_waits_for_the_password(monkeypatch: pytest.MonkeyPatch, seeded_collector: str) -> None:
    monkeypatch.setenv("AGENTDECK_COLLECTOR_URL", seeded_collector)
    monkeypatch.setenv(auth.PASSWORD_ENV, "correct horse")
    auth.THROTTLE.reset()
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert at.text_input(key=auth.PASSWORD_KEY)
    assert not at.metric, "page content rendered before sign-in"
    at.text_input(key=auth.PASSWORD_KEY).input("wrong")
    at.button(key=f"{auth.FORM_KEY}_submit").click().run()
    assert not at.metric
    at.text_input(key=auth.PASSWORD_KEY).input("correct horse")
    at.button(key=f"{auth.FORM_KEY}_submit").click().run()
    assert not at.exception
    assert [m.label for m in at.metric][:1] == ["Tasks"], "the Overview shows once signed in"
