"""Run many tasks of a workflow: the API behind `agentdeck run` and the sample-trace generator.

Each task is one LangGraph thread (checkpointed) and one trace (`invoke_workflow {name}` root span).
Tasks already finished in the checkpoint DB are not re-run; a task with a checkpoint but no recorded
outcome (a killed run) resumes from its last checkpoint, its root span linked to the killed run's.
Queue workers (agentdeck.engine.workers) run tasks through the same `open_engine` and `run_one`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanContext, TraceFlags

from agentdeck.engine import semconv as sc
from agentdeck.engine.checkpoints import is_postgres, open_checkpointer
from agentdeck.engine.clock import TaskClock, VirtualClock, WallClock
from agentdeck.engine.context import SpanIds
from agentdeck.engine.execution import META_ROOT_SPAN_ID, META_RUN, META_TRACE_ID, Engine, TaskResult, execute
from agentdeck.engine.ledger import Ledger, TaskRecord
from agentdeck.engine.policy_set import Policies
from agentdeck.engine.pricing import load_prices
from agentdeck.engine.providers.base import Provider
from agentdeck.engine.providers.simulator import FaultRates, SimulatedProvider, stable_int
from agentdeck.engine.review import ReviewQueue
from agentdeck.engine.semantic_cache import SemanticCache
from agentdeck.engine.semconv import PROVIDER_SIMULATED
from agentdeck.engine.telemetry import DeterministicIdGenerator, engine_tracer, make_tracer_provider
from agentdeck.engine.telemetry import release as release_provider
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import get_workflow, ref_of

__all__ = [
    "EngineOptions",
    "RunSummary",
    "TaskInput",
    "TaskResult",
    "default_provider",
    "open_engine",
    "run_one",
    "run_tasks",
    "task_id_for",
]


@dataclass(frozen=True, slots=True)
class TaskInput:
    """One task a caller brings (a line of a tasks file): its id (the checkpoint thread) and initial state."""

    task_id: str
    state: dict[str, Any]


@dataclass
class RunSummary:
    workflow: str
    tasks: list[TaskResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(t.outcome for t in self.tasks))

    @property
    def total_cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.tasks)


def default_provider(seed: int, faults: FaultRates) -> Provider:
    """Anthropic when ANTHROPIC_API_KEY is set, otherwise the offline simulator."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        from agentdeck.engine.providers.anthropic import AnthropicProvider

        return AnthropicProvider()
    return SimulatedProvider(seed=seed, faults=faults)


def task_id_for(workflow: str, seed: int, index: int, prompt_overrides: Mapping[str, str] | None = None) -> str:
    """The task's id (and checkpoint thread). Runs with other prompts are other tasks: a finished task
    is never re-run, so without the suffix `--prompt-version` would find the first run's tasks done."""
    return with_prompts(f"{workflow}-s{seed}-{index:05d}", prompt_overrides)


def with_prompts(base: str, prompt_overrides: Mapping[str, str] | None) -> str:
    """`base`, suffixed with a digest of the prompt overrides when there are any."""
    if not prompt_overrides:
        return base
    digest = hashlib.sha256(json.dumps(sorted(prompt_overrides.items())).encode()).hexdigest()[:8]
    return f"{base}-p{digest}"


def run_tasks(
    workflow: str | Workflow,
    tasks: int | Sequence[TaskInput],
    *,
    seed: int = 0,
    concurrency: int = 4,
    chaos: float = 0.0,
    checkpoint_db: str | Path,
    endpoint: str | None = None,
    latency_scale: float = 1.0,
    budget_usd: float | None = None,
    deadline_ms: float | None = None,
    on_progress: Callable[[TaskResult], None] | None = None,
    tracer_provider: TracerProvider | None = None,
    faults: FaultRates | None = None,
    provider: Provider | None = None,
    prompt_overrides: Mapping[str, str] | None = None,
    deterministic_ids: bool = False,
    start_time_ns: int = 1_795_000_000_000_000_000,
    first_task: int = 0,
    dead_letter_db: str | Path | None = None,
    delegation_limit: int = 3,
    policies: Policies | None = None,
    semantic_cache: SemanticCache | None = None,
    root_attributes: Mapping[str, Any] | None = None,
) -> RunSummary:
    """Run tasks of `workflow` (an example's name, a `MODULE:ATTR` reference or a Workflow); every task
    ends success/incomplete/dead_letter/failed.

    `tasks` is a number of tasks the workflow generates from `seed` (ids `{name}-s{seed}-{index}`), or
    the caller's own `TaskInput`s (their ids are the task ids). A task whose id is already finished in
    `checkpoint_db` is not re-run; an id finished by another workflow there is a ValueError, before
    anything runs.

    `faults` defaults to FaultRates.realistic(); `chaos` adds to every fault rate and fails that share
    of tool calls. `deterministic_ids=True` gives the same trace/span ids and (virtual) timestamps for
    the same arguments, byte for byte; it runs tasks, and the parallel branches inside a task, one at a
    time (concurrency is ignored; virtual timestamps still show branches overlapping), so shared-state
    conflicts only occur in non-deterministic runs.
    `on_progress` is called in the calling thread after each task. `policies` sets retries, the
    response cache and circuit breakers (its budget and deadline are `budget_usd` and `deadline_ms`).
    `semantic_cache` serves near-duplicate requests of the run's tasks from earlier answers
    (agentdeck.engine.semantic_cache). `root_attributes` go on every task's workflow span (an
    experiment's links to its dataset item).
    """
    wf = get_workflow(workflow) if isinstance(workflow, str) else workflow
    if isinstance(tasks, int) and tasks < 0:
        raise ValueError(f"tasks must be >= 0, got {tasks}")
    if isinstance(tasks, int) and tasks > 0 and wf.make_tasks is None:
        raise ValueError(f"workflow {wf.name} makes no tasks of its own: pass its task inputs (a tasks file)")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if budget_usd is not None and budget_usd <= 0:
        raise ValueError(f"budget_usd must be positive, got {budget_usd}")
    rates = (faults if faults is not None else FaultRates.realistic()).with_chaos(chaos)
    if (
        tracer_provider is not None
        and deterministic_ids
        and not isinstance(getattr(tracer_provider, "id_generator", None), DeterministicIdGenerator)
    ):
        raise ValueError(
            "deterministic_ids needs a tracer provider made with make_tracer_provider(deterministic_ids=True)"
        )
    for db in (checkpoint_db, dead_letter_db):  # a first run in an empty directory makes its data directory
        if db is not None and not is_postgres(db):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    owned = tracer_provider is None
    tp = tracer_provider or make_tracer_provider(endpoint, deterministic_ids=deterministic_ids)
    summary = RunSummary(workflow=wf.name)
    options = EngineOptions(
        seed=seed,
        chaos=chaos,
        latency_scale=latency_scale,
        budget_usd=budget_usd,
        deadline_ms=deadline_ms,
        prompt_overrides=dict(prompt_overrides or {}),
        delegation_limit=delegation_limit,
    )
    try:
        with open_engine(
            wf,
            options,
            checkpoint_db=checkpoint_db,
            ledger_db=dead_letter_db,
            tracer_provider=tp,
            provider=provider or default_provider(seed, rates),
            deterministic=deterministic_ids,
            start_time_ns=start_time_ns,
            semantic_cache=semantic_cache,
        ) as shared:
            shared.root_attributes = dict(root_attributes or {})
            if policies is not None:
                shared.max_provider_retries = policies.retries.provider
                shared.max_validation_retries = policies.retries.validation
                shared.cache = policies.response_cache()
                shared.breakers = policies.breakers()
            if isinstance(tasks, int):
                made = wf.make_tasks(seed, first_task + tasks)[first_task:] if wf.make_tasks and tasks else []
                indexed = [
                    (i, task_id_for(wf.name, seed, i, shared.prompt_overrides), state)
                    for i, state in enumerate(made, start=first_task)
                ]
            else:
                indexed = [(i, with_prompts(t.task_id, shared.prompt_overrides), t.state) for i, t in enumerate(tasks)]
                _check_ids(shared.ledger, wf.name, [task_id for _, task_id, _ in indexed])
            workers = 1 if deterministic_ids else concurrency
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentdeck-task") as pool:
                futures = [pool.submit(run_one, shared, i, task_id, state) for i, task_id, state in indexed]
                for fut in as_completed(futures):
                    res = fut.result()
                    summary.tasks.append(res)
                    if on_progress is not None:
                        on_progress(res)
    finally:
        release_provider(tp, owned)
    summary.tasks.sort(key=lambda t: t.task_id)
    return summary


def _check_ids(ledger: Ledger, workflow: str, task_ids: Sequence[str]) -> None:
    """ValueError when a task id repeats, or another workflow's finished task has it in this ledger."""
    seen: set[str] = set()
    for task_id in task_ids:
        if task_id in seen:
            raise ValueError(f"task id {task_id!r} appears twice; give every task its own id")
        seen.add(task_id)
        done = ledger.task(task_id)
        if done is not None and done.workflow != workflow:
            raise ValueError(
                f"task id {task_id!r} is already a task of workflow {done.workflow} in this checkpoint file; "
                "give the tasks other ids or use another --checkpoint-db"
            )


@dataclass(frozen=True)
class EngineOptions:
    """How a run's tasks run, beyond the workflow: what a queued task carries to its worker."""

    seed: int = 0
    chaos: float = 0.0
    latency_scale: float = 1.0
    budget_usd: float | None = None
    deadline_ms: float | None = None
    prompt_overrides: Mapping[str, str] = field(default_factory=dict)
    delegation_limit: int = 3


@contextmanager
def open_engine(
    wf: Workflow,
    options: EngineOptions,
    *,
    checkpoint_db: str | Path,
    tracer_provider: TracerProvider,
    provider: Provider,
    ledger_db: str | Path | None = None,
    deterministic: bool = False,
    start_time_ns: int = 1_795_000_000_000_000_000,
    semantic_cache: SemanticCache | None = None,
) -> Iterator[Engine]:
    """The Engine a run's tasks share, on the checkpointer at `checkpoint_db` (a SQLite file or a
    postgresql:// URL) and the ledger and review queue at `ledger_db` (default: the same place);
    closed on exit."""
    records = ledger_db if ledger_db is not None else checkpoint_db
    ledger = Ledger(records)
    reviews = ReviewQueue(records)
    try:
        with open_checkpointer(checkpoint_db) as saver:
            engine = make_engine(
                wf,
                options,
                saver=saver,
                ledger=ledger,
                tracer_provider=tracer_provider,
                provider=provider,
                deterministic=deterministic,
                start_time_ns=start_time_ns,
                reviews=reviews,
            )
            engine.semantic_cache = semantic_cache
            yield engine
    finally:
        ledger.close()
        reviews.close()


def make_engine(
    wf: Workflow,
    options: EngineOptions,
    *,
    saver: BaseCheckpointSaver[str],
    ledger: Ledger,
    tracer_provider: TracerProvider,
    provider: Provider,
    deterministic: bool = False,
    start_time_ns: int = 1_795_000_000_000_000_000,
    flush_each_task: bool = False,
    reviews: ReviewQueue | None = None,
) -> Engine:
    """An Engine on an open checkpointer and ledger (a worker shares one of each between the engines of
    every run it serves). `flush_each_task` exports a task's spans before its outcome is recorded."""
    return Engine(
        workflow=wf,
        graph=wf.build().compile(checkpointer=saver),
        ledger=ledger,
        provider=provider,
        prices=load_prices(),
        tracer=engine_tracer(tracer_provider),
        seed=options.seed,
        budget_usd=options.budget_usd,
        deadline_ms=options.deadline_ms,
        latency_scale=options.latency_scale,
        tool_failure_rate=options.chaos,
        deterministic=deterministic,
        start_time_ns=start_time_ns,
        prompt_overrides=dict(options.prompt_overrides),
        delegation_limit=options.delegation_limit,
        workflow_ref=ref_of(wf),
        flush_spans=tracer_provider.force_flush if flush_each_task else None,
        reviews=reviews,
    )


def run_one(shared: Engine, index: int, task_id: str, initial: dict[str, Any]) -> TaskResult:
    """Run task `task_id` (number `index` of its run, input `initial`) to its outcome: skipped when the
    ledger has it, resumed from its last checkpoint when an earlier run (here or on a killed worker)
    left one, recorded after."""
    wf = shared.workflow
    thread_id = task_id
    done = shared.ledger.task(task_id)
    if done is not None:
        return TaskResult(
            task_id, done.trace_id, thread_id, wf.name, done.outcome, done.cost_usd, done.detail, from_ledger=True
        )
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "recursion_limit": 60}
    if shared.deterministic:  # parallel branches run one at a time (their virtual times still overlap)
        config["max_concurrency"] = 1
    existing = shared.graph.get_state(config)  # type: ignore[arg-type]
    resumed = bool(existing.values)
    meta = existing.metadata or {}
    run_no = int(str(meta.get(META_RUN, 0))) + 1 if resumed else 1

    clock: TaskClock
    span_ids: SpanIds | None = None
    if shared.deterministic:
        arrival = random.Random(stable_int(wf.name, shared.seed, index)).uniform(0.5, 4.0)
        start = shared.start_time_ns + int((index * 2.5 + arrival + (run_no - 1) * 3600) * 1e9)
        clock = VirtualClock(start, shared.latency_scale)
        span_ids = SpanIds(f"{wf.name}/{shared.seed}/{task_id}/{run_no}")
    else:
        clock = WallClock(shared.latency_scale, real_latency=shared.provider.name != PROVIDER_SIMULATED)
    result = execute(
        shared,
        task_id=task_id,
        thread_id=thread_id,
        config=config,
        graph_input=None if resumed else initial,
        clock=clock,
        span_ids=span_ids,
        root_attributes={sc.AD_RESUMED_FROM: str(meta.get(META_TRACE_ID, ""))} if resumed else {},
        run_no=run_no,
        links=_link_to_run(meta) if resumed else (),
        carry_budget=True,
    )
    if shared.flush_spans is not None:
        shared.flush_spans()
    if result.outcome != sc.STATUS_WAITING_REVIEW:  # a paused task is not finished: the next run resumes it
        shared.ledger.record_task(
            TaskRecord(task_id, wf.name, thread_id, result.trace_id, result.outcome, result.cost_usd, result.detail)
        )
    return replace(result, resumed=resumed)


def _link_to_run(meta: Mapping[str, Any]) -> list[Link]:
    """A span link from a resumed run's root to the root of the run that left the checkpoint."""
    trace_id, span_id = str(meta.get(META_TRACE_ID, "")), str(meta.get(META_ROOT_SPAN_ID, ""))
    if not trace_id or not span_id:
        return []
    ctx = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return [Link(ctx, {sc.AD_RESUMED_FROM: trace_id})]
