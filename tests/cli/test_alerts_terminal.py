"""`agentdeck alerts check` and `alerts list` print span-supplied names inert: an agent named with an
ANSI escape or a newline cannot clear the user's terminal or forge a line of output."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.server import CollectorServer
from tests.dashboard.alerts_seed import post_task
from tests.dashboard.otlp_seed import TraceBuilder

EVIL = "evil\x1b[2J\x1b]0;pwned\x07\nFIRING critical forged-alert\u202e"
RULES = (
    '[[rules]]\nname = "loop"\nmetric = "runaway_loop"\nwindow = "1h"\ncomparison = ">"\nthreshold = 1\n'
    'severity = "critical"\n\n[[rules]]\nname = "agent-errors"\nmetric = "error_rate"\nscope = "agent"\n'
    'window = "1h"\ncomparison = ">"\nthreshold = 0.1\nseverity = "critical"\n'
)


def agentdeck(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from agentdeck.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def looping_task(trace_id: str) -> TraceBuilder:
    t = TraceBuilder(trace_id, time.time_ns() - 60 * 10**9)
    root = t.workflow("support_triage", 3000, "success")
    for i in range(3):
        t.agent(root, EVIL, 10 + i * 100, 50, error="boom")
    return t


def assert_inert(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "forged-alert" in out  # the name is still shown, escaped on its own line
    assert not any(line.startswith("FIRING critical forged") for line in out.splitlines())
    assert "evil\\x1b[2J" in out


def test_alert_output_escapes_control_characters(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    db = tmp_path / "agentdeck.duckdb"
    config = CollectorConfig(db_path=db, host="127.0.0.1", port=0, alert_rules_path=rules, alert_interval_s=0.2)
    with CollectorServer(config) as server:
        post_task(server.url, looping_task("e" * 32))
        give_up = time.monotonic() + 30
        while len(httpx.get(f"{server.url}/api/alerts", timeout=10).json()["alerts"]) < 2:
            assert time.monotonic() < give_up, "the alerts did not fire"
            time.sleep(0.1)
        listed = agentdeck("alerts", "list", "--collector-url", server.url)
        assert listed.returncode == 0, listed.stderr
        assert_inert(listed.stdout)
        checked = agentdeck("alerts", "check", "--collector-url", server.url, "--rules", str(rules))
        assert checked.returncode == 1, checked.stderr
        assert_inert(checked.stdout)
