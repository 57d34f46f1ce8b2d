"""The alerts over HTTP on a real collector: the service runs from start-up, a breaching task fires
within seconds of landing, and list / detail / acknowledge / silence / rules / deliveries / check
answer with data or a clear 400/404. Also: a bad rules file stops start-up, and the sample data
(as the demo loads it) raises a real alert."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentdeck.collector.config import ConfigError
from agentdeck.collector.server import CollectorServer
from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert
from tests.dashboard.otlp_seed import seed

TASK = "b" * 32


@pytest.fixture
def breached(start_collector: Callable[..., CollectorServer]) -> tuple[str, dict[str, object]]:
    """A collector holding one over-budget task and the alert it raised."""
    server = start_collector()
    post_task(server.url, over_budget_task(TASK))
    return server.url, wait_for_alert(server.url, TASK)


def test_an_over_budget_task_fires_with_its_trace_and_value(breached: tuple[str, dict[str, object]]) -> None:
    url, alert = breached
    assert alert["severity"] == "critical" and alert["state"] == "firing"
    assert alert["trace_ids"] == [TASK]
    assert alert["value"] == pytest.approx(5.0)  # spent $0.05 of a $0.01 budget
    assert alert["threshold"] == 1.0 and alert["comparison"] == ">="
    detail = httpx.get(f"{url}/api/alerts/{alert['id']}", timeout=10).json()
    assert detail["alert"]["id"] == alert["id"]
    [trace] = detail["traces"]
    assert trace["trace_id"] == TASK and trace["workflow"] == "support_triage"
    assert trace["cost_usd"] == pytest.approx(0.05) and trace["agents"] == ["researcher"]
    assert detail["deliveries"] == []  # no channel configured: nothing to deliver, nothing failed


def test_a_breach_fires_from_the_writers_commit_not_the_interval(
    start_collector: Callable[..., CollectorServer],
) -> None:
    """With a full evaluation only every hour, the alert can only come from the per-task check the
    writer's on_commit wakes: it fires within seconds of the task's spans landing."""
    server = start_collector(alert_interval_s=3600)
    service = server.services.alerts
    assert service is not None
    for _ in range(200):  # the start-up evaluation (on the empty store) is done
        if service.evaluations:
            break
        time.sleep(0.05)
    full_runs = service.evaluations
    assert full_runs == 1
    post_task(server.url, over_budget_task(TASK))
    alert = wait_for_alert(server.url, TASK, timeout_s=10)
    assert (alert["group_value"], alert["trace_ids"], alert["target"]) == ("", [TASK], "1 task")
    for _ in range(200):  # the check's other rules finish after the alert row is committed
        if service.fast_checks:
            break
        time.sleep(0.05)
    assert service.fast_checks >= 1
    assert service.evaluations == full_runs


def test_acknowledge_and_silence_round_trip(breached: tuple[str, dict[str, object]]) -> None:
    url, alert = breached
    assert alert["acknowledged"] is False and alert["silenced"] is False and alert["needs_attention"] is True
    acked = httpx.post(f"{url}/api/alerts/{alert['id']}/acknowledge", timeout=10)
    assert acked.status_code == 200 and acked.json()["alert"]["acknowledged"] is True
    muted = httpx.post(f"{url}/api/alerts/{alert['id']}/silence", json={"duration": "1h"}, timeout=10)
    assert muted.status_code == 200
    [listed] = [a for a in httpx.get(f"{url}/api/alerts", timeout=10).json()["alerts"] if a["id"] == alert["id"]]
    assert listed["acknowledged"] is True and listed["silenced"] is True
    assert listed["needs_attention"] is False  # off the "firing now" count and the banner
    assert listed["silenced_until_ns"] > listed["last_seen_ns"]
    unmuted = httpx.post(f"{url}/api/alerts/{alert['id']}/silence?duration=0s", timeout=10).json()["alert"]
    assert unmuted["silenced"] is False


def test_filters_and_clear_errors(breached: tuple[str, dict[str, object]]) -> None:
    url, alert = breached
    assert httpx.get(f"{url}/api/alerts?state=resolved", timeout=10).json()["alerts"] == []
    cases = {
        ("GET", "/api/alerts?state=burning"): (400, "not an alert state"),
        ("GET", "/api/alerts?limit=lots"): (400, "whole number"),
        ("GET", "/api/alerts?offset=-1"): (400, "offset must be between 0"),
        ("GET", "/api/alerts/99999"): (404, "no alert with id 99999"),
        ("POST", "/api/alerts/99999/acknowledge"): (404, "no alert with id 99999"),
        ("POST", f"/api/alerts/{alert['id']}/silence"): (400, "say how long"),
        ("POST", f"/api/alerts/{alert['id']}/silence?duration=an+hour"): (400, "is not a duration"),
        ("GET", "/api/alerts/deliveries?alert_id=x"): (400, "alert_id must be a whole number"),
    }
    for (method, path), (status, words) in cases.items():
        resp = httpx.request(method, url + path, timeout=10)
        assert resp.status_code == status, path
        assert words in resp.json()["error"], path


def test_rules_deliveries_and_check(breached: tuple[str, dict[str, object]]) -> None:
    url, _ = breached
    rules = httpx.get(f"{url}/api/alerts/rules", timeout=10).json()
    assert rules["source"].endswith("default_rules.toml") and rules["interval_s"] == 15.0
    names = [row[rules["rule_columns"].index("name")] for row in rules["rules"]]
    assert "task-over-budget" in names and "agent-retry-rate" in names
    assert rules["errors"] == [] and rules["daily_budget_usd"] == 100.0
    assert httpx.get(f"{url}/api/alerts/deliveries", timeout=10).json()["rows"] == []

    checked = httpx.post(f"{url}/api/alerts/check", timeout=10).json()
    assert [(f["rule"], f["group"]) for f in checked["firing"]] == [("task-over-budget", "")]
    quiet_rules = '[[rules]]\nname = "big"\nmetric = "spend"\nwindow = "1h"\ncomparison = ">"\nthreshold = 1000\n'
    quiet = httpx.post(f"{url}/api/alerts/check", content=quiet_rules, timeout=10).json()
    assert quiet["firing"] == [] and quiet["rules_evaluated"] == 1
    broken = httpx.post(f"{url}/api/alerts/check", content=quiet_rules.replace("window", "windw"), timeout=10)
    assert broken.status_code == 400 and "did you mean 'window'" in broken.json()["error"]


def test_the_token_guards_the_alert_routes(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(token="s3cret")
    assert httpx.get(f"{server.url}/api/alerts", timeout=10).status_code == 401
    assert httpx.post(f"{server.url}/api/alerts/1/acknowledge", timeout=10).status_code == 401
    ok = httpx.get(f"{server.url}/api/alerts", headers={"Authorization": "Bearer s3cret"}, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"alerts": [], "total": 0, "offset": 0}


def test_healthy_tasks_raise_no_alert(start_collector: Callable[..., CollectorServer]) -> None:
    server = start_collector(alert_interval_s=0.2)
    seed(server.url)  # three ordinary tasks, all within budget, no loops
    checked = httpx.post(f"{server.url}/api/alerts/check", timeout=10).json()
    assert checked["firing"] == [] and checked["errors"] == []
    assert httpx.get(f"{server.url}/api/alerts", timeout=10).json()["alerts"] == []


BAD_RULES = (
    '[[rules]]\nname = "retries"\nmetric = "retry_rate"\nwindow = "5 minutes"\ntreshold = 0.2\ncomparison = ">"\n'
)


def test_a_bad_rules_file_stops_start_up_saying_what_to_fix(tmp_path: Path, db_path: Path) -> None:
    from agentdeck.collector.config import CollectorConfig

    rules = tmp_path / "team.toml"
    rules.write_text(BAD_RULES)
    config = CollectorConfig(db_path=str(db_path), port=0, alert_rules_path=str(rules))
    with pytest.raises(ConfigError) as err:
        CollectorServer(config).start()
    assert "rule 'retries'" in str(err.value) and "did you mean 'threshold'" in str(err.value)
    with CollectorServer(config.replace(alert_rules_path=None)) as fixed:  # the file was not left held
        assert httpx.get(f"{fixed.url}/api/alerts", timeout=10).status_code == 200
    with pytest.raises(ConfigError, match="alert_interval_s must be positive"):
        CollectorConfig(db_path=str(db_path), alert_interval_s=0).validate()

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentdeck.collector",
            "--db",
            str(db_path),
            "--port",
            "0",
            "--alert-rules-path",
            str(rules),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "agentdeck collector: alert_rules_path:" in proc.stderr
    assert "'5 minutes' is not a duration" in proc.stderr and "Traceback" not in proc.stderr


def test_the_demo_sample_data_fires_a_real_alert(sample_collector: str) -> None:
    """The collector as the demo runs it (default config) with sample_traces/ loaded: alerts fire."""
    give_up_polls = 200
    firing: list[dict[str, object]] = []
    for _ in range(give_up_polls):
        firing = httpx.get(f"{sample_collector}/api/alerts?state=firing", timeout=10).json()["alerts"]
        if any(a["rule"] == "task-over-budget" for a in firing):
            break
        time.sleep(0.1)
    rules = {a["rule"] for a in firing}
    assert "task-over-budget" in rules, rules  # the over-budget sample tasks
    budget = next(a for a in firing if a["rule"] == "task-over-budget")
    assert budget["value"] >= 1.0 and budget["trace_ids"]


PER_WORKFLOW_RULES = """[[rules]]
name = "over-budget"
metric = "task_budget_breach"
scope = "workflow"
window = "24h"
comparison = ">="
threshold = 1.0
"""


def test_alerts_page_through_with_offset_and_total(
    start_collector: Callable[..., CollectorServer], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(PER_WORKFLOW_RULES)
    server = start_collector(alert_rules_path=str(rules))
    for i, workflow in enumerate(("alpha", "beta", "gamma")):
        post_task(server.url, over_budget_task(str(i + 1) * 32, workflow=workflow))
        post_task(server.url, over_budget_task(str(i + 4) * 32, workflow=workflow))
    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        body = httpx.get(f"{server.url}/api/alerts", params={"state": "firing"}, timeout=10).json()
        if sum(len(a["trace_ids"]) for a in body["alerts"]) == 6:
            break
        time.sleep(0.1)
    # one alert per workflow, each listing its two tasks
    assert sorted((a["group_value"], a["target"]) for a in body["alerts"]) == [
        ("alpha", "2 tasks (workflow=alpha)"),
        ("beta", "2 tasks (workflow=beta)"),
        ("gamma", "2 tasks (workflow=gamma)"),
    ]
    first = httpx.get(f"{server.url}/api/alerts", params={"limit": 2}, timeout=10).json()
    second = httpx.get(f"{server.url}/api/alerts", params={"limit": 2, "offset": 2}, timeout=10).json()
    assert (first["total"], second["total"], len(first["alerts"]), len(second["alerts"])) == (3, 3, 2, 1)
    ids = [a["id"] for a in first["alerts"] + second["alerts"]]
    assert sorted(ids) == sorted(a["id"] for a in body["alerts"])
