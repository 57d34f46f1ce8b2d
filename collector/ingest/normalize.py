"""`DecodedSpan` -> `SpanRow`: one normalized row per span, every raw field kept as JSON.

Pure per span. What depends on other spans (agent of the nearest ancestor, a call reported twice)
is settled by the writer's `lineage` step, which sees the whole trace.
"""

from __future__ import annotations

from agentdeck.collector.ingest.attrs import integer, text
from agentdeck.collector.ingest.conventions import AGENTDECK, interpret
from agentdeck.collector.ingest.decode import to_json
from agentdeck.collector.ingest.model import DecodedSpan
from agentdeck.collector.ingest.usage import price, read_usage
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine import semconv as sc
from agentdeck.engine.pricing import PriceTable


def normalize(span: DecodedSpan, prices: PriceTable, received_ns: int) -> SpanRow:
    attrs = span.attributes
    meaning = interpret(span)
    ours = meaning.convention == AGENTDECK  # only then can agentdeck.* keys be present (see detect_convention)
    usage = read_usage(attrs)
    cost, cost_source = price(usage, meaning.response_model or meaning.request_model, prices)
    step = integer(attrs, sc.LANGGRAPH_STEP)
    if step is None and meaning.step is not None and meaning.step.lstrip("-").isdigit():
        step = int(meaning.step)
    return SpanRow(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        kind=span.kind,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        duration_ms=(span.end_ns - span.start_ns) / 1e6,
        status_code=span.status_code,
        status_message=span.status_message,
        error_type=_error_type(span),
        service_name=text(span.resource.attributes, sc.SERVICE_NAME),
        scope_name=span.scope_name,
        convention=meaning.convention,
        span_type=meaning.span_type,
        operation_name=meaning.operation_name,
        provider=meaning.provider,
        request_model=meaning.request_model,
        response_model=meaning.response_model,
        agent_name=meaning.agent_name,
        workflow_name=meaning.workflow_name,
        conversation_id=meaning.conversation_id,
        user_id=meaning.user_id,
        tool_name=meaning.tool_name,
        tool_call_id=meaning.tool_call_id,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=cost,
        cost_source=cost_source,
        usage_counted=True,
        attempt=integer(attrs, sc.AD_ATTEMPT) if ours else None,
        retry_reason=text(attrs, sc.AD_RETRY_REASON) if ours else None,
        thread_id=meaning.thread_id,
        checkpoint_id=text(attrs, sc.LANGGRAPH_CHECKPOINT_ID),
        node=meaning.node,
        step=step,
        task_id=text(attrs, sc.AD_TASK_ID) if ours else None,
        replay_of=text(attrs, sc.AD_REPLAY_OF) if ours else None,
        outcome=text(attrs, sc.AD_TASK_OUTCOME) if ours else None,
        input_messages=meaning.input_messages,
        output_messages=meaning.output_messages,
        attributes=to_json(attrs),
        resource_attributes=span.resource.attributes_json,
        events=_events_json(span),
        links=_links_json(span),
        received_ns=received_ns,
    )


def _events_json(span: DecodedSpan) -> str:
    if not span.events:
        return "[]"
    return to_json([{"name": e.name, "time_ns": e.time_ns, "attributes": e.attributes} for e in span.events])


def _links_json(span: DecodedSpan) -> str:
    if not span.links:
        return "[]"
    return to_json(
        [
            {"trace_id": k.trace_id, "span_id": k.span_id, "trace_state": k.trace_state, "attributes": k.attributes}
            for k in span.links
        ]
    )


def _error_type(span: DecodedSpan) -> str | None:
    declared = text(span.attributes, sc.ERROR_TYPE)
    if declared or span.status_code != "ERROR":
        return declared
    for event in span.events:
        if event.name == sc.EXCEPTION_EVENT:
            found = text(event.attributes, sc.EXCEPTION_TYPE)
            if found:
                return found
    return "error"
