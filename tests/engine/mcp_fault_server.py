"""An MCP server (stdio) whose tools misbehave on demand, for the MCP tool policy tests."""

from __future__ import annotations

import os
import time

from mcp.server.mcpserver import MCPServer

app: MCPServer = MCPServer("faulty")
CALLS = {"n": 0}


@app.tool()
def slow(seconds: float) -> str:
    """Answers after `seconds`"""
    CALLS["n"] += 1
    time.sleep(seconds)
    return f"slept {seconds}"


@app.tool()
def crash() -> str:
    """Kills the server process"""
    os._exit(3)


@app.tool()
def calls() -> str:
    """How many times `slow` was called"""
    return str(CALLS["n"])


if __name__ == "__main__":
    app.run("stdio")
