"""Run many tasks of a workflow: the API behind `agentdeck run` and the sample-trace generator.

Each task is one LangGraph thread (checkpointed) and one trace (`invoke_workflow {name}` root span).
Tasks already finished in the checkpoint DB are not re-run; a task with a checkpoint but no recorded
outcome (a killed run) resumes from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

from engine import semconv as sc
from engine.checkpoints import is_postgres, open_checkpointer
from engine.clock import TaskClock, VirtualClock, WallClock
from engine.context import RunContext, SpanIds
from engine.ledger import Ledger, TaskRecord
from engine.policies import Breakers, Budget, Deadline, ResponseCache, TaskHalted
from engine.pricing import PriceTable, load_prices
from engine.providers.base import Provider
from engine.providers.simulator import FaultRates, SimulatedProvider, stable_int
from engine.step import AgentDeadLettered
from engine.telemetry import DeterministicIdGenerator, engine_tracer, make_tracer_provider, new_span
from engine.telemetry import shutdown as shutdown_provider
from engine.workflow import Workflow
from engine.workflows import get_workflow

META_TRACE_ID = "agentdeck_trace_id"
META_TASK_ID = "agentdeck_task_id"
META_RUN = "agentdeck_run"
META_WORKFLOW = "agentdeck_workflow"


@dataclass(frozen=True, slots=True)
class TaskResult:
    task_id: str
    trace_id: str
    thread_id: str
    workflow: str
    outcome: str  # success | incomplete | dead_letter | failed
    cost_usd: float
    detail: str = ""  # incomplete reason, dead-letter error, or failure message
    result: Any = None  # the task's answer (best result so far when incomplete)
    messages: int = 0
    resumed: bool = False
    from_ledger: bool = False  # finished in an earlier run; not re-run


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


@dataclass
class _Shared:
    workflow: Workflow
    graph: CompiledStateGraph[Any, Any, Any, Any]
    ledger: Ledger
    provider: Provider
    prices: PriceTable
    tracer: trace.Tracer
    seed: int
    budget_usd: float | None
    deadline_ms: float | None
    latency_scale: float
    tool_failure_rate: float
    deterministic: bool
    start_time_ns: int
    prompt_overrides: Mapping[str, str]
    delegation_limit: int
    cache: ResponseCache = field(default_factory=ResponseCache)
    breakers: Breakers = field(default_factory=Breakers)


def default_provider(seed: int, faults: FaultRates) -> Provider:
    """Anthropic when ANTHROPIC_API_KEY is set, otherwise the offline simulator."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        from engine.providers.anthropic import AnthropicProvider

        return AnthropicProvider()
    return SimulatedProvider(seed=seed, faults=faults)


def task_id_for(workflow: str, seed: int, index: int) -> str:
    return f"{workflow}-s{seed}-{index:05d}"


def run_tasks(
    workflow: str,
    tasks: int,
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
) -> RunSummary:
    """Run `tasks` seeded tasks of `workflow`; every task ends success/incomplete/dead_letter/failed.

    `faults` defaults to FaultRates.realistic(); `chaos` adds to every fault rate and fails that share
    of tool calls. `deterministic_ids=True` gives the same trace/span ids and (virtual) timestamps for
    the same arguments, byte for byte; it runs tasks one at a time (concurrency is ignored).
    `on_progress` is called in the calling thread after each task.
    """
    wf = get_workflow(workflow)
    if tasks < 0:
        raise ValueError(f"tasks must be >= 0, got {tasks}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if budget_usd is not None and budget_usd <= 0:
        raise ValueError(f"budget_usd must be positive, got {budget_usd}")
    rates = (faults if faults is not None else FaultRates.realistic()).with_chaos(chaos)
    if tracer_provider is not None and deterministic_ids and not isinstance(
        getattr(tracer_provider, "id_generator", None), DeterministicIdGenerator
    ):
        raise ValueError("deterministic_ids needs a tracer provider made with "
                         "make_tracer_provider(deterministic_ids=True)")
    owned = tracer_provider is None
    tp = tracer_provider or make_tracer_provider(endpoint, deterministic_ids=deterministic_ids)
    if dead_letter_db is None:
        if is_postgres(checkpoint_db):
            raise ValueError("with a postgres checkpointer, pass dead_letter_db (a SQLite file path)")
        dead_letter_db = checkpoint_db
    ledger = Ledger(dead_letter_db)
    summary = RunSummary(workflow=wf.name)
    try:
        with open_checkpointer(checkpoint_db) as saver:
            shared = _Shared(
                workflow=wf, graph=wf.build().compile(checkpointer=saver), ledger=ledger,
                provider=provider or default_provider(seed, rates), prices=load_prices(),
                tracer=engine_tracer(tp), seed=seed, budget_usd=budget_usd, deadline_ms=deadline_ms,
                latency_scale=latency_scale, tool_failure_rate=chaos, deterministic=deterministic_ids,
                start_time_ns=start_time_ns, prompt_overrides=dict(prompt_overrides or {}),
                delegation_limit=delegation_limit,
            )
            inputs = wf.make_tasks(seed, first_task + tasks)[first_task:]
            indexed = list(enumerate(inputs, start=first_task))
            workers = 1 if deterministic_ids else concurrency
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentdeck-task") as pool:
                futures = [pool.submit(_run_one, shared, i, state) for i, state in indexed]
                for fut in as_completed(futures):
                    res = fut.result()
                    summary.tasks.append(res)
                    if on_progress is not None:
                        on_progress(res)
    finally:
        ledger.close()
        if owned:
            shutdown_provider(tp)
        else:
            tp.force_flush(timeout_millis=3000)
    summary.tasks.sort(key=lambda t: t.task_id)
    return summary


def _run_one(shared: _Shared, index: int, initial: dict[str, Any]) -> TaskResult:
    wf = shared.workflow
    task_id = task_id_for(wf.name, shared.seed, index)
    thread_id = task_id
    done = shared.ledger.task(task_id)
    if done is not None:
        return TaskResult(task_id, done.trace_id, thread_id, wf.name, done.outcome, done.cost_usd, done.detail,
                          from_ledger=True)
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}, "recursion_limit": 60}
    existing = shared.graph.get_state(config)  # type: ignore[arg-type]
    resumed = bool(existing.values)
    run_no = int((existing.metadata or {}).get(META_RUN, 0)) + 1 if resumed else 1

    clock: TaskClock
    span_ids: SpanIds | None = None
    if shared.deterministic:
        arrival = random.Random(stable_int(wf.name, shared.seed, index)).uniform(0.5, 4.0)
        start = shared.start_time_ns + int((index * 2.5 + arrival + (run_no - 1) * 3600) * 1e9)
        clock = VirtualClock(start, shared.latency_scale)
        span_ids = SpanIds(f"{wf.name}/{shared.seed}/{task_id}/{run_no}")
    else:
        clock = WallClock(shared.latency_scale)
    root_name = f"invoke_workflow {wf.name}"
    root = new_span(shared.tracer, root_name, parent=None, start_ns=clock.start_ns(),
                    span_id=span_ids.span_id(0, root_name, -1) if span_ids else None,
                    trace_id=span_ids.trace_id() if span_ids else None)
    trace_id = format(root.get_span_context().trace_id, "032x")
    budget = Budget(shared.budget_usd)
    root.set_attributes({
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.GEN_AI_WORKFLOW_NAME: wf.name,
        sc.AD_TASK_ID: task_id,
        sc.LANGGRAPH_THREAD_ID: thread_id,
        sc.GEN_AI_CONVERSATION_ID: thread_id,
        sc.AD_DEADLINE_MS: shared.deadline_ms or wf.deadline_ms,
    })
    if shared.budget_usd is not None:
        root.set_attribute(sc.AD_BUDGET_LIMIT_USD, shared.budget_usd)
    if resumed:
        root.set_attribute(sc.AD_RESUMED_FROM, str((existing.metadata or {}).get(META_TRACE_ID, "")))
    ctx = RunContext(
        workflow=wf.name, task_id=task_id, thread_id=thread_id, trace_id=trace_id, seed=shared.seed,
        provider=shared.provider, tracer=shared.tracer, prices=shared.prices, clock=clock, budget=budget,
        deadline=Deadline(shared.deadline_ms or wf.deadline_ms, clock.start_ns()), ledger=shared.ledger,
        root_span=root, root_context=trace.set_span_in_context(root), span_ids=span_ids, cache=shared.cache,
        breakers=shared.breakers, prompt_overrides=shared.prompt_overrides,
        tool_failure_rate=shared.tool_failure_rate, delegation_limit=shared.delegation_limit,
    )
    config["metadata"] = {META_TRACE_ID: trace_id, META_TASK_ID: task_id, META_RUN: run_no,
                          META_WORKFLOW: wf.name}
    outcome, detail, result = "success", "", None
    try:
        final = shared.graph.invoke(None if resumed else initial, config, context=ctx)  # type: ignore[arg-type]
        result = final.get(wf.result_key)
        if final.get("incomplete_reason"):
            outcome, detail = "incomplete", str(final["incomplete_reason"])
        elif result is None:
            outcome, detail = "incomplete", f"no {wf.result_key} produced"
    except TaskHalted as exc:
        outcome, detail = "incomplete", exc.reason
    except GraphRecursionError:
        outcome, detail = "incomplete", "recursion_limit"
    except AgentDeadLettered as exc:
        outcome, detail = "dead_letter", f"{exc.agent}: {exc.error_type}"
    except Exception as exc:  # recorded, never lost: the ledger and the root span keep it
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
        root.record_exception(exc, timestamp=clock.end_ns())
    if outcome != "success" and result is None:
        values = shared.graph.get_state(config).values  # type: ignore[arg-type]
        result = values.get(wf.result_key)
    root.set_attributes({
        sc.AD_TASK_OUTCOME: outcome,
        sc.AD_BUDGET_SPENT_USD: round(budget.spent_usd, 8),
        sc.AD_MESSAGES: ctx.stats.messages,
        sc.AD_STATE_CONFLICTS: ctx.stats.state_conflicts,
    })
    if shared.budget_usd is not None:
        root.set_attribute(sc.AD_BUDGET_REMAINING_USD, round(shared.budget_usd - budget.spent_usd, 8))
    if result is not None:
        root.set_attribute(sc.AD_WORKFLOW_RESULT, json.dumps(result, default=str, sort_keys=True)[:8000])
    if ctx.stats.skipped:
        root.set_attribute(sc.AD_AGENT_SKIPPED, sorted(set(ctx.stats.skipped)))
    if outcome == "success":
        root.set_status(Status(StatusCode.OK))
    else:
        if outcome == "incomplete":
            root.set_attribute(sc.AD_TASK_INCOMPLETE_REASON, detail)
        root.set_attribute(sc.ERROR_TYPE, outcome if outcome != "incomplete" else f"incomplete:{detail}")
        root.set_status(Status(StatusCode.ERROR, detail))
    root.end(end_time=clock.end_ns())
    shared.ledger.record_task(TaskRecord(task_id, wf.name, thread_id, trace_id, outcome, budget.spent_usd, detail))
    return TaskResult(task_id, trace_id, thread_id, wf.name, outcome, budget.spent_usd, detail, result,
                      ctx.stats.messages, resumed=resumed)
