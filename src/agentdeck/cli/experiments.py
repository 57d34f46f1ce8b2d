"""`agentdeck dataset` and `agentdeck experiment`: from failed traces to a dataset, to a batch run with a
new prompt, to "N fixed, M broken, +$X" against what happened."""

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
    agent_pairs,
    checkpoint_db,
    collector_token,
    collector_url,
    saved_prompts,
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


def _store_path(args: argparse.Namespace) -> Path:
    from agentdeck.engine.checkpoints import is_postgres

    db = checkpoint_db(args)
    if is_postgres(db):
        raise CliError("datasets and experiments are kept in a SQLite file: pass --checkpoint-db PATH to one")
    return db


def _datasets(args: argparse.Namespace, *, create: bool = False) -> Any:
    from agentdeck.engine.datasets import DatasetStore

    db = _store_path(args)
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
    from agentdeck.engine.datasets import TraceRow

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
    return [
        TraceRow(
            str(r.trace_id),
            r.thread_id if isinstance(r.thread_id, str) else "",
            str(r.outcome or r.status or ""),
            float(r.cost_usd or 0.0),
            int((r.input_tokens or 0) + (r.output_tokens or 0)),
            float(r.duration_ms or 0.0),
        )
        for r in frame.itertuples()
        if not (isinstance(r.replay_of, str) and r.replay_of)  # a replay is a branch of a task, not a task
    ]


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
        with _datasets(args, create=True) as store:
            ds = store.create(args.name, workflow, source, items)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"dataset {ds.name} v{ds.version}: {len(ds.items)} items ({source})")
    return 0


def cmd_dataset_list(args: argparse.Namespace) -> int:
    with _datasets(args) as store:
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
    with _datasets(args) as store:
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


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from agentdeck.cli.export import finish_export, run_provider
    from agentdeck.cli.progress import Progress
    from agentdeck.engine.evaluators import parse_evaluator
    from agentdeck.engine.experiment_compare import compare, headline, originals, sides
    from agentdeck.engine.experiments import Experiment, run_experiment
    from agentdeck.engine.replay.validate import check_prompt_overrides
    from agentdeck.engine.workflows import get_workflow

    with _datasets(args) as store:
        try:
            ds = store.get(args.dataset, args.version)
        except KeyError as exc:
            raise CliError(str(exc).strip('"')) from None
    ref = args.workflow or ds.workflow
    if not ref:
        raise CliError(f"dataset {ds.name} does not say its workflow: pass --workflow W")
    try:
        wf = get_workflow(ref)
        if ds.workflow and get_workflow(ds.workflow).name != wf.name:
            raise CliError(f"dataset {ds.name} holds tasks of {ds.workflow}, not {ref}")
        db = checkpoint_db(args)
        prompts = saved_prompts(db, ref, agent_pairs(args.prompt_version, "--prompt-version"))
        prompts.update(agent_pairs(args.prompt, "--prompt"))
        check_prompt_overrides(wf, prompts)
        evaluators = [parse_evaluator(e) for e in args.evaluator]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    if args.max_cost is not None and not args.max_cost > 0:
        raise CliError("--max-cost is an amount in USD above 0 (e.g. 0.50)")
    mode = "from-failing-step" if args.from_failing_step else "fresh"
    name = args.name or f"{ds.name}-v{ds.version}-{mode}-{_digest(prompts)}"
    exp = Experiment(name, ds.name, ds.version, ref, mode, prompts)
    tracer_provider, target = run_provider(args, export=not args.no_export)
    progress = Progress(len(ds.items), f"experiment {name}")
    counts: dict[str, int] = {}

    def on_item(r: Any) -> None:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
        progress.update(sum(counts.values()), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))

    try:
        run = run_experiment(
            exp,
            ds,
            checkpoint_db=db,
            tracer_provider=tracer_provider,
            concurrency=args.concurrency,
            max_cost_usd=args.max_cost,
            evaluators=evaluators,
            on_item=on_item,
        )
    except (LookupError, ValueError) as exc:
        raise CliError(str(exc).strip('"')) from None
    progress.finish()
    finish_export(tracer_provider, target, f"experiment {name}")
    if target is not None:
        _send_scores(args, [r for r in run.results.values() if r.scores])
    report = compare(originals(ds), sides(run.results), baseline_name="original", candidate_name=name)
    report = {
        "experiment": name,
        "dataset": ds.name,
        "dataset_version": ds.version,
        "mode": mode,
        "ran": run.ran,
        "skipped_for_budget": run.skipped_for_budget,
        **report,
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(
            f"experiment {name}: {headline(report)} against the originals ({len(run.results)} of "
            f"{len(ds.items)} items run, ${run.cost_usd:.4f})"
        )
    if run.skipped_for_budget:
        print(
            f"agentdeck: {len(run.skipped_for_budget)} item(s) not run: the experiment reached --max-cost "
            f"${args.max_cost}; run it again with the same --name and a higher cap to finish",
            file=sys.stderr,
        )
    return 0


def _send_scores(args: argparse.Namespace, results: list[Any]) -> None:
    """The runs' scores to the collector's scores store (source `code`), beside their traces."""
    import httpx

    from agentdeck.cli.export import token_headers

    body = [{"trace_id": r.trace_id, **s.to_json()} for r in results for s in r.scores]
    for start in range(0, len(body), 1000):
        try:
            resp = httpx.post(f"{collector_url(args)}/api/scores", json=body[start : start + 1000],
                              headers=token_headers(args), timeout=30)  # fmt: skip
        except httpx.HTTPError as exc:
            raise CliError(f"the scores could not be sent to {collector_url(args)} ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise CliError(f"the collector refused the scores ({resp.status_code}): {resp.text[:300]}")


def _digest(prompts: dict[str, str]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(sorted(prompts.items())).encode()).hexdigest()[:6] if prompts else "as-is"


def cmd_experiment_compare(args: argparse.Namespace) -> int:
    from agentdeck.engine.experiment_compare import compare, headline, originals, sides
    from agentdeck.engine.experiments import ExperimentStore

    db = _store_path(args)
    if not db.exists():
        raise CliError(f"no experiments: {db} does not exist")
    with ExperimentStore(db) as exps, _datasets(args) as datasets:
        try:
            b = exps.get(args.candidate)
            ds = datasets.get(b.dataset, b.dataset_version)
            if args.baseline in (None, "original"):
                base, base_name = originals(ds), "original"
            else:
                base, base_name = sides(exps.results(exps.get(args.baseline).name)), args.baseline
            report = compare(base, sides(exps.results(b.name)), baseline_name=base_name, candidate_name=b.name)
        except KeyError as exc:
            raise CliError(str(exc).strip('"')) from None
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(f"{b.name} against {base_name}: {headline(report)}")
    for item in report["items"]:
        a, c = item["baseline"] or {}, item["candidate"] or {}
        print(f"  {item['item_id']:<24} {a.get('outcome', '-'):<12} -> {c.get('outcome', '-'):<12} {item['verdict']}")
    return 0


def cmd_experiment_list(args: argparse.Namespace) -> int:
    from agentdeck.engine.experiments import ExperimentStore

    db = _store_path(args)
    if not db.exists():
        raise CliError(f"no experiments: {db} does not exist")
    with ExperimentStore(db) as store:
        for e in store.all():
            results = store.results(e.name)
            ok = sum(r.outcome == "success" for r in results.values())
            print(f"{e.name}  {e.dataset} v{e.dataset_version}  {e.mode}  {ok}/{len(results)} success")
    return 0


def _checkpoint_arg(p: argparse.ArgumentParser) -> None:
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
    _checkpoint_arg(c)
    add_collector_arguments(c)
    c.set_defaults(func=cmd_dataset_create)
    c = dsub.add_parser("list", help="the datasets and their latest versions")
    _checkpoint_arg(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_dataset_list)
    c = dsub.add_parser("show", help="a dataset's items")
    c.add_argument("name")
    c.add_argument("--version", type=int, default=None, help="this version (default: the latest)")
    _checkpoint_arg(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_dataset_show)

    p = sub.add_parser("experiment", help="run a dataset with changed prompts and compare with what happened")
    esub = p.add_subparsers(dest="experiment_command", required=True, metavar="ACTION")
    r = esub.add_parser("run", help="run every item of a dataset (resumes when the name exists)")
    r.add_argument("dataset")
    r.add_argument("--version", type=int, default=None, help="the dataset's version (default: the latest)")
    r.add_argument("--workflow", default=None, help="the workflow (default: the dataset's)")
    r.add_argument("--prompt", action="append", default=[], metavar="AGENT=TEXT", help="a new prompt for AGENT")
    r.add_argument(
        "--prompt-version",
        action="append",
        default=[],
        metavar="AGENT=VERSION",
        help="a saved prompt version for AGENT (e.g. classifier=v2)",
    )
    r.add_argument(
        "--from-failing-step",
        action="store_true",
        help="fork each item's original thread at the checkpoint before its failure (else run fresh)",
    )
    r.add_argument("--concurrency", type=int, default=4, help="items run at once (default: 4)")
    r.add_argument(
        "--max-cost",
        type=float,
        default=None,
        metavar="USD",
        help="no item starts once the experiment has spent this much",
    )
    r.add_argument("--name", default=None, help="the experiment's name; the same name resumes it")
    r.add_argument(
        "--evaluator",
        action="append",
        default=[],
        metavar="SPEC",
        help="score each run: exact, regex[:PATTERN], schema:MODULE:ATTR, max-cost:USD, max-latency-ms:MS; repeatable",
    )
    _checkpoint_arg(r)
    add_collector_arguments(r)
    r.add_argument("--no-export", action="store_true", help="do not send spans anywhere")
    r.add_argument("--json", action="store_true", help="print the comparison with the originals as JSON")
    r.set_defaults(func=cmd_experiment_run)
    c = esub.add_parser("compare", help="compare experiment B with experiment A, or with the originals")
    c.add_argument("baseline", help="experiment A, or `original`")
    c.add_argument("candidate", help="experiment B")
    _checkpoint_arg(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_experiment_compare)
    c = esub.add_parser("list", help="the experiments and their results")
    _checkpoint_arg(c)
    c.set_defaults(func=cmd_experiment_list)
