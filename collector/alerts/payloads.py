"""What a webhook receives: a generic JSON document, or a Slack incoming-webhook message.

Both are built from the stored `Alert` only, so a retry posts exactly the same body.
"""

from __future__ import annotations

from typing import Final

from agentdeck.collector.alerts.state import Alert

_SEVERITY_MARK: Final = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def trace_link(dashboard_url: str | None, trace_id: str) -> str | None:
    return f"{dashboard_url.rstrip('/')}/?trace_id={trace_id}" if dashboard_url else None


def _headline(alert: Alert, event: str) -> str:
    state = "RESOLVED" if event == "resolved" else "FIRING"
    return (
        f"[{alert.severity.upper()}] {state} {alert.rule}: {alert.metric} = {alert.value:.4g} "
        f"({alert.comparison} {alert.threshold:g}) for {alert.target}"
    )


def generic_payload(alert: Alert, event: str, dashboard_url: str | None = None) -> dict[str, object]:
    """The JSON body posted to `kind = "generic"` channels. Identical on every retry."""
    return {
        "dedupe_key": f"agentdeck-alert-{alert.id}-{event}",
        "event": event,
        "summary": _headline(alert, event),
        "alert": {
            "id": alert.id,
            "rule": alert.rule,
            "metric": alert.metric,
            "severity": alert.severity,
            "state": alert.state,
            "scope": alert.scope,
            "group": alert.group_value,
            "target": alert.target,
            "value": alert.value,
            "comparison": alert.comparison,
            "threshold": alert.threshold,
            "first_seen_ns": alert.first_seen_ns,
            "last_seen_ns": alert.last_seen_ns,
            "fired_ns": alert.fired_ns,
            "resolved_ns": alert.resolved_ns,
            "detail": alert.detail,
            "trace_ids": list(alert.trace_ids),
            "trace_links": [trace_link(dashboard_url, t) for t in alert.trace_ids] if dashboard_url else [],
        },
    }


def slack_payload(alert: Alert, event: str, dashboard_url: str | None = None) -> dict[str, object]:
    """A Slack incoming-webhook body: `text` (fallback and notifications) plus `blocks`."""
    mark = ":white_check_mark:" if event == "resolved" else _SEVERITY_MARK.get(alert.severity, "")
    text = f"{mark} {_headline(alert, event)}".strip()
    lines = [f"*{text}*"]
    if alert.detail:
        lines.append(alert.detail)
    traces = list(alert.trace_ids[:5])
    if traces:
        shown = [f"<{trace_link(dashboard_url, t)}|{t[:12]}>" if dashboard_url else f"`{t[:12]}`" for t in traces]
        more = f" (+{len(alert.trace_ids) - len(traces)} more)" if len(alert.trace_ids) > len(traces) else ""
        lines.append("Traces: " + ", ".join(shown) + more)
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"agentdeck alert #{alert.id} · {alert.scope}"}],
            },
        ],
    }
