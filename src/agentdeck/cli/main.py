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
    from agentdeck.engine.runner import TaskInput
    from agentdeck.engine.semantic_cache import SemanticCache
    from agentdeck.engine.workflow import Workflow

DEFAULT_DATA_DIR = Path(".agentdeck")
DEFAULT_CHECKPOINT_DB = DEFAULT_DATA_DIR / "checkpoints.sqlite"
# Modules with a `register(subparsers)` that adds their commands (see build_parser).
FEATURE_COMMANDS: tuple[str, ...] = (
    "agentdeck.cli.alerts",
    "agentdeck.cli.replay",
    "agentdeck.cli.store",
    "agentdeck.cli.datasets",
    "agentdeck.cli.experiments",
    "agentdeck.cli.evaluator",
    "agentdeck.cli.review",
    "agentdeck.cli.worker",
)
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


def checkpoint_db(args: argparse.Namespace) -> Path | str:
    """`--checkpoint-db`, else $AGENTDECK_CHECKPOINT_DB, else .agentdeck/checkpoints.sqlite: a file path,
    or a postgresql:// URL kept as written (a Path would fold its `//`)."""
    value = str(args.checkpoint_db or os.environ.get("AGENTDECK_CHECKPOINT_DB") or DEFAULT_CHECKPOINT_DB)
    return value if value.startswith(("postgres://", "postgresql://")) else Path(value)


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
    from agentdeck.cli.worker import postgres_url
    from agentdeck.dashboard.replay.workflows import ENV_VAR
    from agentdeck.engine.workers.settings import POSTGRES_ENV

    env = {**os.environ, "AGENTDECK_COLLECTOR_URL": collector_url(args)}
    if args.workflows:  # where the Replay page looks for your workflows (dashboard/replay/workflows.py)
        env[ENV_VAR] = ",".join([*filter(None, [env.get(ENV_VAR, "")]), *args.workflows])
    if (url := postgres_url(args.postgres)) is not None:  # Replay reads the workers' PostgreSQL
        env[POSTGRES_ENV] = url
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
    from agentdeck.engine.checkpoints import is_postgres
    from agentdeck.engine.prompts import PromptStore

    if not is_postgres(db) and not Path(db).exists():
        raise CliError(f"no saved prompt versions: {db} does not exist (save one from Replay, or pass --checkpoint-db)")

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
    from agentdeck.cli.export import finish_export, run_provider
    from agentdeck.cli.progress import Progress, describe_run
    from agentdeck.engine.replay.validate import check_prompt_overrides
    from agentdeck.engine.runner import run_tasks
    from agentdeck.engine.workflows import get_workflow

    try:
        wf = get_workflow(args.workflow)
    except ValueError as exc:  # RefError too: the message says what to fix
        raise CliError(str(exc)) from None
    if args.tasks is not None and args.tasks_file is not None:
        raise CliError("give --tasks N (tasks the workflow makes) or --tasks-file FILE, not both")
    if args.tasks is not None and args.tasks < 1:
        raise CliError("--tasks must be at least 1")
    if not 0.0 <= args.chaos <= 1.0:
        raise CliError("--chaos is a rate between 0 and 1 (e.g. 0.1)")
    if args.tasks_file is None and wf.make_tasks is None:
        raise CliError(f"workflow {wf.name} makes no tasks of its own: give its inputs with --tasks-file FILE")
    from agentdeck.cli.worker import enqueue_run, postgres_url, reachable

    queue = postgres_url(args.postgres)
    chosen = agent_pairs(args.prompt_version, "--prompt-version")
    if queue is not None:  # workers run the tasks; --checkpoint-db postgresql://... alone still runs here
        if args.tasks_file is not None or args.prompt:
            raise CliError(
                "--postgres queues the tasks a workflow makes itself (--tasks N, --prompt-version); "
                "--tasks-file and --prompt run here: drop --postgres (or use --checkpoint-db postgresql://...)"
            )
        args.tasks = 10 if args.tasks is None else args.tasks
        return enqueue_run(args, queue, saved_prompts(queue, args.workflow, chosen))
    if args.wait:
        raise CliError("--wait follows tasks queued with --postgres URL (or AGENTDECK_POSTGRES_URL)")
    db = checkpoint_db(args)
    if isinstance(db, str):  # a postgresql:// URL: every record there, the tasks run here
        reachable(db)
    overrides = saved_prompts(db, args.workflow, chosen)
    overrides.update(agent_pairs(args.prompt, "--prompt"))
    try:
        check_prompt_overrides(wf, overrides)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    tasks: int | list[TaskInput] = 10 if args.tasks is None else args.tasks
    bad_lines: list[str] = []
    if args.tasks_file is not None:
        tasks, bad_lines = _tasks_from_file(args.tasks_file, wf, strict=args.strict)
    tracer_provider, target = run_provider(args, export=not args.no_export)
    progress = Progress(tasks if isinstance(tasks, int) else len(tasks), wf.name)
    outcomes: dict[str, int] = {}

    def on_progress(result: object) -> None:
        outcome = str(getattr(result, "outcome", "done"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        progress.update(sum(outcomes.values()), " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))

    semantic_cache = _semantic_cache(args)
    try:
        summary = run_tasks(
            wf,
            tasks,
            seed=args.seed,
            concurrency=args.concurrency,
            chaos=args.chaos,
            checkpoint_db=db,
            tracer_provider=tracer_provider,
            latency_scale=args.latency_scale,
            budget_usd=args.budget,
            prompt_overrides=overrides,
            on_progress=on_progress,
            semantic_cache=semantic_cache,
        )
    except ValueError as exc:  # checked before any task runs (e.g. a task id another workflow holds)
        raise CliError(str(exc)) from None
    progress.finish()
    print(describe_run(summary))
    from agentdeck.cli.review import waiting_hint

    print(waiting_hint(summary, db) or "", end="")
    finish_export(tracer_provider, target, "this run")
    if bad_lines:
        raise CliError(f"{len(bad_lines)} line(s) of {args.tasks_file} did not run; fix them and run again")
    return 0


def _tasks_from_file(path: Path, wf: Workflow, *, strict: bool) -> tuple[list[TaskInput], list[str]]:
    """The file's tasks and its bad lines, each already printed as `agentdeck: FILE line N: ...`;
    CliError when the file cannot be read, has no good line, or (strict) has a bad one."""
    from agentdeck.engine.replay.validate import state_fields
    from agentdeck.engine.tasks_file import read_tasks

    try:
        found = read_tasks(path, state_fields(wf))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the tasks file: {exc}") from None
    for error in found.errors:
        print(f"agentdeck: {path} {error}", file=sys.stderr)
    if found.errors and strict:
        raise CliError(f"{len(found.errors)} bad line(s) in {path}; nothing ran (--strict)")
    if not found.tasks:
        raise CliError(f"{path} holds no task to run")
    return found.tasks, found.errors


def cmd_load(args: argparse.Namespace) -> int:
    from agentdeck.cli.export import target_of
    from agentdeck.cli.otlp_files import LoadError, find_files, load_files
    from agentdeck.cli.progress import Progress

    if not args.give_up_after > 0:  # NaN too
        raise CliError("--give-up-after is a number of seconds above 0 (e.g. 30)")
    target = target_of(args)
    try:
        files = find_files(args.files)
        if not files:
            raise CliError("no OTLP files (.pb, .json, optionally .gz) found in the paths given")
        progress = Progress(0, "loading")

        def show(done: int, total: int) -> None:
            progress.total = max(total, done)  # 0 when no first pass counted them
            progress.update(done)

        result = load_files(
            files,
            target.url,
            shift_to_now=args.shift_to_now,
            headers=target.headers,
            give_up_s=args.give_up_after,
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
    p.add_argument(
        "--workflows",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module (or path.py) holding your workflows, for Replay; repeatable (adds to $AGENTDECK_WORKFLOWS)",
    )
    add_collector_arguments(p, token=False)
    p.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="the workers' PostgreSQL, where Replay reads checkpoints and prompt versions "
        "(default: $AGENTDECK_POSTGRES_URL)",
    )
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("run", help="run tasks of a workflow (an example or your own) on the engine, traced")
    p.add_argument(
        "workflow",
        help="an example's name (triage, due_diligence, earnings, code_review, content, incident) "
        "or your workflow as MODULE:ATTR or path/to/file.py:ATTR",
    )
    p.add_argument("--tasks", type=int, default=None, help="number of tasks the workflow makes (default: 10)")
    p.add_argument(
        "--tasks-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="task inputs, one per line: JSONL objects or CSV with a header; an `id` field is the task id "
        "(default: the line number)",
    )
    p.add_argument("--strict", action="store_true", help="run nothing when a line of --tasks-file is bad")
    p.add_argument("--seed", type=int, default=0, help="seed for task inputs and the simulator (default: 0)")
    p.add_argument("--concurrency", type=int, default=4, help="tasks run at once (default: 4)")
    p.add_argument("--chaos", type=float, default=0.0, help="fault rate 0..1: tool failures, latency, malformed output")
    p.add_argument("--budget", type=float, default=None, help="per-task budget in USD (default: the workflow's)")
    p.add_argument(
        "--latency-scale", type=float, default=1.0, help="simulated latency multiplier, 0 = instant (default: 1)"
    )
    p.add_argument(
        "--checkpoint-db",
        default=None,
        help="SQLite checkpoint file, or a postgresql:// URL to keep every record there while running here "
        f"(default: $AGENTDECK_CHECKPOINT_DB or {DEFAULT_CHECKPOINT_DB})",
    )
    p.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="queue the tasks in this PostgreSQL for `agentdeck worker`s instead of running them here "
        "(default: $AGENTDECK_POSTGRES_URL)",
    )
    p.add_argument("--wait", action="store_true", help="with --postgres: follow the queued tasks to their summary")
    p.add_argument(
        "--prompt-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="run prompt NAME (an agent's name) with a saved version (e.g. classifier=v2, saved from Replay); "
        "repeatable",
    )
    p.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="run prompt NAME (an agent's name) with this template instead; repeatable",
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
    p.add_argument(
        "--give-up-after",
        type=float,
        default=30.0,
        metavar="S",
        help="stop with an error when the collector has not accepted a request for S seconds (default: 30)",
    )
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
        status = int(args.func(args))
        sys.stdout.flush()  # inside the try: a reader that left (`| head`) is noticed here, not at exit
        return status
    except CliError as exc:
        print(f"agentdeck: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_left()


def _reader_left() -> int:
    """stdout's reader closed the pipe (`agentdeck ... | head`): stop quietly, as `cat` would.

    Python's exit would flush stdout again and print the same error, so stdout goes to /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # killed by SIGPIPE, as the shell reports it
