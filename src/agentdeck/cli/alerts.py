"""`agentdeck alerts check` and `agentdeck alerts list`: the alert rules from the command line.

`check` evaluates the rules once, for cron and CI: through a running collector (POST
/api/alerts/check) or straight on a store (`--store URL`; `--db FILE`, a DuckDB file no collector holds,
opened read-only). It prints the
firing alerts (JSON with --json) and exits 1 when any fires, 0 when none does, 2 on errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from agentdeck.cli.main import DEFAULT_COLLECTOR_URL, CliError, add_collector_arguments, collector_token, collector_url
from agentdeck.cli.terminal import inert
from agentdeck.collector.alerts import CheckItem, CheckResult, RuleFailure, RulesError, check, load_rules

TIMEOUT_S = 60.0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("alerts", help="check alert rules once (cron, CI) or list the collector's alerts")
    sub = p.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")

    c = sub.add_parser(
        "check",
        help="evaluate the rules once; exit 1 when any alert fires, 0 when none does, 2 on errors",
        description="Evaluate the alert rules once against a running collector (default) or a DuckDB "
        "file no collector holds. Exit status: 1 when any alert fires, 0 when none does, 2 on errors.",
    )
    c.add_argument("--rules", type=Path, default=None, help="rules TOML file (default: the collector's rules)")
    where = c.add_mutually_exclusive_group()
    where.add_argument(
        "--collector-url",
        default=None,
        help=f"a running collector (default: $AGENTDECK_COLLECTOR_URL or {DEFAULT_COLLECTOR_URL})",
    )
    where.add_argument("--db", type=Path, default=None, help="a DuckDB file no collector holds (opened read-only)")
    where.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="a span store by URL (duckdb://PATH no collector holds, clickhouse://HOST:PORT/DB, chdb://PATH)",
    )
    c.add_argument("--token", default=None, help="the collector's bearer token (default: $AGENTDECK_TOKEN)")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=cmd_check)

    ls = sub.add_parser("list", help="list the collector's alerts, firing first")
    ls.add_argument("--state", choices=("firing", "pending", "resolved"), default=None, help="only this state")
    add_collector_arguments(ls)
    ls.add_argument("--json", action="store_true", help="print the alerts as JSON")
    ls.set_defaults(func=cmd_list)


def _headers(args: argparse.Namespace) -> dict[str, str]:
    token = collector_token(args)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _request(method: str, url: str, args: argparse.Namespace, content: bytes | None = None) -> Any:
    try:
        resp = httpx.request(method, url, headers=_headers(args), content=content, timeout=TIMEOUT_S)
    except httpx.TransportError as exc:
        raise CliError(
            f"no collector answers at {url.split('/api/')[0]} ({type(exc).__name__}): start one with "
            "`agentdeck collector`, pass --collector-url, or check a DuckDB file with --db FILE"
        ) from None
    try:
        body = resp.json()
    except ValueError:
        body = {"error": resp.text[:300]}
    if resp.status_code != 200:
        message = body.get("error", body) if isinstance(body, dict) else body
        hint = " (set --token or AGENTDECK_TOKEN)" if resp.status_code == 401 else ""
        raise CliError(f"the collector answered {resp.status_code}: {message}{hint}")
    return body


def _check_remote(args: argparse.Namespace) -> CheckResult:
    content = None
    if args.rules is not None:
        try:
            content = args.rules.read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read the rules file {args.rules}: {exc.strerror or exc}") from None
    body = _request("POST", f"{collector_url(args)}/api/alerts/check", args, content)
    return CheckResult(
        now_ns=int(body["now_ns"]),
        rules_evaluated=int(body["rules_evaluated"]),
        firing=[CheckItem(**item) for item in body["firing"]],
        errors=[RuleFailure(**e) for e in body["errors"]],
    )


def _check_store(args: argparse.Namespace) -> CheckResult:
    from agentdeck.collector.store.base import StoreError
    from agentdeck.collector.store.factory import open_reader
    from agentdeck.collector.store.url import duckdb_url, parse_store_url

    try:
        rules = load_rules(args.rules)
    except RulesError as exc:
        raise CliError(str(exc)) from None
    try:
        url = parse_store_url(args.store) if args.store is not None else duckdb_url(str(args.db))
        session = open_reader(url)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    try:
        return check(session, rules, time.time_ns())
    finally:
        session.close()


def _value(v: float) -> str:
    return f"{v:.4g}"


def print_result(result: CheckResult) -> None:
    for item in result.firing:
        target = f" {item.scope}" if item.group == "" else f" {item.group}"
        print(
            inert(
                f"FIRING {item.severity:<8} {item.rule}{target}: {_value(item.value)} {item.comparison} "
                f"{_value(item.threshold)} over {item.window}" + (f" ({item.detail})" if item.detail else "")
            )
        )
        if item.trace_ids:
            print(inert(f"    traces: {', '.join(item.trace_ids[:5])}"))
    for err in result.errors:
        print(inert(f"agentdeck: rule {err.rule!r} could not be evaluated: {err.error}"), file=sys.stderr)
    if not result.firing:
        print(f"no alerts firing ({result.rules_evaluated} rules evaluated)")


def cmd_check(args: argparse.Namespace) -> int:
    result = _check_store(args) if args.db is not None or args.store is not None else _check_remote(args)
    if args.json:
        print(result.to_json())
    else:
        print_result(result)
    return result.exit_code


def cmd_list(args: argparse.Namespace) -> int:
    query = f"?state={args.state}" if args.state else ""
    alerts = _request("GET", f"{collector_url(args)}/api/alerts{query}", args)["alerts"]
    if args.json:
        print(json.dumps(alerts, indent=2))
        return 0
    if not alerts:
        print("no alerts" + (f" in state {args.state}" if args.state else ""))
        return 0
    for a in alerts:
        flags = "".join([" acknowledged" if a["acknowledged"] else "", " silenced" if a["silenced"] else ""])
        print(
            inert(
                f"#{a['id']:<5} {a['state']:<9} {a['severity']:<8} {a['rule']} {a['target']}: "
                f"{_value(a['value'])} {a['comparison']} {_value(a['threshold'])}{flags}"
            )
        )
        if a["trace_ids"]:  # a per-task check's alert covers several tasks: name the worst
            print(f"    traces: {', '.join(a['trace_ids'][:5])}")
    return 0
