"""`agentdeck store copy --from URL --to URL`: move spans, alerts (and scores) from one span store to another.

Moving up from one DuckDB file to ClickHouse (issue 14), or compacting a DuckDB file into a new one
(retention frees space for reuse but never shrinks a file). Everything goes through the `SpanStore`
seam: the source's `scan` in batches, the target's `append`, which skips rows it already holds. The
position reached in each table is saved after every batch in a progress file, so a copy that was
stopped (Ctrl-C, a lost connection) resumes where it was when run again with the same URLs; rows
copied twice are skipped anyway. Neither store may be held by a running collector when it is a
DuckDB file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from agentdeck.cli.main import DEFAULT_DATA_DIR, CliError

DEFAULT_BATCH = 20_000
DEFAULT_PROGRESS = DEFAULT_DATA_DIR / "store-copy.json"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("store", help="work on span stores: copy one into another")
    sub = p.add_subparsers(dest="store_command", required=True, metavar="STORE_COMMAND")
    c = sub.add_parser(
        "copy",
        help="copy spans, alerts and scores from one store to another (resumable, with progress)",
        description="Copy spans, alerts and scores from --from to --to through the span store seam. "
        "Stopped copies resume when run again with the same URLs; rows the target holds are skipped.",
    )
    c.add_argument("--from", dest="source", required=True, metavar="URL", help="the store to copy from")
    c.add_argument("--to", dest="target", required=True, metavar="URL", help="the store to copy into")
    c.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"rows per batch (default {DEFAULT_BATCH})")
    c.add_argument(
        "--progress-file",
        type=Path,
        default=DEFAULT_PROGRESS,
        help=f"where the position reached is kept between runs (default {DEFAULT_PROGRESS})",
    )
    c.set_defaults(func=cmd_copy)


def _load_progress(path: Path, key: str) -> dict[str, str | None]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the progress file {path}: {exc}; remove it to copy from the start") from None
    entry = saved.get(key, {}) if isinstance(saved, dict) else {}
    return {str(k): (None if v is None else str(v)) for k, v in entry.items()} if isinstance(entry, dict) else {}


def _save_progress(path: Path, key: str, done: dict[str, str | None] | None) -> None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict):
        saved = {}
    if done is None:
        saved.pop(key, None)
    else:
        saved[key] = done
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    tmp.replace(path)


FINISHED = "finished"  # the position of a table copied to its end


def cmd_copy(args: argparse.Namespace) -> int:
    from agentdeck.collector.store.base import StoreError
    from agentdeck.collector.store.factory import open_store
    from agentdeck.collector.store.url import parse_store_url

    if not 1 <= args.batch <= 1_000_000:
        raise CliError(f"--batch must be between 1 and 1000000 rows, got {args.batch}")
    try:
        source_url, target_url = parse_store_url(args.source), parse_store_url(args.target)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if source_url == target_url:
        raise CliError("--from and --to name the same store: copy into another one")
    key = f"{source_url.display()} -> {target_url.display()}"
    progress = _load_progress(args.progress_file, key)
    try:
        source = open_store(source_url)
    except StoreError as exc:
        raise CliError(f"--from: {exc}") from None
    try:
        try:
            target = open_store(target_url)
        except StoreError as exc:
            raise CliError(f"--to: {exc}") from None
        try:
            _copy(source, target, args.batch, progress, args.progress_file, key)
        finally:
            target.close()
    finally:
        source.close()
    _save_progress(args.progress_file, key, None)
    return 0


def _copy(source: Any, target: Any, batch: int, progress: dict[str, str | None], path: Path, key: str) -> None:
    total_spans = source.count()
    for table in source.tables():
        position = progress.get(table)
        if position == FINISHED:
            print(f"{table}: already copied", file=sys.stderr)
            continue
        read = added = 0
        started = time.monotonic()
        while True:
            rows, position = source.scan(table, position, batch)
            added += target.append(table, rows) if rows.num_rows else 0
            read += rows.num_rows
            progress[table] = FINISHED if position is None else position
            _save_progress(path, key, progress)
            share = f" of {total_spans:,}" if table == "spans" else ""
            rate = read / max(time.monotonic() - started, 1e-6)
            print(f"{table}: {read:,}{share} read, {added:,} added ({rate:,.0f} rows/s)", file=sys.stderr, flush=True)
            if position is None:
                break
    print(f"copied into {target.url}", flush=True)
