"""`agentdeck.langgraph.instrument`: the same graph, with every run a task, every node an agent step and
every LLM call a GenAI chat span — read back from a real SDK tracer provider's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck import refs
from agentdeck.engine import semconv as sc
from agentdeck.engine.execution import META_TRACE_ID
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.langgraph import InstrumentedGraph, instrument
from tests.engine.fake_anthropic import FakeAnthropic
from tests.langgraph.conftest import ANSWERS
from tests.langgraph.graphs import ACT_SYSTEM, PLAN_PROMPT, async_builder, builder

REF = "my_app.flows:graph"


def traced(graph: Any, **kwargs: Any) -> tuple[InstrumentedGraph, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return instrument(graph, tracer_provider=make_tracer_provider(exporters=[exporter]), **kwargs), exporter


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def by_op(spans: list[ReadableSpan], op: str) -> list[ReadableSpan]:
    return sorted((s for s in spans if attrs(s).get(sc.GEN_AI_OPERATION_NAME) == op), key=lambda s: s.start_time or 0)


def test_nodes_and_llm_calls_become_spans_with_langgraph_ids(fake_llm: FakeAnthropic) -> None:
    plain = builder(fake_llm.url, fail_first=False).compile(checkpointer=InMemorySaver())
    expected = plain.invoke({"topic": "refunds"}, {"configurable": {"thread_id": "plain"}})
    graph, exporter = traced(builder(fake_llm.url).compile(checkpointer=InMemorySaver()), ref=REF, name="helpdesk")
    config: Any = {"configurable": {"thread_id": "t-1"}}

    assert graph.invoke({"topic": "refunds"}, config) == expected  # same answer as the plain graph
    spans = list(exporter.get_finished_spans())
    (root,) = by_op(spans, sc.OP_INVOKE_WORKFLOW)
    assert root.name == "invoke_workflow helpdesk" and root.parent is None
    assert attrs(root)[sc.AD_TASK_OUTCOME] == "success" and attrs(root)[refs.SPAN_ATTRIBUTE] == REF
    assert attrs(root)[sc.LANGGRAPH_THREAD_ID] == "t-1"
    assert json.loads(attrs(root)[sc.AD_PROMPTS]) == {"plan": PLAN_PROMPT, "act": ACT_SYSTEM}

    agents = by_op(spans, sc.OP_INVOKE_AGENT)
    seen = [(s.name, attrs(s)[sc.LANGGRAPH_NODE], attrs(s)[sc.LANGGRAPH_STEP], attrs(s)[sc.AD_ATTEMPT]) for s in agents]
    assert seen == [
        ("invoke_agent plan", "plan", 1, 1),
        ("invoke_agent act", "act", 2, 1),
        ("invoke_agent act", "act", 2, 2),
    ]
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in agents)
    assert [s.status.is_ok for s in agents] == [True, False, True]
    assert attrs(agents[1])[sc.ERROR_TYPE] == "Flaky"
    # each step's span names the checkpoint the step ran from, and the thread
    history = {st.metadata["step"]: st for st in graph.get_state_history(config)}  # type: ignore[index]
    for span in agents:
        step = attrs(span)[sc.LANGGRAPH_STEP]
        assert attrs(span)[sc.LANGGRAPH_CHECKPOINT_ID] == history[step - 1].config["configurable"]["checkpoint_id"]
        assert attrs(span)[sc.LANGGRAPH_THREAD_ID] == "t-1" and attrs(span)[sc.LANGGRAPH_TASK_ID]
    # the checkpoints name the trace and the code that wrote them
    trace_id = format(root.context.trace_id, "032x")
    assert all(st.metadata[refs.CHECKPOINT_METADATA_KEY] == REF for st in history.values())  # type: ignore[index]
    assert all(st.metadata[META_TRACE_ID] == trace_id for st in history.values())  # type: ignore[index]

    chats = by_op(spans, sc.OP_CHAT)
    assert [c.name for c in chats] == ["chat unknown", "chat claude-haiku-4-5"]
    lc, sdk = (attrs(c) for c in chats)
    assert chats[0].parent is not None and chats[0].parent.span_id == agents[0].context.span_id
    assert chats[1].parent is not None and chats[1].parent.span_id == agents[2].context.span_id
    assert (lc[sc.GEN_AI_PROVIDER_NAME], lc[sc.GEN_AI_RESPONSE_MODEL]) == ("echo", "claude-haiku-4-5")
    assert (lc[sc.GEN_AI_USAGE_INPUT_TOKENS], lc[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (10, 3)
    assert json.loads(lc[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == "echo: Plan the work for: refunds"
    assert (sdk[sc.GEN_AI_PROVIDER_NAME], sdk[sc.GEN_AI_REQUEST_MODEL]) == ("anthropic", "claude-haiku-4-5")
    assert sdk[sc.GEN_AI_RESPONSE_MODEL] == "claude-haiku-4-5-20251001" and sdk[sc.GEN_AI_RESPONSE_ID].startswith(
        "msg_"
    )
    # OTel GenAI: input tokens include cache reads (300) and writes (50)
    assert (sdk[sc.GEN_AI_USAGE_INPUT_TOKENS], sdk[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (470, 40)
    assert (sdk[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS], sdk[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]) == (300, 50)
    assert sdk[sc.GEN_AI_USAGE_COST] > 0 and sdk[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert json.loads(sdk[sc.GEN_AI_SYSTEM_INSTRUCTIONS])[0]["content"] == ACT_SYSTEM

    exporter.clear()
    plain.invoke({"topic": "again"}, {"configurable": {"thread_id": "plain-2"}})
    assert exporter.get_finished_spans() == ()  # the graph passed to instrument() is left as it was


def test_the_interface_is_the_graphs(fake_llm: FakeAnthropic) -> None:
    graph, exporter = traced(builder(fake_llm.url, fail_first=False).compile(checkpointer=InMemorySaver()), ref=REF)
    config: Any = {"configurable": {"thread_id": "t-2"}}
    chunks = list(graph.stream({"topic": "x"}, config, stream_mode="updates"))
    assert [list(c) for c in chunks] == [["plan"], ["act"]]
    assert graph.get_state(config).values["reply"] == json.dumps(json.loads(graph.get_state(config).values["reply"]))
    assert len(list(graph.get_state_history(config))) == 4
    forked = graph.update_state(config, {"plan": "edited"})
    assert graph.get_state(forked).values["plan"] == "edited"
    assert graph.with_config({"recursion_limit": 5}).agentdeck is graph.agentdeck  # copies stay traced
    roots = by_op(list(exporter.get_finished_spans()), sc.OP_INVOKE_WORKFLOW)
    assert len(roots) == 1 and attrs(roots[0])[sc.AD_TASK_OUTCOME] == "success"


def test_outcomes_on_the_root_span(fake_llm: FakeAnthropic) -> None:
    bad = builder("http://127.0.0.1:9", fail_first=False)  # nothing listens there: the SDK call fails
    graph, exporter = traced(bad.compile(checkpointer=InMemorySaver()), ref=REF)
    with pytest.raises(Exception, match=r"Connection to 127\.0\.0\.1:9 failed"):
        graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t-3"}})
    (root,) = by_op(list(exporter.get_finished_spans()), sc.OP_INVOKE_WORKFLOW)
    assert attrs(root)[sc.AD_TASK_OUTCOME] == "failed" and attrs(root)[sc.ERROR_TYPE] == "failed"
    assert not root.status.is_ok and "APIConnectionError" in (root.status.description or "")
    chat = by_op(list(exporter.get_finished_spans()), sc.OP_CHAT)[-1]
    assert attrs(chat)[sc.ERROR_TYPE] == "APIConnectionError" and not chat.status.is_ok

    waiting, exporter = traced(
        builder(fake_llm.url, fail_first=False).compile(checkpointer=InMemorySaver(), interrupt_before=["act"])
    )
    waiting.invoke({"topic": "x"}, {"configurable": {"thread_id": "t-4"}})
    (root,) = by_op(list(exporter.get_finished_spans()), sc.OP_INVOKE_WORKFLOW)
    assert attrs(root)[sc.AD_TASK_OUTCOME] == "incomplete"
    assert attrs(root)[sc.AD_TASK_INCOMPLETE_REASON] == "interrupted before act"


def test_async_invocation_and_async_anthropic_client(fake_llm: FakeAnthropic) -> None:
    graph, exporter = traced(async_builder(fake_llm.url).compile(checkpointer=InMemorySaver()), ref=REF)
    # in its own thread: a session's Playwright keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(asyncio.run, graph.ainvoke({"question": "why?"}, {"configurable": {"thread_id": "a-1"}}))
        out = future.result(timeout=60)
    assert json.loads(out["answer"]) == ANSWERS["reply"]
    spans = list(exporter.get_finished_spans())
    (agent,) = by_op(spans, sc.OP_INVOKE_AGENT)
    (chat,) = by_op(spans, sc.OP_CHAT)
    assert chat.parent is not None and chat.parent.span_id == agent.context.span_id
    assert attrs(chat)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 470
    (root,) = by_op(spans, sc.OP_INVOKE_WORKFLOW)
    assert attrs(root)[sc.AD_TASK_OUTCOME] == "success"


def test_the_reference_is_found_where_instrument_was_called(fake_llm: FakeAnthropic) -> None:
    from tests.langgraph.graphs import module_graph

    assert module_graph.reference() == "tests.langgraph.graphs:module_graph"
    with pytest.raises(TypeError, match="takes a compiled LangGraph graph"):
        instrument(builder(fake_llm.url))  # type: ignore[arg-type]
    with pytest.raises(refs.RefError, match="is not a reference"):
        instrument(builder(fake_llm.url).compile(), ref="no-colon")
