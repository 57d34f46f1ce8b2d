"""Turn observations into alert state: pending -> firing after `for`, resolution, dedupe.

One alert row per (rule, scope group) while it is pending or firing; a repeated breach updates that
row's value, last_seen and traces. Per-task checks group the same way: one alert per rule and scope
group listing the offending tasks (the demo raised one card per task before, 84 in 15 minutes). A
group that stops breaching (or has no data left in the window) resolves; a pending alert that stops
breaching is dropped without ever notifying. A rule that fails is recorded in `alert_rule_status`
and never stops the other rules.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Final

from agentdeck.collector.alerts.observation import MAX_TASKS, MAX_TRACES, Observation
from agentdeck.collector.alerts.rules import Rule, RuleSet, format_duration
from agentdeck.collector.alerts.state import Alert
from agentdeck.collector.store.base import AlertUpdate, NewAlert, StoreSession

log = logging.getLogger(__name__)

CHANGE_KINDS: Final = ("pending", "firing", "updated", "resolved")
MAX_CHECK_FIRING: Final = 1000  # firing groups a check answers; the rest are counted in firing_omitted
_NOT_REACHED: Final = "not evaluated: the check was stopped (past check_timeout_s, or the collector is stopping)"


@dataclass(frozen=True, slots=True)
class AlertChange:
    kind: str  # CHANGE_KINDS; "firing" and "resolved" are the ones that notify
    alert: Alert  # the alert as stored after the change

    @property
    def notifies(self) -> bool:
        return self.kind in ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    error: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    changes: list[AlertChange]
    failures: list[RuleFailure]


def evaluate(
    session: StoreSession, rules: RuleSet, now_ns: int, trace_ids: Sequence[str] | None = None
) -> list[AlertChange]:
    """Evaluate every rule at `now_ns`, persist alert state, return what changed.

    With `trace_ids`, only the per-task checks run, limited to those tasks (the fast path after
    spans arrive); that path fires and updates alerts but leaves resolution to the full runs.
    """
    return evaluate_all(session, rules, now_ns, trace_ids).changes


def evaluate_all(
    session: StoreSession, rules: RuleSet, now_ns: int, trace_ids: Sequence[str] | None = None
) -> Evaluation:
    """`evaluate`, also returning the rules that failed (their errors are in the rule status too)."""
    selected = rules.rules if trace_ids is None else rules.task_check_rules
    changes: list[AlertChange] = []
    failures: list[RuleFailure] = []
    for rule in selected:
        try:
            observations = session.observe(rule, now_ns, trace_ids)
            with session.alert_transaction():
                changes.extend(_apply(session, rule, observations, now_ns, partial=trace_ids is not None))
            if trace_ids is None:
                session.record_rule_status(rule.name, rule.metric, now_ns, len(observations), None)
        except Exception as e:  # a broken rule must never stop the others
            message = f"{type(e).__name__}: {e}"
            log.warning("alert rule %r failed: %s", rule.name, message)
            failures.append(RuleFailure(rule.name, message))
            with contextlib.suppress(Exception):
                session.record_rule_status(rule.name, rule.metric, now_ns, 0, message)
    if trace_ids is None:
        retired = session.retire_rules([r.name for r in rules.rules], now_ns)
        changes.extend(AlertChange("resolved", alert) for alert in retired)
    return Evaluation(changes, failures)


def _merge_traces(new: tuple[str, ...], old: tuple[str, ...], cap: int = MAX_TRACES) -> tuple[str, ...]:
    merged = list(dict.fromkeys(new + old))
    return tuple(merged[:cap])


def _worse(rule: Rule, a: float, b: float) -> float:
    """The value further past the threshold (a per-task alert shows its worst task)."""
    return max(a, b) if rule.comparison in (">", ">=") else min(a, b)


def _apply(
    session: StoreSession, rule: Rule, observations: list[Observation], now_ns: int, *, partial: bool
) -> list[AlertChange]:
    changes: list[AlertChange] = []
    active = session.active_alerts(rule.name)
    seen: set[str] = set()
    for o in observations:
        seen.add(o.group)
        current = active.get(o.group)
        if o.breached:
            change = _breach(session, rule, o, current, now_ns, partial=partial)
            if change is not None:
                changes.append(change)
        elif current is not None and not partial:  # a few new tasks that pass say nothing of the others
            changes.extend(_clear(session, current, now_ns, o))
    if not partial:
        for group, current in active.items():
            if group not in seen:
                changes.extend(_clear(session, current, now_ns, None))
    return changes


def _breach(
    session: StoreSession, rule: Rule, o: Observation, current: Alert | None, now_ns: int, *, partial: bool
) -> AlertChange | None:
    if current is None:
        state = "firing" if rule.for_ns == 0 else "pending"
        alert = session.open_alert(
            NewAlert(
                rule=rule.name,
                metric=rule.metric,
                scope=rule.scope.describe(),
                group_value=o.group,
                severity=rule.severity,
                state=state,
                now_ns=now_ns,
                value=o.value,
                threshold=rule.threshold,
                comparison=rule.comparison,
                trace_ids=o.trace_ids,
                detail=o.detail,
            )
        )
        return AlertChange(state, alert)
    fire = current.state == "pending" and now_ns - current.first_seen_ns >= rule.for_ns
    state = "firing" if fire else current.state
    value, detail = o.value, o.detail
    if rule.spec.per_task:
        # A full evaluation lists the tasks breaching in the window now; the fast path only saw a few
        # new tasks, so it adds them to the list and keeps the worst value seen.
        traces = _merge_traces(o.trace_ids, current.trace_ids if partial else (), MAX_TASKS)
        if partial and _worse(rule, current.value, o.value) == current.value:
            value, detail = current.value, current.detail
    else:
        traces = _merge_traces(o.trace_ids, current.trace_ids)
    alert = session.update_alert(
        current.id,
        AlertUpdate(
            state=state,
            now_ns=now_ns,
            value=value,
            trace_ids=traces,
            detail=detail,
            fired_ns=now_ns if fire else None,
            severity=rule.severity,
            threshold=rule.threshold,
            comparison=rule.comparison,
        ),
    )
    if fire:
        return AlertChange("firing", alert)
    return AlertChange("updated", alert) if state == "firing" else None


def _clear(session: StoreSession, current: Alert, now_ns: int, o: Observation | None) -> list[AlertChange]:
    if current.state == "pending":
        session.drop_alert(current.id)
        return []
    value = o.value if o is not None else current.value
    return [AlertChange("resolved", session.resolve_alert(current.id, now_ns, value))]


@dataclass(frozen=True, slots=True)
class CheckItem:
    rule: str
    metric: str
    severity: str
    scope: str
    group: str
    value: float
    comparison: str
    threshold: float
    window: str
    trace_ids: list[str]
    detail: str | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    now_ns: int
    rules_evaluated: int
    firing: list[CheckItem] = field(default_factory=list)
    errors: list[RuleFailure] = field(default_factory=list)
    firing_omitted: int = 0  # firing groups left out past MAX_CHECK_FIRING

    @property
    def exit_code(self) -> int:
        """What `agentdeck alerts check` exits with: 1 when any alert fires, 2 when nothing fires but
        some rule could not be evaluated (a missing or broken store must not pass CI), else 0."""
        if self.firing:
            return 1
        return 2 if self.errors else 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "now_ns": self.now_ns,
                "rules_evaluated": self.rules_evaluated,
                "firing": [asdict(i) for i in self.firing],
                "errors": [asdict(e) for e in self.errors],
                "firing_omitted": self.firing_omitted,
            },
            indent=2,
        )


def check(session: StoreSession, rules: RuleSet, now_ns: int, stop: Callable[[], bool] | None = None) -> CheckResult:
    """One-shot, read-only: which rules breach right now (for cron and CI).

    Nothing is written, so it works on a read-only connection; `for` durations are not applied
    (a single look cannot know how long a condition has held). Bounded: once `stop()` says so (a
    deadline, a shutdown), the rules not reached are reported as errors; at most MAX_CHECK_FIRING
    firing groups are answered.
    """
    firing: list[CheckItem] = []
    errors: list[RuleFailure] = []
    omitted = 0
    for rule in rules.rules:
        if stop is not None and stop():
            errors.append(RuleFailure(rule.name, _NOT_REACHED))
            continue
        try:
            observations = session.observe(rule, now_ns)
        except Exception as e:  # report, keep checking the rest
            errors.append(RuleFailure(rule.name, f"{type(e).__name__}: {e}"))
            continue
        breached = [o for o in observations if o.breached]
        room = max(0, MAX_CHECK_FIRING - len(firing))
        omitted += max(0, len(breached) - room)
        firing.extend(
            CheckItem(
                rule=rule.name,
                metric=rule.metric,
                severity=rule.severity,
                scope=rule.scope.describe(),
                group=o.group,
                value=o.value,
                comparison=rule.comparison,
                threshold=rule.threshold,
                window=format_duration(rule.window_ns),
                trace_ids=list(o.trace_ids),
                detail=o.detail,
            )
            for o in breached[:room]
        )
    return CheckResult(
        now_ns=now_ns, rules_evaluated=len(rules.rules), firing=firing, errors=errors, firing_omitted=omitted
    )
