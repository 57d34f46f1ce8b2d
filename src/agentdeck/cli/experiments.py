"""`agentdeck experiment`: run a dataset again with changed prompts (fresh, or forked at each item's
failing step), then "N fixed, M broken, +$X" against what happened or against another experiment."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentdeck.cli.datasets import checkpoint_argument, open_datasets, store_path
from agentdeck.cli.main import (
    CliError,
    add_collector_arguments,
    agent_pairs,
    checkpoint_db,
    collector_url,
    saved_prompts,
)


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from agentdeck.cli.export import finish_export, run_provider
    from agentdeck.cli.progress import Progress
    from agentdeck.engine.evaluators import parse_evaluator
    from agentdeck.engine.experiment_compare import compare, headline, originals, sides
    from agentdeck.engine.experiments import Experiment, run_experiment
    from agentdeck.engine.replay.validate import check_prompt_overrides
    from agentdeck.engine.workflows import get_workflow

    with open_datasets(args) as store:
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

    db = store_path(args)
    if not db.exists():
        raise CliError(f"no experiments: {db} does not exist")
    with ExperimentStore(db) as exps, open_datasets(args) as datasets:
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

    db = store_path(args)
    if not db.exists():
        raise CliError(f"no experiments: {db} does not exist")
    with ExperimentStore(db) as store:
        for e in store.all():
            results = store.results(e.name)
            ok = sum(r.outcome == "success" for r in results.values())
            print(f"{e.name}  {e.dataset} v{e.dataset_version}  {e.mode}  {ok}/{len(results)} success")
    return 0


def register(sub: Any) -> None:
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
    checkpoint_argument(r)
    add_collector_arguments(r)
    r.add_argument("--no-export", action="store_true", help="do not send spans anywhere")
    r.add_argument("--json", action="store_true", help="print the comparison with the originals as JSON")
    r.set_defaults(func=cmd_experiment_run)
    c = esub.add_parser("compare", help="compare experiment B with experiment A, or with the originals")
    c.add_argument("baseline", help="experiment A, or `original`")
    c.add_argument("candidate", help="experiment B")
    checkpoint_argument(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_experiment_compare)
    c = esub.add_parser("list", help="the experiments and their results")
    checkpoint_argument(c)
    c.set_defaults(func=cmd_experiment_list)
