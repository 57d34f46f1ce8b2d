"""The alert engine: rules from TOML, evaluation over the `spans` table, alert state, webhooks.

Entry points for the collector, the CLI and the dashboard:

- `load_rules(path) -> RuleSet` (raises `RulesError` listing every problem)
- `AlertService(conn, rules, interval_s=...)`: `.start()`, `.stop()`, `.notify_spans_arrived(trace_ids)`
- `evaluate(conn, rules, now_ns) -> list[AlertChange]`, `check(conn, rules, now_ns) -> CheckResult`
- `list_alerts(conn, state=None, limit, offset)`, `list_deliveries(conn)`, `list_rule_status(conn)` -> pyarrow.Table;
  `count_alerts(conn, state=None)` -> int
- `acknowledge(conn, alert_id)`, `silence(conn, alert_id, until_ns)`
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
from agentdeck.collector.alerts.observe import Observation, observe_rule
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
from agentdeck.collector.alerts.state import (
    ALERT_STATES,
    Alert,
    acknowledge,
    count_alerts,
    ensure_tables,
    get_alert,
    list_alerts,
    list_deliveries,
    list_rule_status,
    silence,
)

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
    "acknowledge",
    "check",
    "count_alerts",
    "ensure_tables",
    "evaluate",
    "evaluate_all",
    "generic_payload",
    "get_alert",
    "list_alerts",
    "list_deliveries",
    "list_rule_status",
    "load_rules",
    "observe_rule",
    "parse_duration",
    "parse_rules",
    "silence",
    "slack_payload",
]
