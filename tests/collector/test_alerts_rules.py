"""The rules file: the shipped defaults load, and a broken file says which rule, which key, and
what to write instead, all problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from alerts_spans import rules_toml

from agentdeck.collector.alerts import DEFAULT_RULES_PATH, METRICS, RulesError, load_rules, parse_duration, parse_rules
from agentdeck.collector.alerts import rules as rules_module

CHANNELS = """
[channels.oncall]
url = "http://127.0.0.1:9/hook"
kind = "slack"

[channels.audit]
url = "https://example.invalid/alerts"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        parse_rules(text, source="team.toml")
    assert str(info.value).startswith("team.toml: ")
    return info.value.problems


def test_default_rules_follow_the_seeds() -> None:
    rules = load_rules()
    by_metric = {r.metric: r for r in rules.rules}
    assert set(METRICS) <= set(by_metric), "every metric has a shipped example"
    p95 = by_metric["p95_latency_ms"]
    assert (p95.comparison, p95.threshold) == (">", 30_000)
    assert (by_metric["messages_per_task"].comparison, by_metric["messages_per_task"].threshold) == (">", 20)
    assert by_metric["tokens_per_task_vs_baseline"].threshold == 2.0
    assert (by_metric["retry_rate"].comparison, by_metric["retry_rate"].threshold) == (">", 0.15)
    assert (by_metric["completion_rate"].comparison, by_metric["completion_rate"].threshold) == ("<", 0.95)
    assert (by_metric["state_conflict_rate"].comparison, by_metric["state_conflict_rate"].threshold) == (">", 0.05)
    assert {r.name for r in rules.task_check_rules} == {"task-over-budget", "runaway-agent-loop", "repeated-tool-call"}
    assert rules.source == str(DEFAULT_RULES_PATH)


def test_a_full_rule_parses_into_typed_fields() -> None:
    text = CHANNELS + rules_toml(
        "p95_latency_ms",
        30000,
        scope="agent",
        scope_value="researcher",
        window="15m",
        for_="5m",
        severity="critical",
        channels=["oncall", "audit"],
        min_samples=3,
        description="slow researcher",
    )
    rs = parse_rules(text)
    [rule] = rs.rules
    assert rule.scope.kind == "agent" and rule.scope.value == "researcher"
    assert rule.window_ns == 15 * 60 * 10**9 and rule.for_ns == 5 * 60 * 10**9
    assert rule.channels == ("oncall", "audit") and rule.severity == "critical" and rule.min_samples == 3
    assert rs.channels["oncall"].kind == "slack" and rs.channels["audit"].kind == "generic"
    assert rule.breaches(30001) and not rule.breaches(30000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3m", 180 * 10**9),
        ("30s", 30 * 10**9),
        ("24h", 86_400 * 10**9),
        ("7d", 7 * 86_400 * 10**9),
    ],
)
def test_durations(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


def test_every_problem_is_reported_with_rule_key_and_fix() -> None:
    text = (
        CHANNELS
        + rules_toml("p95_latency", 3, window="5 minutes", severity="urgent", channels=["pager"])
        + rules_toml("retry_rate", 0.1, ">>", name="retries", treshold=2, scope="team")
        + rules_toml("budget_burn", 1.0, name="burn")
        + rules_toml("runaway_loop", 8, name="loop", stat="max", min_samples=3)
    )
    found = problems(text)
    expected = [
        "rule 'p95_latency' (rules[0]): key 'metric': 'p95_latency' is not a metric; use one of cost_per_task,",
        "rule 'p95_latency' (rules[0]): key 'window': '5 minutes' is not a duration; write a whole number and a "
        "unit: 30s, 5m, 1h or 7d",
        "rule 'p95_latency' (rules[0]): key 'severity': 'urgent' is not a severity; use one of info, warning, critical",
        "rule 'p95_latency' (rules[0]): key 'channels': no channel named 'pager'; define [channels.pager] with a url, "
        "or use one of: oncall, audit",
        "rule 'retries' (rules[1]): unknown key 'treshold'; did you mean 'threshold'?",
        "rule 'retries' (rules[1]): key 'scope': 'team' is not a scope; use one of all, workflow, agent, model, "
        "service",
        "rule 'retries' (rules[1]): key 'comparison': '>>' is not a comparison; use one of >, >=, <, <=",
        "rule 'burn' (rules[2]): key 'daily_budget_usd': metric 'budget_burn' needs the daily budget in dollars",
        "rule 'loop' (rules[3]): key 'stat': does not apply to metric 'runaway_loop'; it applies to: cost_per_task, "
        "messages_per_task",
        "rule 'loop' (rules[3]): key 'min_samples': does not apply to the per-task check 'runaway_loop'",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in found), f"missing: {line}\nin: {found}"
    assert len(found) == len(expected)


def test_missing_keys_duplicates_and_bad_channels() -> None:
    text = """
[channels.hook]
url = "ftp://nope"

[channels.chat]
url = "http://127.0.0.1:1/x"
kind = "teams"

[[rules]]
name = "a"
metric = "spend"

[[rules]]
name = "a"
metric = "spend"
window = "1h"
threshold = 1
comparison = ">"
scope = "all"
scope_value = "x"
"""
    found = problems(text)
    assert "channel 'hook': key 'url': needs an http:// or https:// URL, got 'ftp://nope'" in found
    assert "channel 'chat': key 'kind': 'teams' is not a channel kind; use one of generic, slack" in found
    assert "rule 'a' (rules[0]): key 'window': is required" in found
    assert "rule 'a' (rules[0]): key 'threshold': is required" in found
    assert "rule 'a' (rules[0]): key 'comparison': is required" in found
    assert any(
        p.startswith("rule 'a' (rules[1]): key 'scope_value': has no meaning with scope = \"all\"") for p in found
    )


def test_duplicate_names_are_refused() -> None:
    found = problems(rules_toml("spend", 1, name="x") + rules_toml("spend", 2, name="x"))
    assert found == ["rule 'x' (rules[1]): key 'name': the name is used twice; names must be unique"]


def test_not_toml_and_unreadable_file(tmp_path: Path) -> None:
    found = problems("[[rules]\nname = ")
    assert len(found) == 1 and found[0].startswith("not valid TOML: ")
    with pytest.raises(RulesError, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.toml")


def test_load_rules_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(rules_toml("spend", 10, window="24h", severity="critical"))
    rs = load_rules(path)
    assert rs.source == str(path) and rs.rules[0].window_ns == 86_400 * 10**9


def test_the_docs_describe_every_metric_and_key_and_their_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ALERTS.md").read_text()
    for name in METRICS:
        assert f"| `{name}` |" in doc, f"metric {name} is not documented"
    for key in rules_module._RULE_KEYS:
        assert f"| `{key}` |" in doc, f"rule key {key} is not documented"
    for key in rules_module._CHANNEL_KEYS:
        assert f"{key} = " in doc, f"channel key {key} is not documented"
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    rs = parse_rules(example)
    assert rs.rules[0].name == "agent-p95-latency" and rs.channels["oncall"].kind == "slack"


def test_rules_as_a_table_for_the_dashboard() -> None:
    rs = parse_rules(rules_toml("retry_rate", 0.15, scope="agent", window="30m", for_="5m", severity="critical"))
    [row] = rs.to_table().to_pylist()
    assert row == {
        "name": "retry_rate",
        "metric": "retry_rate",
        "scope": "each agent",
        "window": "30m",
        "comparison": ">",
        "threshold": 0.15,
        "severity": "critical",
        "for": "5m",
        "channels": "",
        "description": "",
    }
