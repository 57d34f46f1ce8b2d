"""The `agentdeck` command line. Each subcommand parses its flags here and calls one module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.engine.semantic_cache import SemanticCache

DEFAULT_DATA_DIR = Path(".agentdeck")
# Modules with a `register(subparsers)` that adds their commands (see build_parser).
FEATURE_COMMANDS: tuple[str, ...] = ("agentdeck.cli.alerts", "agentdeck.cli.replay", "agentdeck.cli.review")
DEFAULT_COLLECTOR_URL = "http://127.0.0.1:4318"


class CliError(Exception):
    """A user-facing error: printed as `agentdeck: <message>` with exit status 2."""


def add_collector_arguments(parser: argparse.ArgumentParser, *, token: bool = True) -> None:
    """`--collector-url` (and `--token`), the same for every command that talks to a collector."""
    parser.add_argument(
        "--collector-url",
        default=None,
        help=f"collector base URL (default: $AGENTDECK_COLLECTOR_URL or {DEFAULT_COLLECTOR_URL})",
    )
    if token:
        parser.add_argument("--token", default=None, help="the collector's bearer token (default: $AGENTDECK_TOKEN)")


def collector_url(args: argparse.Namespace) -> str:
    return (args.collector_url or os.environ.get("AGENTDECK_COLLECTOR_URL") or DEFAULT_COLLECTOR_URL).rstrip("/")


def collector_token(args: argparse.Namespace) -> str | None:
    return getattr(args, "token", None) or os.environ.get("AGENTDECK_TOKEN") or None


def cmd_demo(args: argparse.Namespace) -> int:
    from agentdeck.cli.demo import DemoConfig, DemoError, run_demo

    cfg = DemoConfig(
        data_dir=args.data_dir,
        host=args.host,
        collector_port=args.collector_port,
        dashboard_port=args.dashboard_port,
        live=not args.no_live,
        interval_s=args.interval,
    )
    if args.samples is not None:
        cfg.samples = args.samples
    try:
        return run_demo(cfg)
    except DemoError as exc:
        raise CliError(str(exc)) from None


def cmd_collector(args: argparse.Namespace) -> int:
    from agentdeck.collector.__main__ import run

    return run(args)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from agentdeck.cli.launch import streamlit_command

    env = {**os.environ, "AGENTDECK_COLLECTOR_URL": collector_url(args)}
    cmd = streamlit_command(args.host, args.port)
    print(f"dashboard: http://{args.host}:{args.port} (reading {env['AGENTDECK_COLLECTOR_URL']})", file=sys.stderr)
    os.execvpe(cmd[0], cmd, env)
    return 0  # not reached


def agent_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """`AGENT=VALUE` flag values as {agent: value}; CliError for anything else."""
    out: dict[str, str] = {}
    for v in values:
        agent, sep, text = v.partition("=")
        if not sep or not agent.strip():
            raise CliError(f"{flag} wants AGENT=VALUE, got {v!r}")
        out[agent.strip()] = text
    return out


def saved_prompts(db: Path | str, workflow: str, chosen: Mapping[str, str]) -> dict[str, str]:
    """Prompt overrides for `{agent: saved version}` from the prompt store in `db`."""
    if not chosen:
        return {}
    from agentdeck.engine.prompts import PromptStore

    try:
        with PromptStore(db) as store:
            return store.overrides(workflow, chosen)
    except KeyError as exc:
        raise CliError(str(exc).strip('"')) from None


def _semantic_cache(args: argparse.Namespace) -> SemanticCache | None:
    from agentdeck.engine.semantic_cache import SemanticCache

    if not args.semantic_cache:
        return None
    try:
        return SemanticCache(threshold=args.cache_threshold, ttl_s=args.cache_ttl)
    except (RuntimeError, ValueError) as exc:
        raise CliError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from agentdeck.cli.progress import Progress, describe_run
    from agentdeck.engine.runner import run_tasks
    from agentdeck.engine.workflows import WORKFLOWS

    if args.workflow not in WORKFLOWS:
        raise CliError(f"unknown workflow {args.workflow!r}; choose one of: {', '.join(sorted(WORKFLOWS))}")
    if args.tasks < 1:
        raise CliError("--tasks must be at least 1")
    if not 0.0 <= args.chaos <= 1.0:
        raise CliError("--chaos is a rate between 0 and 1 (e.g. 0.1)")
    overrides = saved_prompts(args.checkpoint_db, args.workflow, agent_pairs(args.prompt_version, "--prompt-version"))
    endpoint = None if args.no_export else f"{collector_url(args)}/v1/traces"
    progress = Progress(args.tasks, f"{args.workflow}")
    outcomes: dict[str, int] = {}

    def on_progress(result: object) -> None:
        outcome = str(getattr(result, "outcome", "done"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        progress.update(sum(outcomes.values()), " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))

    semantic_cache = _semantic_cache(args)
    summary = run_tasks(
        args.workflow,
        args.tasks,
        seed=args.seed,
        concurrency=args.concurrency,
        chaos=args.chaos,
        checkpoint_db=args.checkpoint_db,
        endpoint=endpoint,
        latency_scale=args.latency_scale,
        budget_usd=args.budget,
        prompt_overrides=overrides,
        on_progress=on_progress,
        semantic_cache=semantic_cache,
    )
    progress.finish()
    print(describe_run(summary))
    from agentdeck.cli.review import waiting_hint

    print(waiting_hint(summary, args.checkpoint_db) or "", end="")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from agentdeck.cli.otlp_files import LoadError, find_files, load_files
    from agentdeck.cli.progress import Progress

    try:
        files = find_files(args.files)
        if not files:
            raise CliError("no OTLP files (.pb, .json, optionally .gz) found in the paths given")
        progress = Progress(0, "loading")

        def show(done: int, total: int) -> None:
            progress.total = total
            progress.update(done)

        result = load_files(
            files,
            f"{collector_url(args)}/v1/traces",
            shift_to_now=args.shift_to_now,
            token=collector_token(args),
            on_progress=show,
        )
    except LoadError as exc:
        raise CliError(str(exc)) from None
    progress.finish()
    print(
        f"loaded {result.spans_sent - result.spans_rejected} spans from {result.files} files "
        f"in {result.requests} requests ({result.spans_rejected} rejected)"
    )
    return 0 if result.spans_rejected == 0 else 1


def cmd_sample_traces(args: argparse.Namespace) -> int:
    from agentdeck.cli.progress import describe_run
    from agentdeck.cli.samples import write_samples

    for path, runs in write_samples(args.out):
        print(f"wrote {path}: {'; '.join(describe_run(r) for r in runs)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentdeck",
        description="Observability and time-travel replay for multi-agent LLM systems.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="collector + dashboard + sample traces + live simulated runs")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the DuckDB file, checkpoints and logs go (default: .agentdeck)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address both servers bind (default: 127.0.0.1)")
    p.add_argument("--collector-port", type=int, default=4318, help="OTLP/HTTP and query API port (default: 4318)")
    p.add_argument("--dashboard-port", type=int, default=8501, help="dashboard port (default: 8501)")
    p.add_argument(
        "--samples",
        type=Path,
        default=None,
        help="folder of OTLP files to load first (default: the repo's sample_traces/)",
    )
    p.add_argument("--no-live", action="store_true", help="do not keep running simulated workflows")
    p.add_argument("--interval", type=float, default=4.0, help="seconds between live batches (default: 4)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("collector", help="run the OTLP collector (ingest into DuckDB, query API)")
    from agentdeck.collector.__main__ import add_arguments as add_collector_settings

    add_collector_settings(p)
    p.set_defaults(func=cmd_collector)

    p = sub.add_parser("dashboard", help="run the Streamlit dashboard against a running collector")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="port (default: 8501)")
    add_collector_arguments(p, token=False)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("run", help="run tasks of an example workflow on the engine, traced to the collector")
    p.add_argument("workflow", help="workflow name (triage, due_diligence, earnings, code_review, content, incident)")
    p.add_argument("--tasks", type=int, default=10, help="number of tasks (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="seed for task inputs and the simulator (default: 0)")
    p.add_argument("--concurrency", type=int, default=4, help="tasks run at once (default: 4)")
    p.add_argument("--chaos", type=float, default=0.0, help="fault rate 0..1: tool failures, latency, malformed output")
    p.add_argument("--budget", type=float, default=None, help="per-task budget in USD (default: the workflow's)")
    p.add_argument(
        "--latency-scale", type=float, default=1.0, help="simulated latency multiplier, 0 = instant (default: 1)"
    )
    p.add_argument(
        "--checkpoint-db",
        type=Path,
        default=DEFAULT_DATA_DIR / "checkpoints.sqlite",
        help="SQLite checkpoint file (default: .agentdeck/checkpoints.sqlite)",
    )
    p.add_argument(
        "--prompt-version",
        action="append",
        default=[],
        metavar="AGENT=VERSION",
        help="run AGENT with a saved prompt version (e.g. classifier=v2, saved from Replay); repeatable",
    )
    p.add_argument(
        "--semantic-cache", action="store_true", help="serve near-duplicate requests from earlier answers ([cache])"
    )
    p.add_argument("--cache-threshold", type=float, default=0.95, help="semantic cache similarity (default: 0.95)")
    p.add_argument("--cache-ttl", type=float, default=3600.0, help="semantic cache entry lifetime, s (default: 3600)")
    add_collector_arguments(p, token=False)
    p.add_argument("--no-export", action="store_true", help="do not send spans anywhere")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("load", help="send OTLP files (protobuf or JSON, optionally .gz) to a running collector")
    p.add_argument("files", nargs="+", type=Path, help="files or folders of .pb/.json(.gz) files")
    add_collector_arguments(p)
    p.add_argument("--shift-to-now", action="store_true", help="move timestamps so the newest span ends now")
    p.set_defaults(func=cmd_load)

    # Feature commands live in their own modules, each adding its subcommands here.
    for module in FEATURE_COMMANDS:
        importlib.import_module(module).register(sub)

    p = sub.add_parser("sample-traces", help="regenerate sample_traces/ deterministically from the engine")
    p.add_argument("--out", type=Path, default=Path("sample_traces"), help="output folder (default: sample_traces)")
    p.set_defaults(func=cmd_sample_traces)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"agentdeck: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
