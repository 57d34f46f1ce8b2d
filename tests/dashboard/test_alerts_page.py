"""The Alerts page, the banner and the Overview's firing alerts, run with AppTest against a real
collector seeded through /v1/traces: an over-budget task's alert with its value, threshold and
links; acknowledge and silence from the page; the rules; today's budget burn-down."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from agentdeck.dashboard import theme
from tests.dashboard.alerts_seed import over_budget_task, post_task, wait_for_alert
from tests.dashboard.as_read import as_read
from tests.dashboard.conftest import AppRunner
from tests.dashboard.otlp_seed import seed

TASK = "d" * 32
X = theme.TIMES


def breached_collector(folder: Path) -> CollectorServer:
    server = CollectorServer(CollectorConfig(db_path=folder / "agentdeck.duckdb", host="127.0.0.1", port=0))
    server.start()
    seed(server.url)
    post_task(server.url, over_budget_task(TASK))
    wait_for_alert(server.url, TASK)
    return server


@pytest.fixture(scope="module")
def alerting_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Read-only tests share this one; tests that acknowledge or silence get their own (`own_collector`)."""
    server = breached_collector(tmp_path_factory.mktemp("alerts-page"))
    yield server.url
    server.stop()


@pytest.fixture
def own_collector(tmp_path: Path) -> Iterator[str]:
    server = breached_collector(tmp_path)
    yield server.url
    server.stop()


@pytest.fixture
def alerts_app(app_at: Callable[[str], AppRunner], alerting_collector: str) -> AppRunner:
    return app_at(alerting_collector)


def the_alert(url: str) -> dict[str, Any]:
    alerts = httpx.get(f"{url}/api/alerts", params={"state": "firing"}, timeout=10).json()["alerts"]
    return next(a for a in alerts if a["rule"] == "task-over-budget" and TASK in a["trace_ids"])


def texts(at: AppTest) -> str:
    """The page's Markdown as a person reads it (span content is backslash-escaped in the source)."""
    return as_read("\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]))


def links(at: AppTest) -> list[tuple[str, str]]:
    return [(e.proto.label, e.proto.page + "?" + e.proto.query_string) for e in at.get("page_link")]


def banner(at: AppTest) -> str:
    return next((m.value for m in at.markdown if "alert(s) firing" in m.value), "")


def test_the_firing_alert_shows_value_threshold_and_links(alerts_app: AppRunner, alerting_collector: str) -> None:
    at = alerts_app("alerts")
    alert = the_alert(alerting_collector)
    shown = texts(at)
    assert "Firing now: 1" in [s.value for s in at.subheader]
    assert "**task-over-budget** · critical · firing · 1 task" in shown
    assert f"Value **5.00{X}** >= threshold 1.00{X}" in shown  # ratios read as 5.00 times, one format per unit
    assert "spent $0.0500 of a $0.0100 task budget" in shown
    targets = dict(links(at))
    assert targets[f"Trace {TASK[:8]}"].endswith(f"traces?trace_id={TASK}")
    assert any(label == "Open Alerts" for label, _ in links(at))  # the banner is on this page too
    assert at.button(key=f"ack_{alert['id']}").label == "Acknowledge"


def test_acknowledge_from_the_page_takes_it_off_the_count_and_the_banner(
    app_at: Callable[[str], AppRunner], own_collector: str
) -> None:
    at = app_at(own_collector)("alerts")
    alert = the_alert(own_collector)
    assert "1 alert(s) firing" in banner(at)
    at.button(key=f"ack_{alert['id']}").click().run()
    assert not at.exception
    assert the_alert(own_collector)["acknowledged"] is True
    assert ":material/done_all: acknowledged" in [c.value for c in at.caption]
    at.run()  # the next refresh
    assert "Firing now: 0" in [s.value for s in at.subheader]
    assert banner(at) == "" and not any(label == "Open Alerts" for label, _ in links(at))
    assert "**task-over-budget** · critical · firing · 1 task" in texts(at)  # still listed, marked
    assert any("acknowledged or silenced are listed after the others" in c.value for c in at.caption)
    overview = app_at(own_collector)()
    assert "alert(s) firing" not in texts(overview)


def test_silence_for_a_chosen_duration_from_the_page(app_at: Callable[[str], AppRunner], own_collector: str) -> None:
    at = app_at(own_collector)("alerts")
    alert = the_alert(own_collector)
    at.selectbox(key=f"silence_for_{alert['id']}").select("4h").run()
    at.button(key=f"silence_{alert['id']}").click().run()
    assert not at.exception
    after = the_alert(own_collector)
    assert after["silenced"] is True
    hours = (after["silenced_until_ns"] - after["last_seen_ns"]) / 3.6e12
    assert 3.9 < hours < 4.1
    assert "silenced until" in texts(at)
    at.run()
    assert "Firing now: 0" in [s.value for s in at.subheader] and banner(at) == ""


def test_rules_and_budget_burn_down(alerts_app: AppRunner, alerting_collector: str) -> None:
    at = alerts_app("alerts")
    rules = next(df.value for df in at.dataframe if "metric" in df.value.columns)
    assert {"task-over-budget", "daily-budget-burn", "agent-p95-latency"} <= set(rules["name"])
    assert any("default_rules.toml" in c.value for c in at.caption)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in spec["data"]}
    assert {"support_triage", "due_diligence", "projected (last hour's rate)"} <= names
    assert spec["layout"]["yaxis"]["tickprefix"] == "$"  # money reads as money on the axis too
    spend = [t for t in spec["data"] if t.get("stackgroup") == "spend"]
    assert spend and all(t["line"]["shape"] == "hv" for t in spend)  # no slope drawn across hours of nothing
    # every workflow on the same instants, never going down: the stack's top is what was spent so far
    assert len({json.dumps(t["x"]) for t in spend}) == 1
    assert all(t["y"] == sorted(t["y"]) and t["y"][0] == 0.0 for t in spend)
    stack_top = sum(t["y"][-1] for t in spend)
    budget = next(m for m in at.metric if m.label == "Daily budget")
    assert budget.value == "$100.00"  # the default rules' daily-budget-burn
    assert any("budget is far above today's projected spend" in c.value for c in at.caption)
    spent = next(m for m in at.metric if m.label == "Spent today")
    # what the collector's overview says was spent since UTC midnight (the seeded tasks' $0.0446 and the
    # over-budget task's $0.05, when all of them started today), whatever time the test runs
    now = time.time_ns()
    today = httpx.get(
        f"{alerting_collector}/api/query/overview",
        params={"start_ns": now - now % 86_400_000_000_000, "end_ns": now + 10**9, "format": "json"},
        timeout=10,
    ).json()
    spend_today = today["rows"][0][today["columns"].index("spend_usd")]
    assert spent.value == theme.usd(spend_today) == theme.usd(stack_top)


def test_overview_lists_firing_alerts_and_the_banner_links_to_alerts(alerts_app: AppRunner) -> None:
    at = alerts_app()
    shown = texts(at)
    assert "1 alert(s) firing" in shown and f"**task-over-budget** (critical) · 1 task: 5.00{X} >= 1.00{X}" in shown
    banner = [target for label, target in links(at) if label == "Open Alerts"]
    assert banner and banner[0].startswith("alerts")


def test_empty_state_says_what_to_do(app_at: Callable[[str], AppRunner], empty_collector: str) -> None:
    at = app_at(empty_collector)("alerts")
    assert any("No alert is firing" in s.value for s in at.success)
    assert any("No spend today yet" in i.value for i in at.info)
    assert not any(label == "Open Alerts" for label, _ in links(at))  # no banner when nothing fires


SMALL_BUDGET_RULES = """[[rules]]
name = "team-budget"
metric = "budget_burn"
daily_budget_usd = 0.10
window = "1h"
comparison = ">"
threshold = 1.0
"""


def test_a_budget_within_reach_is_drawn_on_the_burn_down(
    app_at: Callable[[str], AppRunner], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("small-budget")
    rules = folder / "rules.toml"
    rules.write_text(SMALL_BUDGET_RULES)
    config = CollectorConfig(db_path=folder / "a.duckdb", host="127.0.0.1", port=0, alert_rules_path=str(rules))
    with CollectorServer(config) as server:
        seed(server.url)
        at = app_at(server.url)("alerts")
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        assert [a["text"] for a in spec["layout"]["annotations"]] == ["budget $0.1000"]
        assert next(m for m in at.metric if m.label == "Daily budget").value == "$0.1000"
        rules_table = next(df.value for df in at.dataframe if "metric" in df.value.columns)
        assert list(rules_table["name"]) == ["team-budget"]


PENDING_PER_WORKFLOW = """[[rules]]
name = "wf-spend"
metric = "spend"
scope = "workflow"
window = "1h"
comparison = ">"
threshold = 0.0
for = "1h"
"""


def test_every_open_alert_is_listed_page_by_page_and_pending_ones_say_since_when(
    app_at: Callable[[str], AppRunner], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(PENDING_PER_WORKFLOW)
    config = CollectorConfig(
        db_path=tmp_path / "a.duckdb", host="127.0.0.1", port=0, alert_rules_path=str(rules), alert_interval_s=0.5
    )
    with CollectorServer(config) as server:
        for i in range(30):  # 30 workflows that spent: 30 pending alerts, one per workflow
            post_task(server.url, over_budget_task(f"{i + 1:032x}", workflow=f"wf{i:02d}"))
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up:
            body = httpx.get(f"{server.url}/api/alerts", params={"state": "pending"}, timeout=10).json()
            if body["total"] == 30:
                break
            time.sleep(0.2)
        assert body["total"] == 30
        at = app_at(server.url)("alerts")
        assert "Firing now: 0" in [s.value for s in at.subheader]
        cards = [m.value for m in at.markdown if m.value.startswith(":orange[:material/warning:] **wf-spend**")]
        assert len(cards) == 25  # the first page
        since = [m.value for m in at.markdown if "pending since" in m.value]
        assert len(since) == 25 and not any("n/a" in v for v in since)
        pager = at.number_input(key="alerts_page")
        assert pager.max == 2
        pager.set_value(2).run()
        second = [m.value for m in at.markdown if m.value.startswith(":orange[:material/warning:] **wf-spend**")]
        assert len(second) == 5 and not set(second) & set(cards)  # the other 5, none twice
        assert not any("agentdeck alerts list" in c.value for c in at.caption)  # no pointer to the CLI
