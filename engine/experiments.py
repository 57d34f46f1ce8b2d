"""Experiments: every item of a dataset run again (fresh, or forked at its failing step), recorded.

An experiment has a name, the dataset version it runs, the workflow, the prompt overrides, and how
items run: fresh (a new task with the item's input) or from the failing step (the item's original
thread forked at the checkpoint before its failure through the replay path, unchanged steps served
from the recording). Each item's result (outcome, cost, tokens, latency, output, scores) is saved as
soon as it finishes, beside the checkpoints, so a killed experiment resumes by name and runs only the
items it had not finished. `max_cost_usd` caps the whole experiment: no item starts once the cost
spent (this run and earlier ones of the experiment) reaches it. Each run's workflow span carries the
experiment, dataset and item (`agentdeck.experiment.name`, `agentdeck.dataset.*`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentdeck.engine import semconv as sc
from agentdeck.engine.checkpoints import is_postgres
from agentdeck.engine.datasets import Dataset, Item
from agentdeck.engine.evaluators import Evaluator, RunFacts, Score
from agentdeck.engine.record_store import RecordStore

MODES = ("fresh", "from-failing-step")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentdeck_experiments (
    name TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    dataset_version INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    mode TEXT NOT NULL,
    prompts TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS agentdeck_experiment_results (
    experiment TEXT NOT NULL,
    item_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cost_usd REAL NOT NULL,
    tokens INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    output TEXT NOT NULL,
    detail TEXT NOT NULL,
    scores TEXT NOT NULL,
    PRIMARY KEY (experiment, item_id)
);
"""


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    dataset: str
    dataset_version: int
    workflow: str
    mode: str  # fresh | from-failing-step
    prompts: dict[str, str]  # agent -> template
    created_ns: int = 0


@dataclass(frozen=True, slots=True)
class ItemResult:
    item_id: str
    task_id: str
    thread_id: str
    trace_id: str
    outcome: str
    cost_usd: float
    tokens: int
    latency_ms: float
    output: Any
    detail: str = ""
    scores: tuple[Score, ...] = ()


class ExperimentStore(RecordStore):
    """SQLite only for now (its statements use the sqlite3 connection directly)."""

    SCHEMA = _SCHEMA

    def __init__(self, location: str | Path) -> None:
        if is_postgres(location):
            raise ValueError(
                "datasets and experiments are kept in a SQLite checkpoint file for now: pass --checkpoint-db PATH "
                "(a postgresql:// location holds the workers' records, not these)"
            )
        super().__init__(location)

    def start(self, exp: Experiment) -> Experiment:
        """Record `exp`, or return the one already under its name when it is the same experiment
        (a resume); ValueError when the name holds another one."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO agentdeck_experiments VALUES (?,?,?,?,?,?,?)",
                (
                    exp.name,
                    exp.dataset,
                    exp.dataset_version,
                    exp.workflow,
                    exp.mode,
                    json.dumps(exp.prompts, sort_keys=True),
                    time.time_ns(),
                ),
            )
            self._conn.commit()
        held = self.get(exp.name)
        mine = (exp.dataset, exp.dataset_version, exp.workflow, exp.mode, exp.prompts)
        theirs = (held.dataset, held.dataset_version, held.workflow, held.mode, held.prompts)
        if mine != theirs:
            raise ValueError(
                f"experiment {exp.name} already ran dataset {held.dataset} v{held.dataset_version} ({held.mode}, "
                f"workflow {held.workflow}, prompts {sorted(held.prompts)}) with other settings: "
                "give this one another --name"
            )
        return held

    def get(self, name: str) -> Experiment:
        with self._lock:
            row = self._conn.execute("SELECT * FROM agentdeck_experiments WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(e.name for e in self.all()) or "none yet"
            raise KeyError(f"no experiment {name!r}; experiments: {known}")
        return Experiment(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6])

    def all(self) -> list[Experiment]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM agentdeck_experiments ORDER BY created_ns").fetchall()
        return [Experiment(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def save(self, experiment: str, r: ItemResult) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO agentdeck_experiment_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    experiment,
                    r.item_id,
                    r.task_id,
                    r.thread_id,
                    r.trace_id,
                    r.outcome,
                    r.cost_usd,
                    r.tokens,
                    r.latency_ms,
                    json.dumps(r.output, default=str),
                    r.detail,
                    json.dumps([s.to_json() for s in r.scores]),
                ),
            )
            self._conn.commit()

    def results(self, experiment: str) -> dict[str, ItemResult]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM agentdeck_experiment_results WHERE experiment = ?", (experiment,)
            ).fetchall()
        return {
            r[1]: ItemResult(
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                json.loads(r[9]),
                r[10],
                tuple(Score(**s) for s in json.loads(r[11])),
            )
            for r in rows
        }


class _RunFacts(SpanExporter):
    """Tokens and duration per trace, from the experiment's own spans."""

    def __init__(self) -> None:
        self.tokens: dict[str, int] = {}
        self.duration_ms: dict[str, float] = {}
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for s in spans:
                trace_id = format(s.context.trace_id, "032x")
                attrs = s.attributes or {}
                if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT:
                    used = int(str(attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0))) + int(
                        str(attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0))
                    )
                    self.tokens[trace_id] = self.tokens.get(trace_id, 0) + used
                if s.parent is None and s.end_time and s.start_time:
                    self.duration_ms[trace_id] = (s.end_time - s.start_time) / 1e6
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass
class ExperimentRun:
    experiment: Experiment
    results: dict[str, ItemResult]  # item id -> result, earlier runs' included
    ran: int = 0  # items run this time
    skipped_for_budget: list[str] = field(default_factory=list)
    undelivered_spans: int = 0

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.results.values())


def check_inputs(workflow: str, items: Sequence[Item]) -> None:
    """ValueError naming the first item whose input the workflow's state does not take (before any runs)."""
    from agentdeck.engine.replay.validate import check_state_update
    from agentdeck.engine.workflows import get_workflow

    wf = get_workflow(workflow)
    for item in items:
        if not item.input:
            raise ValueError(f"item {item.item_id} has an empty input: nothing to run {wf.name} with")
        try:
            check_state_update(wf, item.input, None)
        except ValueError as exc:
            raise ValueError(f"item {item.item_id}: {exc}") from None


def failing_checkpoint(checkpoint_db: str | Path, item: Item) -> str:
    """The checkpoint before the item's failure: the last one its original run wrote with a step still to
    run (for a run that finished, its first one, so the whole task runs again). LookupError otherwise."""
    from agentdeck.engine.replay.history import checkpoint_tree

    if not item.thread_id:
        raise LookupError(f"item {item.item_id} has no original thread (it came from a file): run it fresh")
    history = checkpoint_tree(checkpoint_db, item.thread_id)
    pending = [c for c in history.for_trace(item.trace_id) if c.next_nodes]
    if not pending:
        raise LookupError(f"item {item.item_id}: its original run {item.trace_id} left no checkpoint to fork")
    ended = not history.for_trace(item.trace_id)[-1].next_nodes
    return (pending[0] if ended else pending[-1]).checkpoint_id


def run_experiment(
    exp: Experiment,
    dataset: Dataset,
    *,
    checkpoint_db: str | Path,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    tracer_provider: TracerProvider | None = None,
    concurrency: int = 4,
    max_cost_usd: float | None = None,
    evaluators: Sequence[Evaluator] = (),
    latency_scale: float = 0.0,
    on_item: Callable[[ItemResult], None] | None = None,
) -> ExperimentRun:
    """Run the dataset's items that `exp` has not finished yet and save each result as it ends."""
    from agentdeck.engine.telemetry import make_tracer_provider, undelivered
    from agentdeck.engine.telemetry import release as release_provider

    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if max_cost_usd is not None and not max_cost_usd > 0:
        raise ValueError(f"the cost cap must be above 0 USD, got {max_cost_usd}")
    if exp.mode not in MODES:
        raise ValueError(f"mode is one of {', '.join(MODES)}, got {exp.mode!r}")
    if exp.mode == "fresh":
        check_inputs(exp.workflow, dataset.items)
    facts = _RunFacts()
    owned = tracer_provider is None
    tp = tracer_provider or make_tracer_provider(endpoint, headers=headers)
    tp.add_span_processor(_simple(facts))
    store = ExperimentStore(checkpoint_db)
    try:
        held = store.start(exp)
        done = store.results(exp.name)
        starts = (
            {i.item_id: failing_checkpoint(checkpoint_db, i) for i in dataset.items if i.item_id not in done}
            if (exp.mode == "from-failing-step")
            else {}
        )
        run = ExperimentRun(held, done)
        lock = threading.Lock()
        spent = [sum(r.cost_usd for r in done.values())]

        def one(item: Item) -> ItemResult | None:
            with lock:
                if max_cost_usd is not None and spent[0] >= max_cost_usd:
                    run.skipped_for_budget.append(item.item_id)
                    return None
            began = time.monotonic()
            result = _run_item(exp, dataset, item, starts.get(item.item_id), checkpoint_db, tp, latency_scale)
            latency = facts.duration_ms.get(result.trace_id, (time.monotonic() - began) * 1000)
            out = ItemResult(
                item.item_id,
                result.task_id,
                result.thread_id,
                result.trace_id,
                result.outcome,
                result.cost_usd,
                facts.tokens.get(result.trace_id, 0),
                latency,
                result.result,
                result.detail,
            )
            run_facts = RunFacts(out.outcome, out.output, item.expected, out.cost_usd, out.latency_ms, item.input)
            scores = tuple(s for e in evaluators if (s := e.score(run_facts)) is not None)
            out = ItemResult(**{**_fields(out), "scores": scores})
            store.save(exp.name, out)
            with lock:
                spent[0] += out.cost_usd
                run.results[item.item_id] = out
                run.ran += 1
            return out

        todo = [i for i in dataset.items if i.item_id not in done]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="agentdeck-experiment") as pool:
            for fut in as_completed([pool.submit(one, i) for i in todo]):
                finished = fut.result()
                if finished is not None and on_item is not None:
                    on_item(finished)  # in the calling thread (a dashboard's progress bar needs its own)
    finally:
        store.close()
        if owned:
            run_lost = undelivered(tp)
        release_provider(tp, owned)
    if owned:
        run.undelivered_spans = run_lost
    return run


def _fields(r: ItemResult) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ItemResult.__dataclass_fields__}


def _simple(exporter: SpanExporter) -> Any:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    return SimpleSpanProcessor(exporter)


def _run_item(
    exp: Experiment,
    dataset: Dataset,
    item: Item,
    checkpoint_id: str | None,
    checkpoint_db: str | Path,
    tp: TracerProvider,
    latency_scale: float,
) -> Any:
    """One item's run: a fork of its thread at `checkpoint_id`, else a fresh task. Its TaskResult."""
    from agentdeck.engine.providers.simulator import FaultRates

    attrs = {
        sc.AD_EXPERIMENT_NAME: exp.name,
        sc.AD_DATASET_NAME: dataset.name,
        sc.AD_DATASET_VERSION: dataset.version,
        sc.AD_DATASET_ITEM_ID: item.item_id,
    }
    if checkpoint_id is not None:
        from agentdeck.engine.replay.fork import replay

        return replay(
            item.thread_id,
            checkpoint_db=checkpoint_db,
            checkpoint_id=checkpoint_id,
            prompt_overrides=exp.prompts,
            tracer_provider=tp,
            latency_scale=latency_scale,
            faults=FaultRates(),
            root_attributes=attrs,
        )
    from agentdeck.engine.runner import TaskInput, run_tasks

    summary = run_tasks(
        exp.workflow,
        [TaskInput(f"{exp.name}.{item.item_id}", dict(item.input))],
        concurrency=1,
        checkpoint_db=checkpoint_db,
        tracer_provider=tp,
        latency_scale=latency_scale,
        faults=FaultRates(),
        prompt_overrides=exp.prompts,
        root_attributes=attrs,
    )
    return summary.tasks[0]
