"""The agent step runtime: run one agent inside a LangGraph node, traced, validated and retried.

`run_agent` builds the prompt (template, or the run's override, filled from the inputs), routes the
model tier (budget and deadline pressure), calls the provider, and validates the answer against the
agent's Pydantic schema at the boundary. Every attempt is its own `invoke_agent` span:

* provider failures (429, 529/5xx, timeout) are retried with backoff, up to `max_provider_retries`;
* an invalid answer (malformed JSON or schema violation) is retried with the failed answer and the
  validation error appended to the prompt, at most `max_validation_retries` (2) times;
* then the fallback agent runs if there is one; an optional agent is dropped; otherwise the failure
  goes to the dead-letter queue with the state snapshot, failing input, error and trace id, and the
  task stops (`AgentDeadLettered`).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langgraph.config import get_config
from langgraph.runtime import get_runtime
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from pydantic import BaseModel, ValidationError

from agentdeck.engine import review
from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, model_for, prompt_version_of
from agentdeck.engine.calls import chat, response_cost, run_tool, serve_semantic
from agentdeck.engine.clock import Cursor
from agentdeck.engine.context import RunContext
from agentdeck.engine.policies import TaskHalted, route, snapshot
from agentdeck.engine.providers.base import LLMRequest, Message, ProviderError, ToolSpec
from agentdeck.engine.providers.simulator import FEEDBACK_MARKER, stable_int
from agentdeck.engine.semantic_cache import request_text
from agentdeck.engine.telemetry import new_span

M = TypeVar("M", bound=BaseModel)

FEEDBACK_TEMPLATE = (
    FEEDBACK_MARKER + " (attempt {attempt}).\nYour answer was:\n{answer}\n"
    "It failed validation:\n{error}\nReply again with one JSON object that fixes this."
)
MAX_TOOL_ROUNDS = 3


class AgentDeadLettered(Exception):
    """A required agent failed for good; its failure is in the dead-letter queue."""

    def __init__(self, agent: str, error_type: str, error: str, dead_letter_id: int) -> None:
        super().__init__(f"agent {agent} failed ({error_type}): {error}")
        self.agent, self.error_type, self.error, self.dead_letter_id = agent, error_type, error, dead_letter_id


class InvalidOutput(Exception):
    def __init__(self, reason: str, answer: str, error: str) -> None:
        super().__init__(error)
        self.reason, self.answer, self.error = reason, answer, error


@dataclass(frozen=True, slots=True)
class StepResult(Generic[M]):
    agent: str
    output: M | None
    status: str  # ok | fallback | skipped | failed | reviewed
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.output is not None


@dataclass
class _NodeInfo:
    step: int
    node: str
    checkpoint_id: str
    task_id: str
    thread_id: str
    checkpoint_ns: str
    extra: dict[str, AttributeValue]


BRANCH_FAILURES = "branch_failures"  # state key (list, operator.add reducer) of parallel-branch failures


def contained(node: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """Wrap a node that runs in a parallel branch: its dead letter or budget/deadline stop is written
    to state (`branch_failures`) instead of raised, so sibling branches finish cleanly; the join node
    calls `raise_branch_failures` to end the task the same way."""

    @functools.wraps(node)
    def wrapper(state: Any) -> dict[str, Any]:
        try:
            return node(state)
        except AgentDeadLettered as exc:
            return {
                BRANCH_FAILURES: [
                    {
                        "kind": "dead_letter",
                        "agent": exc.agent,
                        "error_type": exc.error_type,
                        "error": exc.error,
                        "dead_letter_id": exc.dead_letter_id,
                    }
                ]
            }
        except TaskHalted as exc:
            return {BRANCH_FAILURES: [{"kind": "halted", "reason": exc.reason}]}

    return wrapper


def raise_branch_failures(state: Mapping[str, Any]) -> None:
    """At a join: re-raise the first failure a contained parallel branch recorded."""
    for failure in state.get(BRANCH_FAILURES) or []:
        if failure["kind"] == "dead_letter":
            raise AgentDeadLettered(
                failure["agent"], failure["error_type"], failure["error"], failure["dead_letter_id"]
            )
        raise TaskHalted(failure["reason"])


def dump(result: StepResult[Any]) -> dict[str, Any] | None:
    """The step's validated output as plain data for the graph state (None when it produced none)."""
    return result.output.model_dump(mode="json") if result.output is not None else None


def node_cursor() -> Cursor:
    """The current node's clock cursor (the one its agents advanced); hand it back with
    `current_context().clock.end_node(cursor)` after advancing it."""
    ctx = current_context()
    ei = get_runtime().execution_info
    meta = get_config().get("metadata", {})
    step = int(meta.get("langgraph_step", 0))
    return ctx.clock.begin_node(step, ei.task_id if ei and ei.task_id else f"{meta.get('langgraph_node')}/{step}")


def node_event(name: str, attributes: Mapping[str, Any]) -> None:
    """Add an event to the task's root span at the current node's (task clock) time."""
    current_context().root_span.add_event(name, dict(attributes), timestamp=node_cursor().now_ns())


def current_context() -> RunContext:
    ctx = get_runtime().context
    if not isinstance(ctx, RunContext):
        raise RuntimeError("agent nodes need a RunContext: invoke the graph with context=RunContext(...)")
    return ctx


def run_agent(
    agent: Agent,
    inputs: Mapping[str, Any],
    *,
    state: Mapping[str, Any],
    attributes: Mapping[str, AttributeValue] | None = None,
) -> StepResult[Any]:
    """Run `agent` in the current LangGraph node on `inputs`; `state` is snapshotted on dead letter.

    `attributes` go on every `invoke_agent` span of this step (e.g. the iteration of a loop)."""
    runtime = get_runtime()
    ctx = current_context()
    meta = get_config().get("metadata", {})
    ei = runtime.execution_info
    info = _NodeInfo(
        step=int(meta.get("langgraph_step", 0)),
        node=str(meta.get("langgraph_node", agent.name)),
        checkpoint_id=ei.checkpoint_id if ei else "",
        task_id=ei.task_id if ei else "",
        thread_id=ei.thread_id if ei and ei.thread_id else ctx.thread_id,
        checkpoint_ns=ei.checkpoint_ns if ei else "",
        extra=dict(attributes or {}),
    )
    cursor = ctx.clock.begin_node(info.step, info.task_id or f"{info.node}/{info.step}")
    try:
        decision = review.before_step(ctx, agent, info.node, cursor)
        if decision is not None:
            return _reviewed(ctx, agent, decision, state, cursor, info)
        result = _run(ctx, agent, dict(inputs), state, cursor, info, fallback_for=None)
        review.after_step(ctx, agent, dict(inputs), result.output, info.node, cursor)  # may pause the task
        return result
    finally:
        ctx.clock.end_node(cursor)


def _reviewed(
    ctx: RunContext, agent: Agent, decision: review.Decision, state: Mapping[str, Any], cursor: Cursor, info: _NodeInfo
) -> StepResult[Any]:
    """The step's answer is a reviewer's decision: continue with it, or dead-letter a rejection."""
    if decision.output is not None:
        return StepResult(agent.name, decision.output, "reviewed", decision.item.status)
    reason = decision.item.decision_reason or "rejected"
    dl_id = ctx.ledger.dead_letter(
        created_ns=cursor.now_ns(),
        workflow=ctx.workflow,
        task_id=ctx.task_id,
        thread_id=ctx.thread_id,
        trace_id=ctx.trace_id,
        checkpoint_id=info.checkpoint_id or None,
        agent=agent.name,
        node=info.node,
        error_type="rejected",
        error=f"rejected by {decision.item.decided_by}: {reason}",
        attempts=0,
        failing_input=json.dumps(decision.item.inputs, sort_keys=True),
        state_snapshot=snapshot(dict(state)),
    )
    raise AgentDeadLettered(agent.name, "rejected", reason, dl_id)


def _agent_span(ctx: RunContext, agent: Agent, info: _NodeInfo, cursor: Cursor) -> Span:
    name = f"invoke_agent {agent.name}"
    parent_id = ctx.root_span.get_span_context().span_id
    span = new_span(
        ctx.tracer,
        name,
        parent=ctx.root_context,
        start_ns=cursor.now_ns(),
        span_id=ctx.span_ids.span_id(parent_id, name, info.step) if ctx.span_ids else None,
    )
    span.set_attributes(
        {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: agent.name,
            sc.GEN_AI_WORKFLOW_NAME: ctx.workflow,
            sc.AD_AGENT_ROLE: agent.role,
            sc.AD_AGENT_OPTIONAL: agent.optional,
            sc.AD_TASK_ID: ctx.task_id,
            sc.LANGGRAPH_THREAD_ID: info.thread_id,
            sc.LANGGRAPH_CHECKPOINT_ID: info.checkpoint_id,
            sc.LANGGRAPH_CHECKPOINT_NS: info.checkpoint_ns,
            sc.LANGGRAPH_TASK_ID: info.task_id,
            sc.LANGGRAPH_NODE: info.node,
            sc.LANGGRAPH_STEP: info.step,
        }
    )
    span.set_attributes(info.extra)
    return span


def _end(span: Span, cursor: Cursor, error_type: str | None = None, message: str = "") -> None:
    if error_type:
        span.set_attribute(sc.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, message[:2000]))
    else:
        span.set_status(Status(StatusCode.OK))
    span.end(end_time=cursor.now_ns())


def _run(
    ctx: RunContext,
    agent: Agent,
    inputs: dict[str, Any],
    state: Mapping[str, Any],
    cursor: Cursor,
    info: _NodeInfo,
    fallback_for: str | None,
) -> StepResult[Any]:
    if ctx.budget.fraction() >= 1.0:
        raise TaskHalted("budget")
    if ctx.deadline.fraction(cursor.now_ns()) >= 1.0:
        raise TaskHalted("deadline")
    routing = route(
        agent.tier, budget_fraction=ctx.budget.fraction(), deadline_fraction=ctx.deadline.fraction(cursor.now_ns())
    )
    if agent.optional and routing.skip_optional:
        span = _agent_span(ctx, agent, info, cursor)
        span.set_attribute(sc.AD_AGENT_SKIPPED, routing.skip_optional)
        cursor.advance(0.0)
        _end(span, cursor)
        ctx.stats.add_skipped(agent.name)
        return StepResult(agent.name, None, "skipped", routing.skip_optional)
    breaker = ctx.breakers.get(agent.name) if ctx.breakers else None
    if breaker is not None:
        allowed, circuit = breaker.allow()
        if not allowed:
            span = _agent_span(ctx, agent, info, cursor)
            span.set_attribute(sc.AD_CIRCUIT_STATE, circuit)
            cursor.advance(0.0)
            _end(span, cursor, "circuit_open", f"circuit breaker for {agent.name} is open")
            return _give_up(
                ctx,
                agent,
                inputs,
                state,
                cursor,
                info,
                "circuit_open",
                f"circuit breaker for {agent.name} is open",
                0,
                fallback_for,
            )
    else:
        circuit = "closed"
    template = ctx.prompt_overrides.get(agent.name, agent.prompt.template)
    version = agent.prompt.version if template == agent.prompt.template else prompt_version_of(template)
    prompt = Prompt(template, version).render(inputs)
    feedback = ""
    attempt = v_retries = p_retries = 0
    reason: str | None = None
    last_type, last_error = "", ""
    while True:
        if ctx.deadline.fraction(cursor.now_ns()) >= 1.0:
            if breaker is not None:
                breaker.release()
            raise TaskHalted("deadline")
        attempt += 1
        routing = route(
            agent.tier, budget_fraction=ctx.budget.fraction(), deadline_fraction=ctx.deadline.fraction(cursor.now_ns())
        )
        span = _agent_span(ctx, agent, info, cursor)
        span.set_attributes(
            {
                sc.AD_ATTEMPT: attempt,
                sc.AD_MODEL_TIER: routing.tier.value,
                sc.GEN_AI_REQUEST_MODEL: model_for(routing.tier),
                sc.AD_PROMPT_VERSION: version,
                sc.AD_PROMPT_TEMPLATE: template,
                sc.AD_CIRCUIT_STATE: circuit,
            }
        )
        if reason:
            span.set_attribute(sc.AD_RETRY_REASON, reason)
        if routing.reason:
            span.set_attribute(sc.AD_ROUTING_REASON, routing.reason)
        if fallback_for:
            span.set_attribute(sc.AD_FALLBACK_FOR, fallback_for)
        remaining = ctx.budget.remaining()
        try:
            output = _attempt(ctx, agent, routing.tier, prompt + feedback, span, cursor, info, attempt, version)
        except ProviderError as exc:
            last_type, last_error = exc.reason, str(exc)
            _end(span, cursor, exc.reason, str(exc))
            limit = ctx.max_provider_retries if agent.max_provider_retries is None else agent.max_provider_retries
            if not exc.retryable or p_retries >= limit:
                break
            p_retries += 1
            reason = exc.reason
            wait_ms = _backoff_ms(ctx, agent, attempt, exc)
            left_s = ctx.deadline.remaining_s(cursor.now_ns())
            if left_s is not None and wait_ms >= left_s * 1000:  # the retry could only start past the deadline
                if breaker is not None:
                    breaker.release()
                raise TaskHalted("deadline") from None
            cursor.advance(wait_ms)
            continue
        except InvalidOutput as exc:
            last_type, last_error = exc.reason, exc.error
            span.add_event(
                sc.EVENT_VALIDATION_FAILED,
                {sc.ERROR_TYPE: exc.reason, "message": exc.error[:2000]},
                timestamp=cursor.now_ns(),
            )
            _end(span, cursor, exc.reason, exc.error)
            if v_retries >= ctx.max_validation_retries:
                break
            v_retries += 1
            reason = "validation" if exc.reason == "validation" else "malformed_output"
            feedback = FEEDBACK_TEMPLATE.format(attempt=attempt, answer=exc.answer, error=exc.error)
            continue
        except TaskHalted as exc:
            _end(span, cursor, f"{exc.reason}_exhausted", str(exc))
            if breaker is not None:
                breaker.release()
            raise
        span.set_attribute(sc.AD_BUDGET_SPENT_USD, round(ctx.budget.spent_usd, 8))
        if remaining is not None:
            span.set_attribute(sc.AD_BUDGET_REMAINING_USD, round(ctx.budget.remaining() or 0.0, 8))
        _end(span, cursor)
        if breaker is not None:
            breaker.record(True)
        return StepResult(agent.name, output, "fallback" if fallback_for else "ok")
    if breaker is not None:
        breaker.record(False)
    return _give_up(ctx, agent, inputs, state, cursor, info, last_type, last_error, attempt, fallback_for)


def _backoff_ms(ctx: RunContext, agent: Agent, attempt: int, exc: ProviderError) -> float:
    if exc.retry_after_s:
        return exc.retry_after_s * 1000
    jitter = random.Random(stable_int(ctx.seed, ctx.task_id, agent.name, attempt)).uniform(0.8, 1.2)
    return min(500.0 * 2 ** (attempt - 1), 8000.0) * jitter


def _attempt(
    ctx: RunContext,
    agent: Agent,
    tier: Any,
    prompt: str,
    span: Span,
    cursor: Cursor,
    info: _NodeInfo,
    attempt: int,
    version: str,
) -> BaseModel:
    parent = trace.set_span_in_context(span)
    tools = {t.name: t for t in agent.tools}
    specs = tuple(ToolSpec(t.name, t.description, t.input_schema) for t in agent.tools)
    messages: list[Message] = [Message("user", prompt)]
    schema = _json_schema(agent.output_schema)
    for _ in range(MAX_TOOL_ROUNDS):
        deadline_left = ctx.deadline.remaining_s(cursor.now_ns())
        request = LLMRequest(
            model=model_for(tier),
            system=agent.system_prompt(),
            messages=tuple(messages),
            output_schema=schema,
            max_tokens=agent.max_output_tokens,
            tools=specs,
            timeout_s=min(agent.timeout_s, deadline_left) if deadline_left is not None else agent.timeout_s,
            nonce=attempt,
        )
        semantic = ctx.semantic_cache if not agent.tools and not ctx.serve_recorded else None
        text = request_text(request) if semantic is not None else ""
        hit = semantic.lookup(agent.name, version, text) if semantic is not None else None
        if hit is not None:
            response, key = serve_semantic(ctx, request, hit, parent=parent, cursor=cursor, step=info.step), None
        else:
            response, key = chat(ctx, request, parent=parent, cursor=cursor, step=info.step, use_cache=not agent.tools)
        if response.tool_calls:
            if key is not None and response.usage.output_tokens:  # a fresh tool round: a replay serves it
                ctx.ledger.record_response(key, response)
            messages.append(Message("assistant", response.text, tool_calls=response.tool_calls))
            for call in response.tool_calls:
                tool = tools.get(call.name)
                result = (
                    run_tool(ctx, tool, call, parent=parent, cursor=cursor, step=info.step, attempt=attempt)
                    if tool
                    else f"error: no tool named {call.name}"
                )
                messages.append(Message("tool", result, tool_call_id=call.id))
            continue
        output = validate(agent, response.text)
        if semantic is not None and hit is None and response.usage.output_tokens:  # a fresh, valid answer
            semantic.store(agent.name, version, text, response, response_cost(ctx, response))
        if key is not None:  # None: served by the semantic cache, which keeps its own entries
            if ctx.cache is not None and not agent.tools:
                ctx.cache.put(key, response)
            if response.usage.output_tokens:  # a fresh answer, not one served from a cache or record
                ctx.ledger.record_response(key, response)
        return output
    raise InvalidOutput("validation", "", f"no final answer after {MAX_TOOL_ROUNDS} tool rounds")


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def validate(agent: Agent, text: str) -> BaseModel:
    """Parse and validate an answer at the agent boundary (the JSON object may be fenced)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidOutput("malformed_output", text, f"not valid JSON: {exc}") from None
    try:
        return agent.output_schema.model_validate(data)
    except ValidationError as exc:
        raise InvalidOutput("validation", text, str(exc)) from None


def _give_up(
    ctx: RunContext,
    agent: Agent,
    inputs: dict[str, Any],
    state: Mapping[str, Any],
    cursor: Cursor,
    info: _NodeInfo,
    error_type: str,
    error: str,
    attempts: int,
    fallback_for: str | None,
) -> StepResult[Any]:
    if agent.fallback is not None:
        return _run(ctx, agent.fallback, inputs, state, cursor, info, fallback_for=agent.name)
    if agent.optional:
        ctx.stats.add_skipped(agent.name)
        return StepResult(agent.name, None, "failed", f"{error_type}: {error}")
    dl_id = ctx.ledger.dead_letter(
        created_ns=cursor.now_ns(),
        workflow=ctx.workflow,
        task_id=ctx.task_id,
        thread_id=ctx.thread_id,
        trace_id=ctx.trace_id,
        checkpoint_id=info.checkpoint_id or None,
        agent=fallback_for or agent.name,
        node=info.node,
        error_type=error_type,
        error=error,
        attempts=attempts,
        failing_input=json.dumps(snapshot(inputs), sort_keys=True),
        state_snapshot=snapshot(dict(state)),
    )
    ctx.root_span.add_event(
        sc.AD_DEAD_LETTER,
        {sc.GEN_AI_AGENT_NAME: agent.name, sc.ERROR_TYPE: error_type, sc.AD_DEAD_LETTER_ID: dl_id},
        timestamp=cursor.now_ns(),
    )
    raise AgentDeadLettered(agent.name, error_type, error, dl_id)
