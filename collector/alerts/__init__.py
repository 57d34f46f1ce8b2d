"""The alert engine: rules from TOML, evaluation over the `spans` table, alert state, webhooks.

Entry points for the collector, the CLI and the dashboard:

- `load_rules(path) -> RuleSet` (raises `RulesError` listing every problem)
- `AlertService(store.session, rules, interval_s=...)`: `.start()`, `.stop()`, `.notify_spans_arrived(trace_ids)`
- `evaluate(session, rules, now_ns) -> list[AlertChange]`, `check(session, rules, now_ns) -> CheckResult`

Everything stored (alert state, deliveries, rule status, the metrics' SQL) goes through the store's
`StoreSession` (`agentdeck.collector.store.base`): `session.list_alerts(state, limit, offset)`,
`session.count_alerts(state)`, `session.acknowledge(...)`.
"""

from agentdeck.collector.alerts.delivery import Deliverer, DeliveryPolicy
from agentdeck.collector.alerts.evaluator import (
    AlertChange,
    CheckItem,
    CheckResult,
    Evaluation,
    RuleFailure,
    check,
    evaluate,
    evaluate_all,
)
from agentdeck.collector.alerts.metrics import METRICS, MetricSpec
from agentdeck.collector.alerts.observation import Observation
from agentdeck.collector.alerts.payloads import generic_payload, slack_payload
from agentdeck.collector.alerts.rules import (
    DEFAULT_RULES_PATH,
    Channel,
    Rule,
    RulesError,
    RuleSet,
    Scope,
    load_rules,
    parse_duration,
    parse_rules,
)
from agentdeck.collector.alerts.service import AlertService
from agentdeck.collector.alerts.state import ALERT_STATES, Alert

__all__ = [
    "ALERT_STATES",
    "DEFAULT_RULES_PATH",
    "METRICS",
    "Alert",
    "AlertChange",
    "AlertService",
    "Channel",
    "CheckItem",
    "CheckResult",
    "Deliverer",
    "DeliveryPolicy",
    "Evaluation",
    "MetricSpec",
    "Observation",
    "Rule",
    "RuleFailure",
    "RuleSet",
    "RulesError",
    "Scope",
    "check",
    "evaluate",
    "evaluate_all",
    "generic_payload",
    "load_rules",
    "parse_duration",
    "parse_rules",
    "slack_payload",
]
