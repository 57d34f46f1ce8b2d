"""`agentdeck dataset`: datasets of tasks to run again, from the traces matching the Traces page's
filters (read through the collector's query API, inputs from the tasks' checkpoints) or a JSONL file."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

from agentdeck.cli.main import (
    DEFAULT_CHECKPOINT_DB,
    CliError,
    add_collector_arguments,
    checkpoint_db,
    collector_token,
    collector_url,
)

SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
TRACE_STATUSES = ("ok", "error", "incomplete", "dead_letter")
TRACE_LIMIT = 5_000


def since_ns(text: str, now_ns: int | None = None) -> int:
    """`24h`, `30m`, `7d` as the unix ns that long ago; CliError for anything else."""
    m = SINCE.match(text.strip())
    if not m:
        raise CliError(f"--since wants a duration like 30m, 24h or 7d, got {text!r}")
    now = time.time_ns() if now_ns is None else now_ns
    return max(0, now - int(float(m.group(1)) * UNIT_S[m.group(2)] * 1e9))


def store_path(args: argparse.Namespace) -> Path:
    db = checkpoint_db(args)
    if isinstance(db, str):  # a postgresql:// URL
        raise CliError("datasets and experiments are kept in a SQLite file: pass --checkpoint-db PATH to one")
    return db


def open_datasets(args: argparse.Namespace, *, create: bool = False) -> Any:
    from agentdeck.engine.datasets import DatasetStore

    db = store_path(args)
    if not create and not db.exists():
        raise CliError(f"no datasets: {db} does not exist (make one with `agentdeck dataset create`)")
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    return DatasetStore(db)


def trace_rows(args: argparse.Namespace) -> list[Any]:
    """The traces matching the Traces page's filters, read through the collector's query API."""
    # the data module caches with Streamlit, which warns when there is no app around: not news on a terminal
    import streamlit.logger

    streamlit.logger.set_log_level(logging.ERROR)
    from agentdeck.dashboard import data
    from agentdeck.dashboard.datasets_panel import trace_rows as rows_of

    params = {"status": args.status, "limit": str(TRACE_LIMIT), "start_ns": str(since_ns(args.since))}
    if args.workflow:
        params["workflow"] = args.workflow
    if args.agent:
        params["agent"] = args.agent
    settings = data.Settings(collector_url(args), collector_token(args), 0.0, 30.0, str(checkpoint_db(args)))
    try:
        frame = data.fetch_table("traces", params, settings).to_pandas()
    except data.DataError as exc:
        raise CliError(f"{exc.message} {exc.hint}") from None
    return rows_of(frame)


def cmd_dataset_create(args: argparse.Namespace) -> int:
    from agentdeck.engine.datasets import items_from_jsonl, items_from_traces

    if bool(args.from_traces) == bool(args.from_file):
        raise CliError("give --from-traces (with the trace filters) or --from-file FILE.jsonl")
    if args.from_file:
        try:
            items, errors = items_from_jsonl(args.from_file)
        except OSError as exc:
            raise CliError(f"cannot read {args.from_file}: {exc.strerror or exc}") from None
        if errors:
            for e in errors:
                print(f"agentdeck: {args.from_file} {e}", file=sys.stderr)
            raise CliError(f"{len(errors)} bad line(s) in {args.from_file}; no dataset was made")
        workflow, source = args.workflow or "", f"file {args.from_file}"
        if workflow:
            from agentdeck.engine.experiments import check_inputs

            try:
                check_inputs(workflow, items)
            except ValueError as exc:
                raise CliError(f"{exc}; no dataset was made") from None
    else:
        if args.status not in TRACE_STATUSES:
            raise CliError(f"--status is one of {', '.join(TRACE_STATUSES)}")
        rows = trace_rows(args)
        workflow, items, skipped = items_from_traces(rows, checkpoint_db(args))
        for s in skipped:
            print(f"agentdeck: skipped {s}", file=sys.stderr)
        source = " ".join(
            f"{k}={v}"
            for k, v in (
                ("workflow", args.workflow),
                ("status", args.status),
                ("since", args.since),
                ("agent", args.agent),
            )
            if v
        )
        if not items:
            raise CliError(f"no trace matched ({source}) that has its checkpoints in {checkpoint_db(args)}")
    try:
        with open_datasets(args, create=True) as store:
            ds = store.create(args.name, workflow, source, items)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"dataset {ds.name} v{ds.version}: {len(ds.items)} items ({source})")
    return 0


def cmd_dataset_list(args: argparse.Namespace) -> int:
    with open_datasets(args) as store:
        found = [(d, store.get(d.name, d.version)) for d in store.latest()]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": d.name,
                        "version": d.version,
                        "workflow": d.workflow,
                        "source": d.source,
                        "items": len(full.items),
                    }
                    for d, full in found
                ],
                indent=2,
            )
        )
        return 0
    for d, full in found:
        print(f"{d.name}  v{d.version}  {len(full.items)} items  {d.workflow or '-'}  {d.source}")
    return 0


def cmd_dataset_show(args: argparse.Namespace) -> int:
    with open_datasets(args) as store:
        try:
            ds = store.get(args.name, args.version)
        except KeyError as exc:
            raise CliError(str(exc).strip('"')) from None
    body = {
        "name": ds.name,
        "version": ds.version,
        "workflow": ds.workflow,
        "source": ds.source,
        "items": [
            {
                "id": i.item_id,
                "input": i.input,
                "expected": i.expected,
                "trace_id": i.trace_id,
                "thread_id": i.thread_id,
                "original": i.original.to_json(),
            }
            for i in ds.items
        ],
    }
    if args.json:
        print(json.dumps(body, indent=2, default=str))
        return 0
    print(f"dataset {ds.name} v{ds.version} ({ds.workflow or 'no workflow'}; {ds.source}): {len(ds.items)} items")
    for i in ds.items:
        print(f"  {i.item_id:<24} {i.original.outcome or '-':<12} trace {i.trace_id or '-'}")
    return 0


def checkpoint_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint-db",
        default=None,
        help=f"checkpoint file, where datasets and experiments are kept too "
        f"(default: $AGENTDECK_CHECKPOINT_DB or {DEFAULT_CHECKPOINT_DB})",
    )


def register(sub: Any) -> None:
    p = sub.add_parser("dataset", help="datasets of tasks to run again: from a trace filter or a JSONL file")
    dsub = p.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    c = dsub.add_parser("create", help="make a dataset (or its next version) from traces or a JSONL file")
    c.add_argument("name")
    c.add_argument("--from-traces", action="store_true", help="from the traces matching the filters below")
    c.add_argument(
        "--from-file",
        type=Path,
        default=None,
        metavar="FILE.jsonl",
        help='one item per line: {"id": ..., "input": {...}, "expected": ...}',
    )
    c.add_argument("--workflow", default=None, help="only traces of this workflow (a file's items: their workflow)")
    c.add_argument(
        "--status", default="dead_letter", help=f"trace status: {', '.join(TRACE_STATUSES)} (default: dead_letter)"
    )
    c.add_argument("--since", default="24h", help="how far back: 30m, 24h, 7d (default: 24h)")
    c.add_argument("--agent", default=None, help="only traces in which this agent ran")
    checkpoint_argument(c)
    add_collector_arguments(c)
    c.set_defaults(func=cmd_dataset_create)
    c = dsub.add_parser("list", help="the datasets and their latest versions")
    checkpoint_argument(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_dataset_list)
    c = dsub.add_parser("show", help="a dataset's items")
    c.add_argument("name")
    c.add_argument("--version", type=int, default=None, help="this version (default: the latest)")
    checkpoint_argument(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_dataset_show)
