"""`agentdeck worker` and `agentdeck run --postgres`: tasks through a queue in PostgreSQL, run by N workers.

The PostgreSQL URL (`--postgres` or AGENTDECK_POSTGRES_URL) is the one place for everything a fleet
shares: the queue, checkpoints, the ledger and budget state, and prompt versions; `run`, `worker`,
`replay`, `checkpoints` and the dashboard read it alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from agentdeck.cli.main import CliError, add_collector_arguments, collector_url


def postgres_url(value: str | None) -> str | None:
    """The PostgreSQL URL from a flag value or AGENTDECK_POSTGRES_URL; None when neither is set."""
    from agentdeck.engine.workers.settings import POSTGRES_ENV, SettingError, check_postgres_url

    url = (value or os.environ.get(POSTGRES_ENV, "")).strip()
    if not url:
        return None
    try:
        return check_postgres_url(url, f"--postgres / {POSTGRES_ENV}")
    except SettingError as exc:
        raise CliError(str(exc)) from None


def reachable(url: str) -> str:
    """`url` once a connection to it works; CliError saying so otherwise (not a pool's timeout later)."""
    from agentdeck.engine.workers.queue import QueueError, connect

    try:
        with connect(url):
            return url
    except QueueError as exc:
        raise CliError(str(exc)) from None


def add_postgres_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--postgres", default=None, metavar="URL", help=f"{what} (default: $AGENTDECK_POSTGRES_URL)")


def cmd_worker(args: argparse.Namespace) -> int:
    from agentdeck.engine.workers.queue import QueueError, prepare_schema, safe_url
    from agentdeck.engine.workers.settings import SettingError, resolve
    from agentdeck.engine.workers.worker import run_worker

    endpoint = None if args.no_export else f"{collector_url(args)}/v1/traces"
    try:
        settings = resolve(vars(args), os.environ, endpoint=endpoint, name=args.name)
        prepare_schema(settings.postgres_url, upgrade=args.upgrade_schema)  # unreachable, older schema: said here
        if args.upgrade_schema:
            print("queue schema is up to date", file=sys.stderr)
            return 0
        print(
            f"agentdeck worker: {settings.concurrency} at a time from {safe_url(settings.postgres_url)}, "
            f"lease {settings.lease_s:g} s",
            file=sys.stderr,
            flush=True,
        )
        return run_worker(settings, on_result=_print_result)
    except (QueueError, SettingError) as exc:
        raise CliError(str(exc)) from None


def _print_result(result: Any) -> None:
    detail = f" ({result.detail})" if result.detail else ""
    how = " [already done]" if result.from_ledger else " [resumed]" if result.resumed else ""
    print(f"task {result.task_id}: {result.outcome}{detail}{how}", file=sys.stderr, flush=True)


def _safe(url: str) -> str:
    from agentdeck.engine.workers.queue import safe_url

    return safe_url(url)


def enqueue_run(args: argparse.Namespace, url: str, prompt_overrides: dict[str, str]) -> int:
    """`agentdeck run --postgres`: queue the tasks; with --wait, show progress and the run's summary."""
    from agentdeck.cli.progress import Progress, describe_run
    from agentdeck.engine.execution import TaskResult
    from agentdeck.engine.runner import EngineOptions, RunSummary
    from agentdeck.engine.workers.queue import QueueError, enqueue, progress
    from agentdeck.engine.workers.tasks import task_specs
    from agentdeck.refs import RefError

    options = EngineOptions(
        seed=args.seed,
        chaos=args.chaos,
        latency_scale=args.latency_scale,
        budget_usd=args.budget,
        prompt_overrides=prompt_overrides,
    )
    try:
        specs = task_specs(args.workflow, args.tasks, options)
        report = enqueue(url, specs)
    except (RefError, ValueError) as exc:
        raise CliError(str(exc)) from None
    except QueueError as exc:
        raise CliError(str(exc)) from None
    print(
        f"queued {len(report.queued)} tasks of {args.workflow} in {_safe(url)}"
        + (f"; {len(report.already_queued)} already queued" if report.already_queued else "")
        + (f"; {len(report.already_done)} already done" if report.already_done else ""),
        file=sys.stderr,
    )
    if not args.wait:
        print("start workers with: agentdeck worker --postgres URL (add --wait to follow the run)", file=sys.stderr)
        return 0
    ids = [s.task_id for s in specs]
    bar = Progress(len(ids), args.workflow)
    try:
        while True:
            state = progress(url, ids)
            counts: dict[str, int] = {}
            for r in state.records:
                counts[r.outcome] = counts.get(r.outcome, 0) + 1
            bar.update(len(state.records) + len(state.lost), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            if state.finished:
                break
            time.sleep(0.5)
    except QueueError as exc:
        raise CliError(str(exc)) from None
    bar.finish()
    done_before = set(report.already_done)
    summary = RunSummary(
        workflow=args.workflow,
        tasks=[
            TaskResult(
                r.task_id,
                r.trace_id,
                r.thread_id,
                r.workflow,
                r.outcome,
                r.cost_usd,
                r.detail,
                from_ledger=r.task_id in done_before,
            )
            for r in sorted(state.records, key=lambda r: r.task_id)
        ],
    )
    print(describe_run(summary))
    for task_id, status in sorted(state.lost.items()):
        print(f"task {task_id}: the queue gave up on it (job {status}); see the workers' output", file=sys.stderr)
    return 1 if state.lost else 0


def register(sub: Any) -> None:
    from agentdeck.engine.workers.settings import add_arguments

    p = sub.add_parser(
        "worker",
        help="run queued tasks from PostgreSQL (many workers on many machines share one queue)",
        description="Run tasks queued with `agentdeck run WORKFLOW --postgres URL`. Checkpoints, the ledger, "
        "budget state and prompt versions live in the same PostgreSQL. A worker silent for longer than the "
        "lease loses its tasks to the others, which resume them from their last checkpoint. Ctrl-C finishes "
        "the running tasks; a second Ctrl-C hands them back to the queue.",
    )
    add_arguments(p)
    p.add_argument("--name", default=None, help="this worker's name in logs (default: worker)")
    p.add_argument(
        "--upgrade-schema", action="store_true", help="upgrade an older agentdeck queue schema in place, then exit"
    )
    add_collector_arguments(p, token=False)
    p.add_argument("--no-export", action="store_true", help="do not send spans anywhere")
    p.set_defaults(func=cmd_worker)
