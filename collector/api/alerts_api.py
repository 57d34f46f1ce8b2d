"""The alerts over HTTP: list, one alert with its traces, acknowledge, silence, rules, deliveries,
and a one-shot check (what `agentdeck alerts check --collector-url` calls). See docs/ALERTS.md.

Every handler runs its store work through the query gate (`api.gate`: a thread and a store session of its
own, a bounded number at once); answers are JSON, errors are `{"error": message}` with 400 (bad
input), 404 (no such alert) or 503 with Retry-After (busy). A check is bounded: at most
MAX_CHECK_RULES rules in a submitted file, `check_timeout_s` in all, MAX_CHECK_FIRING groups answered.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentdeck.collector.alerts import (
    ALERT_STATES,
    Alert,
    AlertService,
    RulesError,
    RuleSet,
    check,
    parse_duration,
    parse_rules,
)
from agentdeck.collector.api import query_api
from agentdeck.collector.api.body import BodyBudget, read_body
from agentdeck.collector.api.gate import QueryGate
from agentdeck.collector.config import CollectorConfig
from agentdeck.collector.ingest.errors import IngestError
from agentdeck.collector.store.base import AlertConflict, StoreSession

MAX_LIMIT: Final = 1000
MAX_RULES_BYTES: Final = 256 * 1024
_WRITE_ATTEMPTS: Final = 5  # an acknowledge can meet the evaluator updating the same row: retry


MAX_CHECK_RULES: Final = 100  # rules a submitted rules file may hold for one check (each is a scan)


def alert_json(alert: Alert, now_ns: int) -> dict[str, Any]:
    """One alert as the API answers it: the stored fields plus `target` and `silenced`."""
    body = dataclasses.asdict(alert)
    body["trace_ids"] = list(alert.trace_ids)
    body["target"] = alert.target
    body["silenced"] = alert.silenced_at(now_ns)
    body["needs_attention"] = alert.needs_attention(now_ns)
    return body


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise IngestError(status=400, message=f"{name} must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise IngestError(status=400, message=f"{name} must be between {low} and {high}, got {value}")
    return value


def _alert_id(request: Request) -> int:
    return int(request.path_params["alert_id"])


def _retrying(work: Callable[[StoreSession], Any]) -> Callable[[StoreSession], Any]:
    """`work` retried when it meets the evaluator updating the same alert row."""

    def run(session: StoreSession) -> Any:
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                return work(session)
            except AlertConflict:
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise IngestError(
                        status=503, message="the alert is being updated by the evaluator; try again"
                    ) from None
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    return run


def _list(session: StoreSession, state: str | None, limit: int, offset: int) -> dict[str, Any]:
    """One page of alerts, firing first, then pending, then resolved (the order `list_alerts` gives),
    with `total`, the number of alerts of that state, so a client can page through all of them."""
    now = time.time_ns()
    return {
        "alerts": [alert_json(alert, now) for alert in session.list_alerts(state, limit, offset)],
        "total": session.count_alerts(state),
        "offset": offset,
    }


def _detail(session: StoreSession, alert_id: int) -> dict[str, Any]:
    alert = session.get_alert(alert_id)
    if alert is None:
        raise IngestError(status=404, message=f"no alert with id {alert_id}; GET /api/alerts lists them")
    by_id = {
        t.trace_id: dataclasses.asdict(t) | {"agents": list(t.agents)} for t in session.trace_summaries(alert.trace_ids)
    }
    return {
        "alert": alert_json(alert, time.time_ns()),
        "traces": [by_id[t] for t in alert.trace_ids if t in by_id],  # worst first, as stored
        "deliveries": query_api.json_rows(session.list_deliveries(alert_id, 100)),
    }


def routes(gate: QueryGate, service: AlertService | None, config: CollectorConfig) -> list[Route]:
    """The /api/alerts routes, reading the store through the query gate, with the running alert service."""
    bodies = BodyBudget(8 * MAX_RULES_BYTES)

    async def guarded(work: Callable[[StoreSession], Any]) -> Response:
        try:
            return await gate.read(lambda cursor: JSONResponse(_retrying(work)(cursor)))  # rendered off the loop
        except IngestError as exc:
            return query_api.error_json(exc)

    async def alerts(request: Request) -> Response:
        state = request.query_params.get("state") or None
        if state is not None and state not in ALERT_STATES:
            return JSONResponse(
                {"error": f"state {state[:40]!r} is not an alert state: use {', '.join(ALERT_STATES)}"},
                status_code=400,
            )
        try:
            limit = _int_param(request, "limit", 200, 1, MAX_LIMIT)
            offset = _int_param(request, "offset", 0, 0, 2**62)
        except IngestError as exc:
            return query_api.error_json(exc)
        assert limit is not None and offset is not None
        return await guarded(lambda c: _list(c, state, limit, offset))

    async def one_alert(request: Request) -> Response:
        alert_id = _alert_id(request)
        return await guarded(lambda c: _detail(c, alert_id))

    async def ack(request: Request) -> Response:
        alert_id = _alert_id(request)

        def work(session: StoreSession) -> dict[str, Any]:
            if not session.acknowledge(alert_id):
                raise IngestError(status=404, message=f"no alert with id {alert_id}; GET /api/alerts lists them")
            alert = session.get_alert(alert_id)
            assert alert is not None
            return {"alert": alert_json(alert, time.time_ns())}

        return await guarded(work)

    async def mute(request: Request) -> Response:
        alert_id = _alert_id(request)
        duration = request.query_params.get("duration")
        if duration is None:
            try:
                raw = await read_body(request, MAX_RULES_BYTES, config.body_timeout_s, bodies)
            except IngestError as exc:
                return query_api.error_json(exc)
            bodies.give_back(len(raw))
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = None
            duration = body.get("duration") if isinstance(body, dict) else None
        if not isinstance(duration, str) or not duration:
            return JSONResponse(
                {"error": 'say how long: ?duration=1h or a JSON body {"duration": "30m"} (s, m, h or d; 0s unmutes)'},
                status_code=400,
            )
        try:
            length_ns = parse_duration(duration)
        except ValueError as exc:
            return JSONResponse({"error": f"duration: {exc}"}, status_code=400)

        def work(session: StoreSession) -> dict[str, Any]:
            now = time.time_ns()
            if not session.silence(alert_id, now + length_ns):
                raise IngestError(status=404, message=f"no alert with id {alert_id}; GET /api/alerts lists them")
            alert = session.get_alert(alert_id)
            assert alert is not None
            return {"alert": alert_json(alert, now)}

        return await guarded(work)

    async def rules(request: Request) -> Response:
        if service is None:
            return JSONResponse({"error": "the alert service is not running in this collector"}, status_code=503)
        rule_set = service.rules

        def work(session: StoreSession) -> dict[str, Any]:
            status = session.list_rule_status()
            return {
                "source": rule_set.source,
                "interval_s": service.interval_s,
                "daily_budget_usd": next(
                    (r.daily_budget_usd for r in rule_set.rules if r.metric == "budget_burn"), None
                ),
                "rules": query_api.json_rows(rule_set.to_table()),
                "rule_columns": rule_set.to_table().column_names,
                "status": [dict(zip(status.column_names, row, strict=True)) for row in query_api.json_rows(status)],
                "errors": [{"rule": row["rule"], "error": row["error"]} for row in status.to_pylist() if row["error"]],
            }

        return await guarded(work)

    async def deliveries(request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", 200, 1, MAX_LIMIT)
            alert_id = _int_param(request, "alert_id", None, 1, 2**62)
        except IngestError as exc:
            return query_api.error_json(exc)
        assert limit is not None

        def work(session: StoreSession) -> dict[str, Any]:
            table = session.list_deliveries(alert_id, limit)
            return {"columns": table.column_names, "rows": query_api.json_rows(table)}

        return await guarded(work)

    async def check_once(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_RULES_BYTES, config.body_timeout_s, bodies)
            bodies.give_back(len(body))
            rule_set = _rules_for_check(body, service)
        except IngestError as exc:
            return query_api.error_json(exc)
        now = time.time_ns()
        return await guarded(lambda c: json.loads(_bounded_check(c, rule_set, now, config.check_timeout_s, gate)))

    return [
        Route("/api/alerts", alerts, methods=["GET"]),
        Route("/api/alerts/rules", rules, methods=["GET"]),
        Route("/api/alerts/deliveries", deliveries, methods=["GET"]),
        Route("/api/alerts/check", check_once, methods=["POST"]),
        Route("/api/alerts/{alert_id:int}", one_alert, methods=["GET"]),
        Route("/api/alerts/{alert_id:int}/acknowledge", ack, methods=["POST"]),
        Route("/api/alerts/{alert_id:int}/silence", mute, methods=["POST"]),
    ]


def _bounded_check(session: StoreSession, rule_set: RuleSet, now_ns: int, timeout_s: float, gate: QueryGate) -> str:
    """`check` within `timeout_s` (the running rule's query is interrupted at the deadline; the rules
    not reached are reported as errors) and stopped early when the collector shuts down."""
    deadline = time.monotonic() + timeout_s
    timer = threading.Timer(timeout_s, session.interrupt)
    timer.daemon = True
    timer.start()
    try:
        return check(session, rule_set, now_ns, stop=lambda: gate.closed or time.monotonic() >= deadline).to_json()
    finally:
        timer.cancel()


def _rules_for_check(body: bytes, service: AlertService | None) -> RuleSet:
    """The rules a check runs: the TOML in the body (a --rules file), else the collector's own."""
    if body.strip():
        try:
            rule_set = parse_rules(body.decode("utf-8"), source="rules file")
        except UnicodeDecodeError:
            raise IngestError(status=400, message="the rules file is not UTF-8 text") from None
        except RulesError as exc:
            raise IngestError(status=400, message=str(exc)) from None
        if len(rule_set.rules) > MAX_CHECK_RULES:
            raise IngestError(
                status=400,
                message=f"the rules file holds {len(rule_set.rules)} rules; a check takes at most {MAX_CHECK_RULES}: "
                "split it into several checks",
            )
        return rule_set
    if service is None:
        raise IngestError(status=503, message="the alert service is not running in this collector: send a rules file")
    return service.rules
