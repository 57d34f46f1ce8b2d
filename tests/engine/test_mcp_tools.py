"""MCP tools against real MCP server processes: the support_mcp example over stdio, the same server
over streamable HTTP on a free 127.0.0.1 port, and a misbehaving server for timeouts and crashes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import Run
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Tool
from agentdeck.engine.calls import run_tool
from agentdeck.engine.clock import VirtualClock
from agentdeck.engine.context import RunContext
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.mcp_tools import McpServer, ToolError, ToolUnavailable
from agentdeck.engine.policies import Breakers, Budget, CircuitBreaker, Deadline
from agentdeck.engine.pricing import load_prices
from agentdeck.engine.providers.base import ToolCall
from agentdeck.engine.providers.simulator import SimulatedProvider
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workflows import triage

pytestmark = pytest.mark.slow
FAULT_SERVER = (sys.executable, str(Path(__file__).with_name("mcp_fault_server.py")))


def _tool_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith("execute_tool ")]


def test_support_mcp_workflow_calls_the_local_mcp_server_over_stdio(run_workflow) -> None:  # type: ignore[no-untyped-def]
    run: Run = run_workflow("support_mcp", 2)
    tools = _tool_spans(run.spans)
    assert {s.name for s in tools} == {"execute_tool lookup_order", "execute_tool search_kb"}
    for span in tools:
        attrs = span.attributes or {}
        assert attrs[sc.MCP_SERVER_NAME] == "support-tools"
        assert attrs[sc.MCP_TRANSPORT] == "stdio"
        assert attrs[sc.GEN_AI_OPERATION_NAME] == sc.OP_EXECUTE_TOOL
        args = json.loads(str(attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS]))
        local = triage._lookup_order if span.name.endswith("lookup_order") else triage._search_kb
        assert attrs[sc.GEN_AI_TOOL_CALL_RESULT] == local(args)  # what the server process answered
        assert span.end_time and span.start_time and span.end_time > span.start_time
        assert span.status.status_code.name != "ERROR"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.engine.workflows.support_mcp_server", "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, "the MCP server exited"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class _Harness:
    """A RunContext on a virtual clock with an in-memory exporter, to call run_tool as a node does."""

    def __init__(self, tmp_path: Path, breakers: Breakers | None = None) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = make_tracer_provider(exporters=[self.exporter])
        tracer = self.provider.get_tracer("test")
        self.root = tracer.start_span("invoke_workflow test")
        clock = VirtualClock(1_795_000_000_000_000_000)
        self.ctx = RunContext(
            workflow="test",
            task_id="t1",
            thread_id="t1",
            trace_id=format(self.root.get_span_context().trace_id, "032x"),
            seed=0,
            provider=SimulatedProvider(seed=0),
            tracer=tracer,
            prices=load_prices(),
            clock=clock,
            budget=Budget(None),
            deadline=Deadline(None, clock.start_ns()),
            ledger=Ledger(tmp_path / "ledger.sqlite"),
            root_span=self.root,
            root_context=trace.set_span_in_context(self.root),
            breakers=breakers,
        )
        self.cursor = clock.begin_node(0, "node")

    def call(self, tool: Tool, arguments: dict[str, object]) -> str:
        call = ToolCall(id="toolu_1", name=tool.name, arguments=arguments)
        return run_tool(self.ctx, tool, call, parent=self.ctx.root_context, cursor=self.cursor, step=1, attempt=1)

    def spans(self) -> list[ReadableSpan]:
        self.provider.force_flush()
        return _tool_spans(list(self.exporter.get_finished_spans()))


def test_streamable_http_server_lists_tools_and_answers_calls(http_server: str, tmp_path: Path) -> None:
    server = McpServer("support-http", url=http_server)
    try:
        tools = {t.name: t for t in server.list_tools()}
        assert set(tools) == {"lookup_order", "search_kb"}
        assert tools["lookup_order"].input_schema["properties"]["order_id"]["pattern"] == r"^ORD-\d{6}$"
        harness = _Harness(tmp_path)
        result = harness.call(tools["lookup_order"], {"order_id": "ORD-123456"})
        assert result == triage._lookup_order({"order_id": "ORD-123456"})
        (span,) = harness.spans()
        attrs = span.attributes or {}
        assert (attrs[sc.MCP_SERVER_NAME], attrs[sc.MCP_TRANSPORT]) == ("support-http", "streamable_http")
        assert attrs[sc.GEN_AI_TOOL_CALL_RESULT] == result
        with pytest.raises(ToolError, match="order_id"):  # the server validates: a tool error, not a crash
            tools["lookup_order"].func({"order_id": "nope"})
    finally:
        server.close()


def test_a_timeout_is_retried_and_opens_the_tools_circuit_breaker(tmp_path: Path) -> None:
    server = McpServer("faulty", command=FAULT_SERVER, timeout_s=0.5)
    breakers = Breakers(lambda: CircuitBreaker(window=3, threshold=1.0, min_calls=3, cooldown=5))
    harness = _Harness(tmp_path, breakers)
    slow = server.tool("slow", "Answers after `seconds`", {"type": "object"})
    try:
        result = harness.call(slow, {"seconds": 3})
        assert result.startswith("error: MCP server faulty: no answer within")
        spans = harness.spans()
        assert [(s.attributes or {}).get(sc.ERROR_TYPE) for s in spans] == ["timeout"] * 3
        assert [(s.attributes or {}).get(sc.AD_RETRY_REASON) for s in spans] == [None, "timeout", "timeout"]
        assert breakers.get("tool:slow").state == "open"
        refused = harness.call(slow, {"seconds": 0})
        assert "circuit breaker for tool slow is open" in refused
        last = harness.spans()[-1].attributes or {}
        assert (last[sc.ERROR_TYPE], last[sc.AD_CIRCUIT_STATE]) == ("circuit_open", "open")
        count = server.tool("calls", "", {"type": "object"}).func({})
        assert count == "3"  # the refused call never reached the server
    finally:
        server.close()


def test_a_server_that_dies_is_a_server_error_and_the_next_call_reconnects(tmp_path: Path) -> None:
    server = McpServer("faulty", command=FAULT_SERVER, timeout_s=5)
    try:
        with pytest.raises(ToolUnavailable) as info:
            server.tool("crash", "", {"type": "object"}).func({})
        assert info.value.reason == "server_error"
        assert server.tool("slow", "", {"type": "object"}).func({"seconds": 0}) == "slept 0.0"
    finally:
        server.close()


def test_a_server_that_cannot_start_is_unavailable_with_its_name() -> None:
    server = McpServer("missing", command=(sys.executable, "-c", "import sys; sys.exit(1)"), timeout_s=2)
    with pytest.raises(ToolUnavailable, match="MCP server missing"):
        server.tool("x", "", {"type": "object"}).func({})


def test_a_server_needs_exactly_one_of_command_and_url() -> None:
    with pytest.raises(ValueError, match="either a command"):
        McpServer("both", command=("x",), url="http://127.0.0.1:1/mcp")
    with pytest.raises(ValueError, match="http://"):
        McpServer("bad", url="127.0.0.1:1/mcp")
