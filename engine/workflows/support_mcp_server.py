"""The local MCP server of the `support_mcp` example: order lookup and knowledge-base search.

Run over stdio (what the workflow does: `python -m agentdeck.engine.workflows.support_mcp_server`) or
over streamable HTTP (`... --http PORT`, on 127.0.0.1, path /mcp). The answers are the triage example's
deterministic tool functions, so a run with MCP tools is as reproducible as one with local tools.
"""

from __future__ import annotations

import argparse
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from agentdeck.engine.workflows.triage import ORDER_ID, _lookup_order, _search_kb

OrderId = Annotated[str, Field(pattern=f"^{ORDER_ID}$", description="an order id like ORD-123456")]

app: MCPServer = MCPServer("support-tools", instructions="Order lookups and knowledge base search for support")


@app.tool()
def lookup_order(order_id: OrderId) -> str:
    """Order status by order id"""
    return _lookup_order({"order_id": order_id})


@app.tool()
def search_kb(order_id: OrderId) -> str:
    """Knowledge base articles for an order"""
    return _search_kb({"order_id": order_id})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args(argv)
    if args.http is None:
        app.run("stdio")
    else:
        app.run("streamable-http", host="127.0.0.1", port=args.http)


if __name__ == "__main__":
    main()
