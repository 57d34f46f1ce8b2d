"""Whatever order spans arrive in: nearest agent ancestor, resends, and a call reported twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from collector_helpers import stored_rows
from otlp_payloads import S, merge, new_trace_id, request

from agentdeck.collector.server import CollectorServer

PB = {"Content-Type": "application/x-protobuf"}


def send(client: httpx.Client, server: CollectorServer, *spans: S, scope: str = "test.scope") -> None:
    r = client.post(
        server.url + "/v1/traces", content=request(list(spans), scope=scope).SerializeToString(), headers=PB
    )
    assert r.status_code == 200, r.text


def agent_of(db: Path, trace_id: str) -> dict[str, str | None]:
    return dict(stored_rows(db, "SELECT name, agent_name FROM spans WHERE trace_id = ?", [trace_id]))  # type: ignore[arg-type]


def test_children_before_parents_in_other_requests(
    collector: CollectorServer, client: httpx.Client, db_path: Path
) -> None:
    t = new_trace_id()
    wf = S("wf", t, attrs={"gen_ai.operation.name": "invoke_workflow"})
    agent = S("invoke_agent writer", t, parent=wf.span_id, attrs={"gen_ai.operation.name": "invoke_agent"})
    step = S("step", t, parent=agent.span_id)
    llm = S("chat", t, parent=step.span_id, attrs={"gen_ai.operation.name": "chat"})
    sub = S("invoke_agent editor", t, parent=step.span_id, attrs={"gen_ai.agent.name": "editor"})
    sub_llm = S("chat2", t, parent=sub.span_id, attrs={"gen_ai.operation.name": "chat"})
    # deepest first, one request each; the agent lands last
    for span in (sub_llm, llm, sub, step, wf, agent):
        send(client, collector, span)
    collector.stop()
    assert agent_of(db_path, t) == {
        "wf": None,
        "invoke_agent writer": "writer",
        "step": "writer",
        "chat": "writer",
        "invoke_agent editor": "editor",
        "chat2": "editor",
    }


def test_a_parent_that_lands_after_a_restart_still_fixes_its_children(
    start_collector: Callable[..., CollectorServer], client: httpx.Client, db_path: Path
) -> None:
    t = new_trace_id()
    agent = S("invoke_agent planner", t, attrs={"gen_ai.operation.name": "invoke_agent"})
    llm = S("chat", t, parent=agent.span_id, attrs={"gen_ai.operation.name": "chat"})
    first = start_collector()
    send(client, first, llm)
    first.stop()
    assert agent_of(db_path, t) == {"chat": None}
    second = start_collector()
    send(client, second, agent)
    send(client, second, llm)  # a resend after the restart is still a duplicate
    second.stop()
    assert agent_of(db_path, t) == {"chat": "planner", "invoke_agent planner": "planner"}


def test_resends_are_stored_once(collector: CollectorServer, client: httpx.Client, db_path: Path) -> None:
    t = new_trace_id()
    spans = [S(f"s{i}", t) for i in range(5)]
    body = request(spans).SerializeToString()
    for _ in range(3):
        assert client.post(collector.url + "/v1/traces", content=body, headers=PB).status_code == 200
    twice = merge(request(spans[:2]), request(spans[:2]))  # duplicates inside one request
    assert client.post(collector.url + "/v1/traces", content=twice.SerializeToString(), headers=PB).status_code == 200
    assert client.get(collector.url + "/metrics").json()["spans_duplicate"] == 14
    collector.stop()
    assert stored_rows(db_path, "SELECT count(*), count(DISTINCT span_id) FROM spans") == [(5, 5)]


def _duplicate_call(t: str) -> tuple[S, S, S]:
    agent = S("invoke_agent analyst", t, attrs={"gen_ai.operation.name": "invoke_agent"})
    usage = {
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 100,
    }
    instrumented = S(
        "ChatAnthropic",
        t,
        parent=agent.span_id,
        attrs={
            "openinference.span.kind": "LLM",
            "llm.model_name": "claude-sonnet-4-5",
            "llm.token_count.prompt": 1000,
            "llm.token_count.completion": 100,
        },
    )
    sdk = S(
        "anthropic.messages.create",
        t,
        parent=instrumented.span_id,
        start_ns=instrumented.start_ns + 1000,
        duration_ns=instrumented.duration_ns - 2000,
        attrs={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", **usage},
    )
    return agent, instrumented, sdk


def _trace_usage(db: Path, t: str) -> tuple[object, ...]:
    (row,) = stored_rows(
        db,
        "SELECT sum(input_tokens) FILTER (WHERE usage_counted), sum(cost_usd) FILTER (WHERE usage_counted), "
        "count(*) FILTER (WHERE NOT usage_counted), "
        "max(agent_name) FILTER (WHERE name = 'anthropic.messages.create') FROM spans WHERE trace_id = ?",
        [t],
    )
    return row


def test_the_sdk_span_beside_an_instrumentor_span_is_counted_once_in_either_order(
    collector: CollectorServer, client: httpx.Client, db_path: Path
) -> None:
    sdk_first, instrumentor_first, sibling = new_trace_id(), new_trace_id(), new_trace_id()
    agent, inst, sdk = _duplicate_call(sdk_first)
    send(client, collector, sdk, scope="com.anthropic.sdk.python")
    send(client, collector, agent, inst, scope="openinference.instrumentation.langchain")

    agent, inst, sdk = _duplicate_call(instrumentor_first)
    send(client, collector, agent, inst, scope="openinference.instrumentation.langchain")
    send(client, collector, sdk, scope="com.anthropic.sdk.python")

    agent, inst, sdk = _duplicate_call(sibling)
    sdk.parent = agent.span_id  # next to the instrumentor's span instead of under it
    send(client, collector, sdk, scope="com.anthropic.sdk.python")
    send(client, collector, agent, inst, scope="openinference.instrumentation.langchain")
    collector.stop()
    one_call = (1000, 0.0045, 1, "analyst")
    assert _trace_usage(db_path, sdk_first)[0] == 1000
    for t in (sdk_first, instrumentor_first, sibling):
        got = _trace_usage(db_path, t)
        assert got[0] == one_call[0] and abs(float(got[1]) - one_call[1]) < 1e-9 and got[2:] == one_call[2:]  # type: ignore[arg-type]


def test_an_sdk_span_alone_is_counted(collector: CollectorServer, client: httpx.Client, db_path: Path) -> None:
    t = new_trace_id()
    _, _, sdk = _duplicate_call(t)
    sdk.parent = None
    send(client, collector, sdk, scope="com.anthropic.sdk.python")
    collector.stop()
    assert stored_rows(db_path, "SELECT usage_counted, input_tokens FROM spans") == [(True, 1000)]
