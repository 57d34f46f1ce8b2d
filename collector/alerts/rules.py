"""Alert rules: the TOML format, its validation, and the typed `RuleSet` the evaluator runs.

A rules file holds `[channels.<name>]` tables (webhooks) and `[[rules]]` entries; see docs/ALERTS.md.
Validation collects every problem before failing, and each message names the rule, the key and
what to write instead, so a broken file is fixed in one pass.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa

from agentdeck.collector.alerts.metrics import METRICS, MetricSpec

SCOPE_KINDS: Final = ("all", "workflow", "agent", "model", "service")
COMPARISONS: Final = (">", ">=", "<", "<=")
SEVERITIES: Final = ("info", "warning", "critical")
CHANNEL_KINDS: Final = ("generic", "slack")
STATS: Final = ("avg", "p95", "max")

DEFAULT_RULES_PATH: Final = Path(__file__).with_name("default_rules.toml")

_DURATION = re.compile(r"^\s*(\d{1,12})\s*(s|m|h|d)\s*$")
MAX_DURATION_NS: Final = 3650 * 86_400_000_000_000  # ten years: longer ones overflow timestamps
_UNIT_NS: Final = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}

_RULE_KEYS: Final = (
    "name",
    "metric",
    "scope",
    "scope_value",
    "window",
    "threshold",
    "comparison",
    "severity",
    "for",
    "channels",
    "description",
    "min_samples",
    "stat",
    "baseline_window",
    "daily_budget_usd",
)
# Keys only some metrics accept (the metric's `options` lists them).
_OPTION_KEYS: Final = ("stat", "baseline_window", "daily_budget_usd")
_CHANNEL_KEYS: Final = ("url", "kind", "timeout_s")


_RULES_SCHEMA: Final = pa.schema(
    [
        (name, pa.float64() if name == "threshold" else pa.string())
        for name in (
            "name",
            "metric",
            "scope",
            "window",
            "comparison",
            "threshold",
            "severity",
            "for",
            "channels",
            "description",
        )
    ]
)


class RulesError(ValueError):
    """A rules file that cannot be used; `problems` holds one line per thing to fix."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the alert rules:\n{lines}")


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    url: str
    kind: str  # CHANNEL_KINDS
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str  # SCOPE_KINDS
    value: str | None = None  # None: one alert group per distinct value (or one group for "all")

    def describe(self) -> str:
        if self.kind == "all":
            return "all"
        return f"{self.kind}={self.value}" if self.value is not None else f"each {self.kind}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    metric: str  # a key of METRICS
    scope: Scope
    window_ns: int
    threshold: float
    comparison: str  # COMPARISONS
    severity: str  # SEVERITIES
    for_ns: int
    channels: tuple[str, ...]
    description: str = ""
    min_samples: int = 1
    stat: str = "avg"  # STATS; cost_per_task and messages_per_task
    baseline_window_ns: int = 7 * _UNIT_NS["d"]  # tokens_per_task_vs_baseline
    daily_budget_usd: float | None = None  # budget_burn

    @property
    def spec(self) -> MetricSpec:
        return METRICS[self.metric]

    def breaches(self, value: float) -> bool:
        return compare(value, self.comparison, self.threshold)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    channels: dict[str, Channel]
    source: str = "<rules>"

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_table(self) -> pa.Table:
        """The rules as rows, for the query API and the dashboard's rules panel."""
        return pa.Table.from_pylist(
            [
                {
                    "name": r.name,
                    "metric": r.metric,
                    "scope": r.scope.describe(),
                    "window": format_duration(r.window_ns),
                    "comparison": r.comparison,
                    "threshold": r.threshold,
                    "severity": r.severity,
                    "for": format_duration(r.for_ns),
                    "channels": ", ".join(r.channels),
                    "description": r.description,
                }
                for r in self.rules
            ],
            schema=_RULES_SCHEMA,
        )

    @property
    def task_check_rules(self) -> tuple[Rule, ...]:
        """Rules evaluated again as soon as spans of a task arrive (budget breach, loops)."""
        return tuple(r for r in self.rules if r.spec.per_task)


def compare(value: float, comparison: str, threshold: float) -> bool:
    if comparison == ">":
        return value > threshold
    if comparison == ">=":
        return value >= threshold
    if comparison == "<":
        return value < threshold
    if comparison == "<=":
        return value <= threshold
    raise ValueError(f"unknown comparison {comparison!r}; use one of {', '.join(COMPARISONS)}")


def parse_duration(text: str) -> int:
    """'30s', '5m', '1h', '7d' -> nanoseconds. Raises ValueError with what to write instead."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text[:40]!r} is not a duration; write a whole number and a unit: 30s, 5m, 1h or 7d")
    ns = int(m.group(1)) * _UNIT_NS[m.group(2)]
    if ns > MAX_DURATION_NS:
        raise ValueError(f"{text.strip()[:40]!r} is longer than ten years (3650d); write a shorter duration")
    return ns


def format_duration(ns: int) -> str:
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_NS[unit]
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns / 1e9:g}s"


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rules file (default: the shipped default_rules.toml)."""
    p = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise RulesError(str(p), [f"cannot read the rules file: {e.strerror or e}"]) from e
    return parse_rules(text, source=str(p))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RulesError(source, [f"not valid TOML: {e}"]) from e
    except RecursionError:
        raise RulesError(source, ["the TOML is nested too deeply to read; a rules file needs two levels"]) from None
    problems: list[str] = []
    for key in data:
        if key not in ("channels", "rules"):
            problems.append(f"unknown top-level key {key!r}{_suggest(key, ('channels', 'rules'))}")
    channels = _parse_channels(data.get("channels", {}), problems)
    raw_rules = data.get("rules", [])
    rules: list[Rule] = []
    if not isinstance(raw_rules, list):
        problems.append("'rules' must be an array of tables: write each rule under a [[rules]] header")
        raw_rules = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule = _parse_rule(i, raw, channels, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(
                f"rule {rule.name!r} (rules[{i}]): key 'name': the name is used twice; names must be unique"
            )
        seen.add(rule.name)
        rules.append(rule)
    if problems:
        raise RulesError(source, problems)
    return RuleSet(rules=tuple(rules), channels=channels, source=source)


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"


def _parse_channels(raw: object, problems: list[str]) -> dict[str, Channel]:
    if not isinstance(raw, dict):
        problems.append("'channels' must be a table of channels: write [channels.<name>] with url and kind")
        return {}
    out: dict[str, Channel] = {}
    for name, body in raw.items():
        where = f"channel {name!r}"
        if not isinstance(body, dict):
            problems.append(f"{where}: must be a table with url and kind, like [channels.{name}]")
            continue
        for key in body:
            if key not in _CHANNEL_KEYS:
                problems.append(f"{where}: unknown key {key!r}{_suggest(key, _CHANNEL_KEYS)}")
        url = body.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
            problems.append(f"{where}: key 'url': needs an http:// or https:// URL, got {url!r}")
            continue
        kind = body.get("kind", "generic")
        if kind not in CHANNEL_KINDS:
            problems.append(
                f"{where}: key 'kind': {kind!r} is not a channel kind; use one of {', '.join(CHANNEL_KINDS)}"
            )
            continue
        timeout = body.get("timeout_s", 5.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            problems.append(f"{where}: key 'timeout_s': needs a positive number of seconds, got {timeout!r}")
            continue
        out[name] = Channel(name=name, url=url, kind=kind, timeout_s=float(timeout))
    return out


def _parse_rule(i: int, raw: object, channels: dict[str, Channel], problems: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(f"rules[{i}]: each rule must be a table under a [[rules]] header")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"rules[{i}]: key 'name': every rule needs a non-empty name (a string)")
        return None
    where = f"rule {name!r} (rules[{i}])"
    before = len(problems)

    def bad(key: str, msg: str) -> None:
        problems.append(f"{where}: key {key!r}: {msg}")

    for key in raw:
        if key not in _RULE_KEYS:
            problems.append(f"{where}: unknown key {key!r}{_suggest(key, _RULE_KEYS)}")
    for key in ("metric", "window", "threshold", "comparison"):
        if key not in raw:
            bad(key, "is required")
    metric = raw.get("metric")
    spec: MetricSpec | None = None
    if "metric" in raw:
        if isinstance(metric, str) and metric in METRICS:
            spec = METRICS[metric]
        else:
            bad("metric", f"{metric!r} is not a metric; use one of {', '.join(METRICS)}")
    scope_kind = raw.get("scope", "all")
    if scope_kind not in SCOPE_KINDS:
        bad("scope", f"{scope_kind!r} is not a scope; use one of {', '.join(SCOPE_KINDS)}")
    scope_value = raw.get("scope_value")
    if scope_value is not None and (not isinstance(scope_value, str) or not scope_value):
        bad("scope_value", f"needs a non-empty string (the {scope_kind} name), got {scope_value!r}")
    if scope_value is not None and scope_kind == "all":
        bad("scope_value", 'has no meaning with scope = "all"; set scope to workflow, agent, model or service')
    durations: dict[str, int] = {}
    for key, default in (("window", None), ("for", "0s"), ("baseline_window", "7d")):
        value = raw.get(key, default)
        if value is None:
            continue
        try:
            if not isinstance(value, str):
                raise ValueError(f'{value!r} is not a duration; write a string like "5m" (units s, m, h, d)')
            durations[key] = parse_duration(value)
        except ValueError as e:
            bad(key, str(e))
    if durations.get("window") == 0:
        bad("window", "must be longer than 0s")
    threshold = raw.get("threshold")
    if "threshold" in raw and (not isinstance(threshold, int | float) or isinstance(threshold, bool)):
        bad("threshold", f"needs a number, got {threshold!r}")
    comparison = raw.get("comparison")
    if "comparison" in raw and comparison not in COMPARISONS:
        bad("comparison", f"{comparison!r} is not a comparison; use one of {', '.join(COMPARISONS)}")
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        bad("severity", f"{severity!r} is not a severity; use one of {', '.join(SEVERITIES)}")
    chans = raw.get("channels", [])
    if not isinstance(chans, list) or not all(isinstance(c, str) for c in chans):
        bad("channels", 'needs a list of channel names, like ["oncall"]')
        chans = []
    for c in chans:
        if c not in channels:
            known = ", ".join(channels) or "none defined"
            bad("channels", f"no channel named {c!r}; define [channels.{c}] with a url, or use one of: {known}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        bad("description", "needs a string")
    min_samples = raw.get("min_samples", 1)
    if not isinstance(min_samples, int) or isinstance(min_samples, bool) or min_samples < 1:
        bad("min_samples", f"needs a whole number >= 1, got {min_samples!r}")
    stat = raw.get("stat", "avg")
    if stat not in STATS:
        bad("stat", f"{stat!r} is not a statistic; use one of {', '.join(STATS)}")
    budget = raw.get("daily_budget_usd")
    if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool) or budget <= 0):
        bad("daily_budget_usd", f"needs a positive number of dollars, got {budget!r}")
    if spec is not None:
        for key in _OPTION_KEYS:
            if key in raw and key not in spec.options:
                accepted = ", ".join(m for m, s in METRICS.items() if key in s.options)
                bad(key, f"does not apply to metric {spec.name!r}; it applies to: {accepted}")
        if spec.per_task and "min_samples" in raw:
            bad("min_samples", f"does not apply to the per-task check {spec.name!r} (each task is judged alone)")
        if "daily_budget_usd" in spec.options and budget is None:
            bad("daily_budget_usd", f"metric {spec.name!r} needs the daily budget in dollars, like 50")
    if len(problems) > before or spec is None:
        return None
    assert isinstance(threshold, int | float) and isinstance(comparison, str)
    return Rule(
        name=name,
        metric=spec.name,
        scope=Scope(kind=str(scope_kind), value=scope_value),
        window_ns=durations["window"],
        threshold=float(threshold),
        comparison=comparison,
        severity=str(severity),
        for_ns=durations["for"],
        channels=tuple(chans),
        description=str(description),
        min_samples=int(min_samples),
        stat=str(stat),
        baseline_window_ns=durations["baseline_window"],
        daily_budget_usd=float(budget) if budget is not None else None,
    )
