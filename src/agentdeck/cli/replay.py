"""`agentdeck replay` and `agentdeck checkpoints`: time travel from scripts and CI."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from agentdeck.cli.main import (
    DEFAULT_CHECKPOINT_DB,
    CliError,
    add_collector_arguments,
    agent_pairs,
    checkpoint_db,
    collector_token,
    collector_url,
    saved_prompts,
)
from agentdeck.cli.worker import add_postgres_argument


def _db(args: argparse.Namespace) -> Path | str:
    """Where the checkpoints are: --postgres, --checkpoint-db (a file, or a postgresql:// URL as an
    alias of --postgres), $AGENTDECK_POSTGRES_URL, $AGENTDECK_CHECKPOINT_DB, or the default file."""
    from agentdeck.cli.worker import postgres_url, reachable
    from agentdeck.engine.checkpoints import is_postgres

    url = (
        postgres_url(args.postgres or args.checkpoint_db)
        if args.postgres or is_postgres(args.checkpoint_db or "")
        else None
    )
    if url is None and not args.checkpoint_db:
        url = postgres_url(None)
    if url is not None:
        return reachable(url)
    db = checkpoint_db(args)
    if isinstance(db, str):  # $AGENTDECK_CHECKPOINT_DB holding a postgresql:// URL
        return reachable(db)
    if not db.exists():
        raise CliError(
            f"no checkpoint file at {db}: pass --checkpoint-db PATH or --postgres URL "
            "(or set AGENTDECK_CHECKPOINT_DB or AGENTDECK_POSTGRES_URL)"
        )
    return db


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from agentdeck.cli.graph_replay import graph_checkpoints, resolve
    from agentdeck.engine.replay.history import checkpoint_tree

    found = resolve(args, _db)
    try:
        if found.graph is not None:
            history = graph_checkpoints(found.graph, args.thread_id)
        else:
            assert found.db is not None
            history = checkpoint_tree(found.db, args.thread_id, found.workflow)
    except (LookupError, ValueError) as exc:
        raise CliError(str(exc)) from None
    walked = history.walk()
    if args.json:
        rows = [
            {
                "depth": depth,
                "checkpoint_id": c.checkpoint_id,
                "parent_id": c.parent_id,
                "step": c.step,
                "source": c.source,
                "next": list(c.next_nodes),
                "trace_id": c.trace_id,
                "run": c.run,
                "created_at": c.created_at,
                "prompt_overrides": sorted(c.prompt_overrides),
                "state_fields": sorted(c.values),
            }
            for depth, c in walked
        ]
        print(
            json.dumps(
                {
                    "thread_id": history.thread_id,
                    "workflow": history.workflow,
                    "task_id": history.task_id,
                    "runs": [{"trace_id": t, "run": n} for t, n in history.runs()],
                    "checkpoints": rows,
                },
                indent=2,
            )
        )
        return 0
    print(f"thread {history.thread_id} ({history.workflow})")
    for depth, c in walked:
        nxt = ", ".join(c.next_nodes) or "end"
        print(f"{'  ' * depth}{c.checkpoint_id}  step {c.step:>2}  next: {nxt:<10} run {c.run} trace {c.trace_id[:8]}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from agentdeck.cli.graph_replay import cmd_replay_graph, resolve

    found = resolve(args, _db)
    if found.graph is not None:  # an adapted LangGraph graph, replayed on its own checkpointer
        return cmd_replay_graph(args, found.graph, lambda run: _report(args, run))
    # the data module caches with Streamlit, which warns when there is no app around: not news on a terminal
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)
    from agentdeck.cli.export import export_endpoint, require_collector, target_of, token_headers
    from agentdeck.cli.graph_replay import state_edit
    from agentdeck.dashboard import data
    from agentdeck.dashboard.replay import data as replay_data
    from agentdeck.engine.replay.history import checkpoint_tree
    from agentdeck.engine.replay.session import NothingToReplay, run_replay

    db = found.db
    assert db is not None
    url = collector_url(args)
    overrides = agent_pairs(args.prompt, "--prompt")
    try:
        history = checkpoint_tree(db, args.thread_id, found.workflow)
        if args.checkpoint is not None and args.checkpoint not in history.checkpoints:
            raise LookupError(
                f"thread {args.thread_id} has no checkpoint {args.checkpoint}; its checkpoints: "
                f"{', '.join(c.checkpoint_id for _, c in history.walk())}"
            )
        chosen = agent_pairs(args.prompt_version, "--prompt-version")
        overrides = {**saved_prompts(db, history.workflow, chosen), **overrides}
    except (LookupError, KeyError, ValueError) as exc:
        raise CliError(str(exc).strip('"')) from None
    original_trace = history.runs()[0][0]  # "original" is the task's first run, whichever branch is forked
    settings = data.Settings(
        collector_url=url, token=collector_token(args), refresh_s=0.0, timeout_s=15.0, checkpoint_db=str(db)
    )
    try:
        frame = data.fetch_table("trace", {"trace_id": original_trace}, settings).to_pandas()
    except data.DataError as exc:
        raise CliError(f"{exc.message} {exc.hint}") from None
    target = target_of(args)
    require_collector(target)
    try:
        run = run_replay(
            args.thread_id,
            checkpoint_db=db,
            original=replay_data.facts(frame),
            original_trace_id=original_trace,
            original_outcome=replay_data.outcome(frame),
            checkpoint_id=args.checkpoint,
            prompt_overrides=overrides,
            endpoint=export_endpoint(args),
            headers=token_headers(args),
            serve_recorded=not args.no_cache,
            state_update=state_edit(args.state),
            workflow=found.workflow,
        )
    except NothingToReplay as exc:
        raise CliError(
            f"{exc}: list them with `agentdeck checkpoints {args.thread_id}`, then "
            "`agentdeck replay THREAD --checkpoint ID --prompt AGENT=TEXT`"
        ) from None
    except (LookupError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return _report(args, run)


def _report(args: argparse.Namespace, run: Any) -> int:
    """Print a replay's result (JSON or a summary); exit 0 when it succeeded, 1 when it did not."""
    report = run.to_json()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_human(report)
    if run.undelivered_spans:
        from agentdeck.cli.export import target_of

        raise CliError(
            f"{run.undelivered_spans} span(s) of the replay could not be delivered to {target_of(args).url} (refused "
            "as "
            f"too large, or unreachable): trace {run.result.trace_id} will not appear there; the replay itself "
            "is kept in the checkpoints"
        )
    return 0 if run.result.outcome == "success" else 1


def _print_human(report: dict[str, Any]) -> None:
    print(
        f"replay of thread {report['thread_id']} from checkpoint {report['checkpoint_id']}: "
        f"{report['original_outcome']} -> {report['outcome']}"
    )
    print(f"trace {report['trace_id']} (original {report['original_trace_id']})")
    for s in report["steps"]:
        o, r = s["original"], s["replay"]
        served = " [recorded, 0 tokens]" if r and r["served_from_record"] else ""
        print(
            f"  {s['node']:<10} {o['status'] if o else '-':<7} -> {r['status'] if r else '-':<7}"
            f" ${(o or {}).get('cost_usd', 0):.4f} -> ${(r or {}).get('cost_usd', 0):.4f}{served}"
        )
    d = report["totals"]["delta"]
    print(f"  delta: cost ${d['cost_usd']:+.4f}, tokens {d['tokens']:+d}", file=sys.stdout)


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="re-run a task from a checkpoint with edited prompts, compared with the original")
    p.add_argument("thread_id", help="the task's thread id (see `agentdeck checkpoints`)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint to fork from (default: resume the thread in place, re-running only a failed step)",
    )
    p.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="a new prompt: NAME is the agent's (engine) or the name given to agentdeck.prompt (graph)",
    )
    p.add_argument(
        "--prompt-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="use a saved version of prompt NAME (e.g. classifier=v2), kept where the checkpoints are",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="re-run every step for real instead of serving unchanged steps from recorded outputs",
    )
    p.add_argument(
        "--checkpoint-db",
        default=None,
        help=f"checkpoint file (default: $AGENTDECK_CHECKPOINT_DB or {DEFAULT_CHECKPOINT_DB})",
    )
    p.add_argument(
        "--state",
        default=None,
        metavar="JSON",
        help='state fields to set before running, as a JSON object (e.g. \'{"priority": "high"}\')',
    )
    p.add_argument(
        "--graph",
        default=None,
        metavar="MODULE:ATTR",
        help="the workflow (an agentdeck.Workflow) or adapted LangGraph graph to use instead of the one the thread "
        "recorded (found from the checkpoints, else from the collector's trace of the thread)",
    )
    add_postgres_argument(p, "read checkpoints, ledger and prompt versions from the workers' PostgreSQL")
    add_collector_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("checkpoints", help="list a task's checkpoints as a tree of branches")
    p.add_argument("thread_id")
    p.add_argument(
        "--checkpoint-db",
        default=None,
        help=f"checkpoint file (default: $AGENTDECK_CHECKPOINT_DB or {DEFAULT_CHECKPOINT_DB})",
    )
    p.add_argument(
        "--graph",
        default=None,
        metavar="MODULE:ATTR",
        help="the workflow (an agentdeck.Workflow) or adapted LangGraph graph to use instead of the one the thread "
        "recorded (found from the checkpoints, else from the collector's trace of the thread)",
    )
    add_postgres_argument(p, "read checkpoints, ledger and prompt versions from the workers' PostgreSQL")
    add_collector_arguments(p)  # asked which graph ran a thread the checkpoints do not hold
    p.add_argument("--json", action="store_true", help="print the tree as JSON")
    p.set_defaults(func=cmd_checkpoints)
