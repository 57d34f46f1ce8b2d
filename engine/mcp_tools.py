"""MCP tools: tools an agent uses that an MCP server serves, over stdio or streamable HTTP.

Built on the official `mcp` SDK's `Client`. The engine's nodes are synchronous and the SDK is
asynchronous, so each server gets one long-lived session on a background event-loop thread, opened
on the first call and shared by every task of the process (a stdio server is one subprocess, not one
per call). To the step runtime an MCP tool is an ordinary `Tool`: each call is the same
`execute_tool {tool}` span (arguments, result, error type, latency) with the server and transport
added, and failures are sorted here, once:

* the server does not answer in time -> `ToolUnavailable("timeout")`;
* the server cannot be reached, dies, or answers with a protocol error -> `ToolUnavailable("server_error")`;
* the tool itself reports an error (`isError`) -> `ToolError`, a result the model sees, not retried.

`ToolUnavailable` is what `agentdeck.engine.calls.run_tool` retries with backoff and counts in the
tool's circuit breaker, for local tools that raise it as much as for MCP tools. Measured on this
machine: a stdio session starts in about 1 s (a Python server process); a call then takes ~2 ms.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from agentdeck.engine.agents import Tool

T = TypeVar("T")
Transport = Literal["stdio", "streamable_http"]
CONNECT_TIMEOUT_S = 30.0


class ToolUnavailable(Exception):
    """A tool could not answer (timeout, server down or failing): retried, and counted by its breaker."""

    def __init__(self, reason: Literal["timeout", "server_error"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ToolError(Exception):
    """The tool ran and reported an error: the model sees it as the result."""


@dataclass(frozen=True, slots=True)
class McpServer:
    """Where an MCP server is: a command to start over stdio, or a streamable HTTP URL."""

    name: str
    command: tuple[str, ...] = ()
    url: str = ""
    timeout_s: float = 10.0  # per call
    cwd: str | None = None

    def __post_init__(self) -> None:
        if bool(self.command) == bool(self.url):
            raise ValueError(f"MCP server {self.name!r}: give either a command (stdio) or a url (streamable HTTP)")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"MCP server {self.name!r}: url must start with http:// or https://, got {self.url!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"MCP server {self.name!r}: timeout_s must be positive, got {self.timeout_s}")

    @property
    def transport(self) -> Transport:
        return "stdio" if self.command else "streamable_http"

    def tool(self, name: str, description: str, input_schema: dict[str, Any]) -> Tool:
        """A tool the server serves, declared up front (so a workflow's agents are static)."""

        def call(arguments: dict[str, Any]) -> str:
            return session_for(self).call(name, arguments)

        return Tool(name, description, call, input_schema, server=self.name, transport=self.transport)

    def list_tools(self) -> tuple[Tool, ...]:
        """Every tool the server lists, as agent tools (asks the server)."""
        return tuple(self.tool(n, d, s) for n, d, s in session_for(self).list_tools())

    def close(self) -> None:
        """End this server's session (and its subprocess); the next call opens a new one."""
        with _LOCK:
            session = _SESSIONS.pop(self, None)
        if session is not None:
            session.close()


class _Session:
    """One open MCP client session, living in its own event loop on a daemon thread."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"mcp-{server.name}", daemon=True)
        self._thread.start()
        self._client: Any = None
        self.broken = False
        self._stop = asyncio.Event()
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._main = asyncio.run_coroutine_threadsafe(self._hold(), self._loop)
        try:
            self._ready.result(timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:
            self.close()
            raise ToolUnavailable("server_error", f"MCP server {server.name}: cannot connect: {exc}") from None

    async def _hold(self) -> None:
        """Open the client, then keep it open until close(): the SDK's context must exit in this task."""
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        command, *args = self.server.command or ("",)
        target: Any = (
            StdioServerParameters(command=command, args=args, cwd=self.server.cwd) if command else self.server.url
        )
        try:
            async with Client(target, mode="legacy", cache=None) as client:
                self._client = client
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError | Exception):
                raise

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        if self._main.done():
            raise ToolUnavailable("server_error", f"MCP server {self.server.name}: the session has ended")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolUnavailable(
                "timeout", f"MCP server {self.server.name}: no answer within {timeout_s:g} s"
            ) from None

    def list_tools(self) -> list[tuple[str, str, dict[str, Any]]]:
        try:
            result = self._run(self._client.list_tools(), self.server.timeout_s)
        except ToolUnavailable:
            raise
        except Exception as exc:
            raise ToolUnavailable("server_error", f"MCP server {self.server.name}: {exc}") from None
        return [(t.name, t.description or "", dict(t.input_schema)) for t in result.tools]

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        try:
            result = self._run(
                self._client.call_tool(name, arguments, read_timeout_seconds=self.server.timeout_s),
                self.server.timeout_s + 1.0,
            )
        except ToolUnavailable:
            raise
        except Exception as exc:  # protocol errors, a dead server, a broken pipe
            text = str(exc) or type(exc).__name__
            if "timed out" in text.lower():  # the SDK's read timeout
                raise ToolUnavailable(
                    "timeout", f"MCP server {self.server.name}: no answer within {self.server.timeout_s:g} s"
                ) from None
            self.broken = True  # the next call opens a new session (and restarts a stdio server)
            raise ToolUnavailable("server_error", f"MCP server {self.server.name}: {text}") from None
        text = _text_of(result)
        if result.is_error:
            raise ToolError(text)
        return text

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
            with contextlib.suppress(BaseException):  # the session ends either way
                self._main.result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _text_of(result: Any) -> str:
    parts = [getattr(c, "text", None) for c in result.content]
    texts = [p for p in parts if isinstance(p, str)]
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return json.dumps(result.structured_content, sort_keys=True)
    return ""


_SESSIONS: dict[McpServer, _Session] = {}
_LOCK = threading.Lock()


def session_for(server: McpServer) -> _Session:
    """The server's open session, opened on first use and reopened after it ended."""
    with _LOCK:
        session = _SESSIONS.get(server)
        if session is not None and (session.broken or session._main.done()):
            session.close()
            session = None
        if session is None:
            session = _SESSIONS[server] = _Session(server)
        return session


@atexit.register
def close_all() -> None:
    """End every MCP session (stdio servers exit with their session)."""
    with _LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
