"""Normalization of what real producers send (per SEMCONV): conventions, usage, cost, content."""

from __future__ import annotations

import json

import pytest
from otlp_payloads import S, new_trace_id, request

from agentdeck.collector.ingest.decode import from_proto
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine.pricing import load_prices

PRICES = load_prices()


def rows(spans: list[S], scope: str = "test.scope", service: str = "svc") -> dict[str, SpanRow]:
    decoded = from_proto(request(spans, service=service, scope=scope))
    assert decoded.rejected == 0
    return {s.name: normalize(s, PRICES, received_ns=1) for s in decoded.spans}


def test_otel_genai_chat_counts_cache_tokens_once_and_prices_them() -> None:
    t = new_trace_id()
    chat = S(
        "chat claude-sonnet-4-5",
        t,
        kind=3,
        attrs={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.response.model": "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": 1000,  # includes the 600 cache-read and 100 cache-write tokens
            "gen_ai.usage.cache_read.input_tokens": 600,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.reasoning.output_tokens": 50,
            "gen_ai.conversation.id": "conv-1",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "yo"}]}]),
        },
    )
    row = rows([chat])["chat claude-sonnet-4-5"]
    assert (row.convention, row.span_type, row.operation_name, row.provider) == (
        "otel_genai",
        "llm",
        "chat",
        "anthropic",
    )
    assert (row.input_tokens, row.output_tokens, row.total_tokens) == (1000, 200, 1200)
    assert (row.cache_read_tokens, row.cache_write_tokens, row.reasoning_tokens) == (600, 100, 50)
    # sonnet 4.5: 3 $/M plain input, 0.30 cache read, 3.75 cache write, 15 output
    expected = (300 * 3.0 + 600 * 0.30 + 100 * 3.75 + 200 * 15.0) / 1e6
    assert row.cost_source == "computed" and row.cost_usd == pytest.approx(expected)
    assert row.conversation_id == "conv-1" and row.kind == "CLIENT"
    assert json.loads(row.input_messages or "")[0]["role"] == "user"
    assert json.loads(row.attributes)["gen_ai.usage.cache_read.input_tokens"] == 600
    assert json.loads(row.resource_attributes) == {"service.name": "svc"}


def test_reported_cost_wins_and_unknown_model_is_marked_not_zero() -> None:
    t = new_trace_id()
    reported = S(
        "chat a",
        t,
        attrs={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 10,
            "gen_ai.usage.cost": 0.5,
        },
    )
    unknown = S(
        "chat b",
        t,
        attrs={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "acme-llm-9000",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 10,
        },
    )
    no_usage = S(
        "execute_tool search", t, attrs={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
    )
    out = rows([reported, unknown, no_usage])
    assert (out["chat a"].cost_usd, out["chat a"].cost_source) == (0.5, "reported")
    assert (out["chat b"].cost_usd, out["chat b"].cost_source) == (None, "unknown-model")
    tool = out["execute_tool search"]
    assert (tool.span_type, tool.tool_name, tool.cost_usd, tool.cost_source) == ("tool", "search", None, None)


def test_openinference_langchain_spans() -> None:
    t = new_trace_id()
    root = S("LangGraph", t, attrs={"openinference.span.kind": "CHAIN", "input.value": '{"q": "x"}'})
    agent = S("researcher", t, parent=root.span_id, attrs={"openinference.span.kind": "AGENT"})
    router = S("route", t, parent=root.span_id, attrs={"openinference.span.kind": "CHAIN"})
    llm = S(
        "ChatAnthropic",
        t,
        parent=agent.span_id,
        attrs={
            "openinference.span.kind": "LLM",
            "llm.model_name": "claude-haiku-4-5",
            "llm.provider": "anthropic",
            "llm.token_count.prompt": 500,
            "llm.token_count.completion": 40,
            "llm.token_count.total": 540,
            "llm.token_count.prompt_details.cache_read": 100,
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "be brief",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "hello",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "search",
            "metadata": json.dumps({"langgraph_node": "researcher", "langgraph_step": 2, "thread_id": "th-1"}),
            "session.id": "sess-9",
        },
    )
    tool = S("search", t, parent=agent.span_id, attrs={"openinference.span.kind": "TOOL", "tool.name": "search"})
    out = rows([root, agent, router, llm, tool])
    assert {r.convention for r in out.values()} == {"openinference"}
    assert out["LangGraph"].span_type == "workflow" and out["LangGraph"].workflow_name == "LangGraph"
    assert out["route"].span_type == "task"
    assert (out["researcher"].span_type, out["researcher"].agent_name) == ("agent", "researcher")
    row = out["ChatAnthropic"]
    assert (row.span_type, row.request_model, row.provider) == ("llm", "claude-haiku-4-5", "anthropic")
    assert (row.input_tokens, row.output_tokens, row.total_tokens, row.cache_read_tokens) == (500, 40, 540, 100)
    assert row.cost_source == "computed" and row.cost_usd is not None and row.cost_usd > 0
    assert (row.node, row.step, row.thread_id, row.conversation_id) == ("researcher", 2, "th-1", "sess-9")
    messages = json.loads(row.input_messages or "")
    assert messages == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert json.loads(row.output_messages or "")[0]["tool_calls"] == [{"function.name": "search"}]
    assert out["search"].tool_name == "search" and out["search"].span_type == "tool"


def test_openinference_reported_cost() -> None:
    t = new_trace_id()
    llm = S(
        "llm",
        t,
        attrs={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 5,
            "llm.token_count.completion": 5,
            "llm.cost.prompt": 0.001,
            "llm.cost.completion": 0.002,
        },
    )
    row = rows([llm])["llm"]
    assert row.cost_source == "reported" and row.cost_usd == pytest.approx(0.003)


def test_openllmetry_decorators_and_llm_span() -> None:
    t = new_trace_id()
    wf = S(
        "triage.workflow",
        t,
        attrs={
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "triage",
            "traceloop.workflow.name": "triage",
        },
    )
    agent = S(
        "classifier.agent",
        t,
        parent=wf.span_id,
        attrs={
            "traceloop.span.kind": "agent",
            "traceloop.entity.name": "classifier",
            "traceloop.workflow.name": "triage",
            "gen_ai.agent.name": "classifier",
            "traceloop.entity.input": json.dumps({"ticket": "broken"}),
        },
    )
    llm = S(
        "anthropic.chat",
        t,
        parent=agent.span_id,
        kind=3,
        attrs={
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-haiku-4-5",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30,
            "llm.usage.total_tokens": 150,
            "gen_ai.agent.name": "classifier",
            "gen_ai.conversation.id": "c-7",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "classify",
        },
    )
    tool = S(
        "lookup.tool", t, parent=agent.span_id, attrs={"traceloop.span.kind": "tool", "traceloop.entity.name": "lookup"}
    )
    out = rows([wf, agent, llm, tool], scope="opentelemetry.instrumentation.anthropic")
    assert {r.convention for r in out.values()} == {"openllmetry"}
    assert (out["triage.workflow"].span_type, out["triage.workflow"].workflow_name) == ("workflow", "triage")
    assert (out["classifier.agent"].span_type, out["classifier.agent"].agent_name) == ("agent", "classifier")
    assert json.loads(out["classifier.agent"].input_messages or "") == {"ticket": "broken"}
    row = out["anthropic.chat"]
    assert (row.span_type, row.provider, row.operation_name) == ("llm", "anthropic", "chat")
    assert (row.input_tokens, row.output_tokens, row.total_tokens) == (120, 30, 150)
    assert row.agent_name == "classifier" and row.conversation_id == "c-7"
    assert json.loads(row.input_messages or "") == [{"role": "user", "content": "classify"}]
    assert (out["lookup.tool"].span_type, out["lookup.tool"].tool_name) == ("tool", "lookup")
    assert out["triage.workflow"].status_code == "UNSET"


def test_engine_spans_keep_engine_extras_and_outcome() -> None:
    t = new_trace_id()
    wf = S(
        "invoke_workflow support_triage",
        t,
        attrs={
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "support_triage",
            "agentdeck.task.id": "task-1",
            "agentdeck.task.outcome": "incomplete",
            "langgraph.thread_id": "thread-1",
            "agentdeck.replay_of": "ab" * 16,
        },
    )
    agent = S(
        "invoke_agent classifier",
        t,
        parent=wf.span_id,
        status_code=2,
        status_message="schema violation",
        attrs={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "classifier",
            "agentdeck.attempt": 2,
            "agentdeck.retry_reason": "validation",
            "langgraph.checkpoint_id": "cp-1",
            "langgraph.node": "classifier",
            "langgraph.step": 3,
            "langgraph.task_id": "lt-1",
        },
        events=[("exception", {"exception.type": "ValidationError", "exception.message": "bad"})],
    )
    out = rows([wf, agent], scope="agentdeck.engine")
    w, a = out["invoke_workflow support_triage"], out["invoke_agent classifier"]
    assert (w.convention, w.span_type, w.workflow_name, w.outcome, w.task_id) == (
        "agentdeck",
        "workflow",
        "support_triage",
        "incomplete",
        "task-1",
    )
    assert (w.thread_id, w.replay_of) == ("thread-1", "ab" * 16)
    assert (a.attempt, a.retry_reason, a.checkpoint_id, a.node, a.step) == (2, "validation", "cp-1", "classifier", 3)
    assert (a.status_code, a.status_message, a.error_type) == ("ERROR", "schema violation", "ValidationError")
    assert json.loads(a.events)[0]["attributes"]["exception.message"] == "bad"


def test_anthropic_sdk_span_is_an_llm_span_with_inclusive_input() -> None:
    t = new_trace_id()
    sdk = S(
        "anthropic.messages.create",
        t,
        kind=3,
        attrs={
            "gen_ai.provider.name": "anthropic",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-opus-4-5",
            "gen_ai.usage.input_tokens": 300,
            "gen_ai.usage.cache_write.input_tokens": 100,
            "gen_ai.usage.output_tokens": 10,
        },
    )
    row = rows([sdk], scope="com.anthropic.sdk.python")["anthropic.messages.create"]
    assert (row.span_type, row.cache_write_tokens, row.usage_counted) == ("llm", 100, True)
    assert row.cost_usd == pytest.approx((200 * 5.0 + 100 * 6.25 + 10 * 25.0) / 1e6)


def test_unknown_convention_keeps_everything() -> None:
    t = new_trace_id()
    row = rows([S("GET /", t, attrs={"http.method": "GET", "big": "x" * 10_000})])["GET /"]
    assert (row.convention, row.span_type, row.cost_source) == ("unknown", "other", None)
    assert json.loads(row.attributes) == {"http.method": "GET", "big": "x" * 10_000}


def test_out_of_range_numbers_are_dropped_not_stored() -> None:
    t = new_trace_id()
    # (a token count out of range rejects its span instead: test_usage_bounds.py)
    attrs = {"gen_ai.operation.name": "chat", "agentdeck.attempt": 1e30}
    row = rows([S("chat", t, attrs=attrs)])["chat"]
    assert row.attempt is None
    assert json.loads(row.attributes)["agentdeck.attempt"] == 1e30
