"""`agentdeck alerts check --store URL`, as a user runs it: the same answer as `--db FILE` on a DuckDB
file no collector holds, and a one-line refusal for a store it cannot open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert
from tests.dashboard.test_alerts_cli import agentdeck

TASK = "d" * 32


@pytest.fixture(scope="module")
def breached_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("alerts-store") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(store=f"duckdb://{db}", host="127.0.0.1", port=0)) as server:
        post_task(server.url, over_budget_task(TASK))
        wait_for_alert(server.url, TASK)
    return db


def test_check_by_store_url_answers_as_by_file(breached_db: Path) -> None:
    by_url = agentdeck("alerts", "check", "--store", f"duckdb://{breached_db}", "--json")
    by_file = agentdeck("alerts", "check", "--db", str(breached_db), "--json")
    assert by_url.returncode == by_file.returncode == 1, by_url.stderr
    firing = json.loads(by_url.stdout)["firing"]
    # one alert per rule and scope group (scope all), listing the task over budget
    assert [(f["rule"], f["group"], f["trace_ids"]) for f in firing] == [("task-over-budget", "", [TASK])]
    assert firing == json.loads(by_file.stdout)["firing"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("duckdb:///nowhere/agentdeck.duckdb", ("/nowhere/agentdeck.duckdb is not a file",)),
        # without the extra: how to get it; with it: the server that does not answer
        ("clickhouse://127.0.0.1:1/agentdeck", ("pip install 'agentdeck[clickhouse]'", "127.0.0.1:1")),
        ("ftp://x/y", ("scheme 'ftp' is not known",)),
    ],
)
def test_a_store_it_cannot_open_is_one_line(url: str, says: tuple[str, ...]) -> None:
    proc = agentdeck("alerts", "check", "--store", url)
    assert proc.returncode == 2 and proc.stderr.startswith("agentdeck: "), proc.stderr
    assert any(s in proc.stderr for s in says), proc.stderr
    assert "Traceback" not in proc.stderr


def test_store_and_db_together_are_refused(breached_db: Path) -> None:
    proc = agentdeck("alerts", "check", "--store", f"duckdb://{breached_db}", "--db", str(breached_db))
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
