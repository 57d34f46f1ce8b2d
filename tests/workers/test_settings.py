"""Worker settings: flags win over variables over defaults, bad values are named, and the README's table
is the generated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.cli.main import main
from agentdeck.engine.workers.settings import SettingError, resolve, settings_markdown

URL = "postgresql://postgres@127.0.0.1:5432/agentdeck"


def test_flags_then_environment_then_defaults() -> None:
    env = {"AGENTDECK_POSTGRES_URL": URL, "AGENTDECK_WORKER_LEASE_S": "12"}
    s = resolve({"concurrency": 8}, env)
    assert (s.postgres_url, s.concurrency, s.lease_s) == (URL, 8, 12.0)
    assert resolve({"lease_s": 5.0}, env).lease_s == 5.0
    assert resolve({}, {"AGENTDECK_POSTGRES_URL": URL}).lease_s == 30.0


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({}, {}, "pass --postgres URL or set AGENTDECK_POSTGRES_URL"),
        ({"postgres_url": "localhost:5432"}, {}, "wants a postgresql://"),
        ({"postgres_url": URL, "lease_s": 0.5}, {}, "--lease / AGENTDECK_WORKER_LEASE_S must be at least 1 second"),
        ({"postgres_url": URL}, {"AGENTDECK_WORKER_CONCURRENCY": "many"}, "AGENTDECK_WORKER_CONCURRENCY must be a"),
        ({"postgres_url": URL, "concurrency": 0}, {}, "must be at least 1"),
    ],
)
def test_bad_settings_are_named(flags: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingError, match=message.replace("(", r"\(")):
        resolve(flags, env)


def test_worker_command_says_what_to_fix(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AGENTDECK_POSTGRES_URL", raising=False)
    assert main(["worker"]) == 2
    assert capsys.readouterr().err == (
        "agentdeck: a worker needs the queue's PostgreSQL: pass --postgres URL or set AGENTDECK_POSTGRES_URL\n"
    )


def test_readme_holds_the_generated_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- worker-settings:start", 1)[1].split("<!-- worker-settings:end -->", 1)[0]
    table = section.split("-->", 1)[1].strip()
    assert table == settings_markdown(), f"regenerate the README's worker table:\n{settings_markdown()}"
