"""`agentdeck review list|approve|reject`: the human review queue from the command line.

The queue lives in the checkpoint file (agentdeck.engine.review). A decision records who made it
(`--by NAME`, else the OS user) and when; the task takes it the next time the process that runs it
runs again (`agentdeck run` with the same workflow and seed, or the demo).
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
from typing import Any

from agentdeck.cli.main import CliError
from agentdeck.cli.replay import _db as checkpoint_file
from agentdeck.cli.worker import add_postgres_argument
from agentdeck.engine.review import ReviewItem, ReviewQueue
from agentdeck.engine.runner import RunSummary


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("review", help="list, approve or reject agent answers waiting for a human")
    sub = p.add_subparsers(dest="review_command", required=True, metavar="REVIEW_COMMAND")

    ls = sub.add_parser("list", help="the pending items, oldest first (with --all: every item)")
    ls.add_argument("--all", action="store_true", help="decided items too")
    ls.add_argument("--json", action="store_true", help="print the items as JSON")
    _common(ls)
    ls.set_defaults(func=cmd_list)

    ap = sub.add_parser("approve", help="approve an item's proposed answer, or an edited one (--output)")
    ap.add_argument("id", type=int, help="the item's id (from `agentdeck review list`)")
    ap.add_argument("--output", default=None, metavar="JSON", help="the edited answer, checked against the schema")
    _common(ap, by=True)
    ap.set_defaults(func=cmd_approve)

    rj = sub.add_parser("reject", help="reject an item: its task ends as dead_letter (rejected)")
    rj.add_argument("id", type=int, help="the item's id (from `agentdeck review list`)")
    rj.add_argument("--reason", required=True, help="why the answer is rejected")
    _common(rj, by=True)
    rj.set_defaults(func=cmd_reject)


def _common(p: argparse.ArgumentParser, *, by: bool = False) -> None:
    p.add_argument(
        "--checkpoint-db",
        default=None,
        help="the checkpoint file (default: $AGENTDECK_CHECKPOINT_DB or .agentdeck/checkpoints.sqlite)",
    )
    add_postgres_argument(p, "the review queue of the workers' PostgreSQL")
    if by:
        p.add_argument("--by", default=None, metavar="NAME", help="who decides (default: the OS user)")


def _queue(args: argparse.Namespace) -> ReviewQueue:
    return ReviewQueue(checkpoint_file(args))


def _who(args: argparse.Namespace) -> str:
    return (args.by or "").strip() or getpass.getuser()


def cmd_list(args: argparse.Namespace) -> int:
    with _queue(args) as queue:
        items = queue.items(None if args.all else "pending")
    if args.json:
        print(json.dumps([i.as_json() for i in items], indent=2, sort_keys=True))
        return 0
    if not items:
        print("no items waiting for review")
        return 0
    now = time.time_ns()
    for i in items:
        decided = f" {i.status} by {i.decided_by}" if i.status != "pending" else ""
        print(f"#{i.id}  {i.workflow}/{i.task_id}  {i.agent}  waiting {_age(i.age_s(now))}  why: {i.reason}{decided}")
        print(f"     proposed: {json.dumps(i.proposed, sort_keys=True)}")
    return 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _decided(item: ReviewItem) -> int:
    print(f"review item {item.id} {item.status} by {item.decided_by}; task {item.task_id} resumes on its next run")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    output: dict[str, Any] | None = None
    if args.output is not None:
        try:
            output = json.loads(args.output)
        except json.JSONDecodeError as exc:
            raise CliError(f"--output is not valid JSON: {exc}") from None
        if not isinstance(output, dict):
            raise CliError("--output must be a JSON object, like the proposed answer")
    with _queue(args) as queue:
        try:
            return _decided(queue.approve(args.id, by=_who(args), output=output))
        except (KeyError, ValueError) as exc:
            raise CliError(str(exc.args[0])) from None


def cmd_reject(args: argparse.Namespace) -> int:
    with _queue(args) as queue:
        try:
            return _decided(queue.reject(args.id, by=_who(args), reason=args.reason))
        except (KeyError, ValueError) as exc:
            raise CliError(str(exc.args[0])) from None


def waiting_hint(summary: RunSummary, checkpoint_db: object) -> str | None:
    """After `agentdeck run`: what to do about tasks that wait for review (None when none does)."""
    waiting = sum(t.outcome == "waiting_review" for t in summary.tasks)
    if not waiting:
        return None
    return (
        f"{waiting} task(s) wait for review: `agentdeck review list --checkpoint-db {checkpoint_db}` "
        "(or the dashboard's Review page); after a decision, run this command again to resume them.\n"
    )
