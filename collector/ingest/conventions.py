"""What a span means, per the convention its producer speaks (docs/ARCHITECTURE.md, "Conventions").

`interpret()` detects the convention (our engine, OpenInference, OpenLLMetry, OTel GenAI) and reads
span type, names, models and content with that convention's keys, falling back to the OTel GenAI
spelling that most producers also send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentdeck.collector.ingest.attrs import flattened_list, has_prefix, json_text, text
from agentdeck.collector.ingest.model import Attributes, AttrValue, DecodedSpan
from agentdeck.engine import semconv as sc

AGENTDECK = "agentdeck"
OPENINFERENCE = "openinference"
OPENLLMETRY = "openllmetry"
OTEL_GENAI = "otel_genai"
UNKNOWN = "unknown"

_OP_TYPES = {
    sc.OP_CHAT: "llm",
    sc.OP_TEXT_COMPLETION: "llm",
    sc.OP_GENERATE_CONTENT: "llm",
    sc.OP_EMBEDDINGS: "embedding",
    sc.OP_RETRIEVAL: "retriever",
    sc.OP_EXECUTE_TOOL: "tool",
    sc.OP_INVOKE_AGENT: "agent",
    sc.OP_CREATE_AGENT: "agent",
    sc.OP_INVOKE_WORKFLOW: "workflow",
}
_OI_TYPES = {
    "LLM": "llm",
    "EMBEDDING": "embedding",
    "TOOL": "tool",
    "AGENT": "agent",
    "CHAIN": "task",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
}
_TL_TYPES = {"workflow": "workflow", "task": "task", "agent": "agent", "tool": "tool"}


@dataclass(frozen=True, slots=True)
class Meaning:
    convention: str
    span_type: str
    operation_name: str | None
    provider: str | None
    request_model: str | None
    response_model: str | None
    agent_name: str | None  # the span's own agent (ancestors are resolved by the writer)
    workflow_name: str | None
    conversation_id: str | None
    user_id: str | None
    tool_name: str | None
    tool_call_id: str | None
    input_messages: str | None
    output_messages: str | None
    node: str | None
    step: str | None
    thread_id: str | None


def detect_convention(span: DecodedSpan) -> str:
    attrs = span.attributes
    roots = {key.partition(".")[0] for key in attrs}
    if span.scope_name == sc.ENGINE_SCOPE or "agentdeck" in roots:
        return AGENTDECK
    if sc.OI_SPAN_KIND in attrs:
        return OPENINFERENCE
    if sc.TL_SPAN_KIND in attrs or sc.TL_LLM_REQUEST_TYPE in attrs or "traceloop" in roots:
        return OPENLLMETRY
    if "gen_ai" in roots:
        return OTEL_GENAI
    return UNKNOWN


def interpret(span: DecodedSpan) -> Meaning:
    attrs = span.attributes
    convention = detect_convention(span)
    op = text(attrs, sc.GEN_AI_OPERATION_NAME)
    request_model = text(attrs, sc.GEN_AI_REQUEST_MODEL, sc.OI_LLM_REQUEST_MODEL_NAME, sc.OI_LLM_MODEL_NAME)
    response_model = text(attrs, sc.GEN_AI_RESPONSE_MODEL, sc.OI_LLM_RESPONSE_MODEL_NAME)
    span_type = _span_type(span, convention, op, request_model or response_model)
    metadata = _oi_metadata(attrs) if convention == OPENINFERENCE else {}
    provider = text(attrs, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM, sc.OI_LLM_PROVIDER, sc.OI_LLM_SYSTEM)
    inputs, outputs = _messages(attrs, convention, span_type)
    return Meaning(
        convention=convention,
        span_type=span_type,
        operation_name=op or _fallback_operation(attrs, convention),
        provider=provider.lower() if provider else None,
        request_model=request_model,
        response_model=response_model,
        agent_name=_entity_name("agent", span, convention, span_type),
        workflow_name=_entity_name("workflow", span, convention, span_type),
        conversation_id=text(
            attrs, sc.GEN_AI_CONVERSATION_ID, sc.OI_SESSION_ID, sc.TL_ASSOCIATION_PREFIX + "session_id"
        ),
        user_id=text(attrs, sc.USER_ID, sc.TL_ASSOCIATION_PREFIX + "user_id"),
        tool_name=_entity_name("tool", span, convention, span_type),
        tool_call_id=text(attrs, sc.GEN_AI_TOOL_CALL_ID),
        input_messages=inputs,
        output_messages=outputs,
        node=text(attrs, sc.LANGGRAPH_NODE) or text(metadata, sc.OI_LANGGRAPH_NODE),
        step=text(attrs, sc.LANGGRAPH_STEP) or text(metadata, "langgraph_step"),
        thread_id=text(attrs, sc.LANGGRAPH_THREAD_ID) or text(metadata, "thread_id"),
    )


def _span_type(span: DecodedSpan, convention: str, op: str | None, model: str | None) -> str:
    attrs = span.attributes
    if convention == OPENINFERENCE:
        kind = (text(attrs, sc.OI_SPAN_KIND) or "").upper()
        if kind == "CHAIN" and span.parent_span_id is None:
            return "workflow"
        return _OI_TYPES.get(kind, "other")
    if convention == OPENLLMETRY:
        kind = (text(attrs, sc.TL_SPAN_KIND) or "").lower()
        if kind in _TL_TYPES:
            return _TL_TYPES[kind]
        if sc.TL_LLM_REQUEST_TYPE in attrs:
            return "embedding" if text(attrs, sc.TL_LLM_REQUEST_TYPE) == "embedding" else "llm"
    if op in _OP_TYPES:
        return _OP_TYPES[op]
    if span.scope_name == sc.ANTHROPIC_SDK_SCOPE and span.name == sc.ANTHROPIC_SDK_SPAN_NAME:
        return "llm"
    if model and (has_prefix(attrs, "gen_ai.usage.") or has_prefix(attrs, "llm.token_count.")):
        return "llm"
    if convention == AGENTDECK and span.parent_span_id is None and sc.AD_TASK_ID in attrs:
        return "workflow"
    return "other"


def _fallback_operation(attrs: Attributes, convention: str) -> str | None:
    if convention == OPENLLMETRY:
        return text(attrs, sc.TL_LLM_REQUEST_TYPE)
    if convention == OPENINFERENCE:
        kind = text(attrs, sc.OI_SPAN_KIND)
        return kind.lower() if kind else None
    return None


def _suffix_name(span: DecodedSpan, op_prefix: str, dotted_suffix: str) -> str:
    name = span.name
    if name.startswith(op_prefix + " "):
        return name[len(op_prefix) + 1 :]
    if name.endswith(dotted_suffix):
        return name[: -len(dotted_suffix)]
    return name


# Where an entity's name comes from: its own attributes first; failing those, on a span of that type,
# OpenLLMetry's entity name, then the span name ("invoke_agent X" or "X.agent").
_NAMED_ENTITIES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "agent": ((sc.GEN_AI_AGENT_NAME,), sc.OP_INVOKE_AGENT, ".agent"),
    "workflow": ((sc.GEN_AI_WORKFLOW_NAME, sc.TL_WORKFLOW_NAME), sc.OP_INVOKE_WORKFLOW, ".workflow"),
    "tool": ((sc.GEN_AI_TOOL_NAME, sc.OI_TOOL_NAME), sc.OP_EXECUTE_TOOL, ".tool"),
}


def _entity_name(entity: str, span: DecodedSpan, convention: str, span_type: str) -> str | None:
    own_keys, op, suffix = _NAMED_ENTITIES[entity]
    own = text(span.attributes, *own_keys)
    if own or span_type != entity:
        return own
    if convention == OPENLLMETRY:
        return text(span.attributes, sc.TL_ENTITY_NAME) or _suffix_name(span, op, suffix)
    return _suffix_name(span, op, suffix) or None


def _oi_metadata(attrs: Attributes) -> dict[str, AttrValue]:
    raw = attrs.get(sc.OI_METADATA)
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            return {}
        if isinstance(parsed, dict):
            return parsed
    return {}


def _messages(attrs: Attributes, convention: str, span_type: str) -> tuple[str | None, str | None]:
    inputs = json_text(attrs.get(sc.GEN_AI_INPUT_MESSAGES))
    outputs = json_text(attrs.get(sc.GEN_AI_OUTPUT_MESSAGES))
    if convention == OPENINFERENCE:
        inputs = inputs or _flat_messages(attrs, sc.OI_INPUT_MESSAGES_PREFIX) or json_text(attrs.get(sc.OI_INPUT_VALUE))
        outputs = (
            outputs or _flat_messages(attrs, sc.OI_OUTPUT_MESSAGES_PREFIX) or json_text(attrs.get(sc.OI_OUTPUT_VALUE))
        )
    elif convention == OPENLLMETRY:
        inputs = inputs or _flat_messages(attrs, sc.GEN_AI_PROMPT_PREFIX) or json_text(attrs.get(sc.TL_ENTITY_INPUT))
        outputs = (
            outputs or _flat_messages(attrs, sc.GEN_AI_COMPLETION_PREFIX) or json_text(attrs.get(sc.TL_ENTITY_OUTPUT))
        )
    return inputs, outputs


def _flat_messages(attrs: Attributes, prefix: str) -> str | None:
    items = flattened_list(attrs, prefix, item_prefix="message.")
    if not items:
        return None
    messages: list[dict[str, AttrValue]] = []
    for fields in items:
        message: dict[str, AttrValue] = {}
        calls: dict[int, dict[str, AttrValue]] = {}
        for key, value in fields.items():
            if key.startswith("tool_calls."):
                index, _, rest = key[len("tool_calls.") :].partition(".")
                if index.isdigit():
                    calls.setdefault(int(index), {})[rest.removeprefix("tool_call.")] = value
                    continue
            message[key] = value
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]  # type: ignore[misc]
        messages.append(message)
    return json.dumps(messages, ensure_ascii=False)
