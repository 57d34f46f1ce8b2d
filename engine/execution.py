"""Execute one traced invocation of a workflow graph: the shared core of runs, resumes and replays.

It opens the task's `invoke_workflow` root span, invokes the compiled graph with a RunContext, maps
the ending to an outcome (success / incomplete / dead_letter / failed) and records it on the span.
The trace id (and root span id) go into the checkpoint metadata, so traces and checkpoints find
each other both ways.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from opentelemetry import trace
from opentelemetry.trace import Link, Status, StatusCode

from agentdeck.engine import semconv as sc
from agentdeck.engine.clock import TaskClock
from agentdeck.engine.context import RunContext, SpanIds
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.policies import Breakers, Budget, Deadline, ResponseCache, TaskHalted
from agentdeck.engine.pricing import PriceTable
from agentdeck.engine.providers.base import Provider
from agentdeck.engine.review import ReviewQueue
from agentdeck.engine.semantic_cache import SemanticCache
from agentdeck.engine.step import AgentDeadLettered
from agentdeck.engine.telemetry import new_span
from agentdeck.engine.workflow import Workflow
from agentdeck.refs import CHECKPOINT_METADATA_KEY, SPAN_ATTRIBUTE

META_TRACE_ID = "agentdeck_trace_id"
META_ROOT_SPAN_ID = "agentdeck_root_span_id"
META_TASK_ID = "agentdeck_task_id"
META_RUN = "agentdeck_run"
META_WORKFLOW = "agentdeck_workflow"
META_SEED = "agentdeck_seed"
META_PROMPTS = "agentdeck_prompts"  # JSON {agent: template} of the prompt overrides in force (replays)


@dataclass(frozen=True, slots=True)
class TaskResult:
    task_id: str
    trace_id: str
    thread_id: str
    workflow: str
    outcome: str  # success | incomplete | dead_letter | failed, or the status waiting_review (paused)
    cost_usd: float
    detail: str = ""  # incomplete reason, dead-letter error, or failure message
    result: Any = None  # the task's answer (best result so far when incomplete)
    messages: int = 0
    resumed: bool = False
    from_ledger: bool = False  # finished in an earlier run; not re-run


@dataclass
class Engine:
    """What every task of a run shares: graph, provider, policies, tracer."""

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
    serve_recorded: bool = False
    workflow_ref: str = ""  # how replay finds the code again (agentdeck.engine.workflows.ref_of); default: its name
    max_provider_retries: int = 4
    max_validation_retries: int = 2
    # called after a task's run ends, before its outcome is recorded: a worker exports the task's spans
    # there, so a task the ledger holds as ended has its trace even if the worker is killed right after
    flush_spans: Callable[[], object] | None = None
    cache: ResponseCache | None = field(default_factory=ResponseCache)
    breakers: Breakers = field(default_factory=Breakers)
    reviews: ReviewQueue | None = None
    semantic_cache: SemanticCache | None = None  # never set for replays: they bypass it
    root_attributes: Mapping[str, Any] = field(default_factory=dict)  # added to every task's workflow span


def execute(
    shared: Engine,
    *,
    task_id: str,
    thread_id: str,
    config: dict[str, Any],
    graph_input: Any,
    clock: TaskClock,
    span_ids: SpanIds | None,
    root_attributes: Mapping[str, Any],
    run_no: int,
    links: Sequence[Link] = (),
    carry_budget: bool = False,
) -> TaskResult:
    """Run the graph once under a new trace and return the task's result (never raises for a task's
    own failure: those become outcomes). `carry_budget` keeps the task's spend in the ledger, so a
    resumed run (on this or another worker) goes on with what the task spent before; its cost is then
    the task's total over its runs."""
    wf = shared.workflow
    root_name = f"invoke_workflow {wf.name}"
    root = new_span(
        shared.tracer,
        root_name,
        parent=None,
        start_ns=clock.start_ns(),
        links=links,
        span_id=span_ids.span_id(0, root_name, -1) if span_ids else None,
        trace_id=span_ids.trace_id() if span_ids else None,
    )
    trace_id = format(root.get_span_context().trace_id, "032x")
    if carry_budget:
        budget = Budget(
            shared.budget_usd,
            spent_usd=shared.ledger.budget_spent(task_id),
            on_spend=lambda total: shared.ledger.record_budget(task_id, total),
        )
    else:
        budget = Budget(shared.budget_usd)
    ref = shared.workflow_ref or wf.name
    root.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
            sc.GEN_AI_WORKFLOW_NAME: wf.name,
            SPAN_ATTRIBUTE: ref,
            sc.AD_TASK_ID: task_id,
            sc.LANGGRAPH_THREAD_ID: thread_id,
            sc.GEN_AI_CONVERSATION_ID: thread_id,
            sc.AD_DEADLINE_MS: shared.deadline_ms or wf.deadline_ms,
        }
    )
    if shared.budget_usd is not None:
        root.set_attribute(sc.AD_BUDGET_LIMIT_USD, shared.budget_usd)
    root.set_attributes({**shared.root_attributes, **root_attributes})
    ctx = RunContext(
        workflow=wf.name,
        task_id=task_id,
        thread_id=thread_id,
        trace_id=trace_id,
        seed=shared.seed,
        provider=shared.provider,
        tracer=shared.tracer,
        prices=shared.prices,
        clock=clock,
        budget=budget,
        deadline=Deadline(shared.deadline_ms or wf.deadline_ms, clock.start_ns(), clock.time_scale),
        ledger=shared.ledger,
        root_span=root,
        root_context=trace.set_span_in_context(root),
        span_ids=span_ids,
        cache=shared.cache,
        breakers=shared.breakers,
        prompt_overrides=shared.prompt_overrides,
        tool_failure_rate=shared.tool_failure_rate,
        delegation_limit=shared.delegation_limit,
        serve_recorded=shared.serve_recorded,
        max_provider_retries=shared.max_provider_retries,
        max_validation_retries=shared.max_validation_retries,
        reviews=shared.reviews,
        semantic_cache=shared.semantic_cache,
    )
    config["metadata"] = {
        **config.get("metadata", {}),  # the caller's own keys (a replay's prompts) stay
        META_TRACE_ID: trace_id,
        META_ROOT_SPAN_ID: format(root.get_span_context().span_id, "016x"),
        META_TASK_ID: task_id,
        META_RUN: run_no,
        META_WORKFLOW: wf.name,
        CHECKPOINT_METADATA_KEY: ref,
        META_SEED: shared.seed,
    }
    outcome, detail, result = "success", "", None
    try:
        final = shared.graph.invoke(graph_input, config, context=ctx)  # type: ignore[call-overload]
        result = final.get(wf.result_key)
        if final.get("__interrupt__"):  # a step escalated to the review queue: paused, not ended
            outcome, detail = sc.STATUS_WAITING_REVIEW, "waiting for review"
        elif final.get("incomplete_reason"):
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
        latest = {"configurable": {"thread_id": thread_id}}
        values = shared.graph.get_state(latest).values  # type: ignore[arg-type]
        result = values.get(wf.result_key)
    if outcome != sc.STATUS_WAITING_REVIEW:
        root.set_attribute(sc.AD_TASK_OUTCOME, outcome)
    root.set_attributes(
        {
            sc.AD_BUDGET_SPENT_USD: round(budget.spent_usd, 8),
            sc.AD_MESSAGES: ctx.stats.messages,
            sc.AD_STATE_CONFLICTS: ctx.stats.state_conflicts,
        }
    )
    if shared.budget_usd is not None:
        root.set_attribute(sc.AD_BUDGET_REMAINING_USD, round(shared.budget_usd - budget.spent_usd, 8))
    if result is not None:
        root.set_attribute(sc.AD_WORKFLOW_RESULT, json.dumps(result, default=str, sort_keys=True)[:8000])
    if ctx.stats.skipped:
        root.set_attribute(sc.AD_AGENT_SKIPPED, sorted(set(ctx.stats.skipped)))
    set_outcome(root, outcome, detail)
    root.end(end_time=clock.end_ns())
    return TaskResult(
        task_id, trace_id, thread_id, wf.name, outcome, budget.spent_usd, detail, result, ctx.stats.messages
    )


def set_outcome(root: trace.Span, outcome: str, detail: str) -> None:
    """The status and error type a task's outcome (`agentdeck.task.outcome`) implies, on its root span.
    `waiting_review` is no outcome yet: the task resumes after the review."""
    if outcome == sc.STATUS_WAITING_REVIEW:
        root.set_attribute(sc.AD_TASK_STATUS, outcome)
        return
    if outcome == "success":
        root.set_status(Status(StatusCode.OK))
        return
    if outcome == "incomplete":
        root.set_attribute(sc.AD_TASK_INCOMPLETE_REASON, detail)
    root.set_attribute(sc.ERROR_TYPE, outcome if outcome != "incomplete" else f"incomplete:{detail}")
    root.set_status(Status(StatusCode.ERROR, detail))
