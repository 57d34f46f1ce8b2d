"""`agentdeck alerts check` and `agentdeck alerts list` as a user runs them (a subprocess), against a
running collector and against a DuckDB file: exit 1 when an alert fires, 0 when quiet, 2 on errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert

TASK = "c" * 32
AGENTDECK = Path(sys.executable).with_name("agentdeck")
QUIET_RULES = '[[rules]]\nname = "huge-spend"\nmetric = "spend"\nwindow = "1h"\ncomparison = ">"\nthreshold = 1000\n'


def agentdeck(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = (
        [str(AGENTDECK)]
        if AGENTDECK.exists()
        else [sys.executable, "-c", "import sys; from agentdeck.cli.main import main; sys.exit(main())"]
    )
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def breached_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collector's DuckDB file (collector stopped) holding one over-budget task."""
    db = tmp_path_factory.mktemp("alerts-cli") / "agentdeck.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, host="127.0.0.1", port=0)) as server:
        post_task(server.url, over_budget_task(TASK))
        wait_for_alert(server.url, TASK)
    return db


@pytest.fixture
def running(breached_db: Path) -> Iterator[str]:
    with CollectorServer(CollectorConfig(db_path=breached_db, host="127.0.0.1", port=0)) as server:
        yield server.url


def test_check_through_a_running_collector_exits_1_and_names_the_task(running: str) -> None:
    proc = agentdeck("alerts", "check", "--collector-url", running)
    assert proc.returncode == 1, proc.stderr
    assert "FIRING critical task-over-budget" in proc.stdout and TASK in proc.stdout

    as_json = agentdeck("alerts", "check", "--collector-url", running, "--json")
    assert as_json.returncode == 1
    body = json.loads(as_json.stdout)
    assert [(f["rule"], f["group"]) for f in body["firing"]] == [("task-over-budget", "")]
    assert body["firing"][0]["trace_ids"] == [TASK]

    listed = agentdeck("alerts", "list", "--collector-url", running, "--state", "firing")
    assert listed.returncode == 0 and "task-over-budget" in listed.stdout and TASK in listed.stdout


def test_check_with_rules_that_do_not_fire_exits_0(running: str, tmp_path: Path) -> None:
    rules = tmp_path / "quiet.toml"
    rules.write_text(QUIET_RULES)
    proc = agentdeck("alerts", "check", "--collector-url", running, "--rules", str(rules))
    assert proc.returncode == 0, proc.stderr
    assert "no alerts firing (1 rules evaluated)" in proc.stdout


def test_check_errors_exit_2_with_a_message(running: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(QUIET_RULES.replace("threshold", "treshold"))
    proc = agentdeck("alerts", "check", "--collector-url", running, "--rules", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith("agentdeck: the collector answered 400") and "did you mean 'threshold'" in proc.stderr
    nobody = agentdeck("alerts", "check", "--collector-url", "http://127.0.0.1:9")
    assert nobody.returncode == 2 and "no collector answers at http://127.0.0.1:9" in nobody.stderr
    assert "Traceback" not in proc.stderr + nobody.stderr


def test_check_a_held_file_says_to_use_the_collector(running: str, breached_db: Path) -> None:
    proc = agentdeck("alerts", "check", "--db", str(breached_db))
    assert proc.returncode == 2
    assert "held by a running collector" in proc.stderr and "--collector-url" in proc.stderr


def test_check_a_duckdb_file_nobody_holds(breached_db: Path, tmp_path: Path) -> None:
    proc = agentdeck("alerts", "check", "--db", str(breached_db), "--json")
    assert proc.returncode == 1, proc.stderr
    assert [f["trace_ids"] for f in json.loads(proc.stdout)["firing"]] == [[TASK]]

    quiet = tmp_path / "quiet.toml"
    quiet.write_text(QUIET_RULES)
    assert agentdeck("alerts", "check", "--db", str(breached_db), "--rules", str(quiet)).returncode == 0

    empty = tmp_path / "empty.duckdb"
    with CollectorServer(CollectorConfig(db_path=empty, host="127.0.0.1", port=0)):
        pass
    proc = agentdeck("alerts", "check", "--db", str(empty))
    assert proc.returncode == 0 and "no alerts firing" in proc.stdout

    missing = agentdeck("alerts", "check", "--db", str(tmp_path / "nope.duckdb"))
    assert missing.returncode == 2 and "is not a file" in missing.stderr


def test_help() -> None:
    proc = agentdeck("alerts", "check", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "Exit status: 1 when any alert fires, 0 when none does, 2 on errors" in text
    assert "--collector-url" in proc.stdout and "--db" in proc.stdout


def test_check_a_file_without_spans_exits_2_naming_the_rules(tmp_path: Path) -> None:
    import duckdb

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()  # a DuckDB file, but not one the collector wrote
    proc = agentdeck("alerts", "check", "--db", str(other))
    assert proc.returncode == 2
    assert "rule 'task-over-budget' could not be evaluated" in proc.stderr and "spans" in proc.stderr
