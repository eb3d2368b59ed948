"""The MCP server side of kaizen-mcp: Kaizen's built-in tools and agents for any MCP client.

    from kaizen_mcp.server import build_server, streamable_http_app

    server = build_server({"qa": agent}, workspace="./data")   # the 12 built-ins + one agent tool
    app = streamable_http_app(server)                          # ASGI, MCP at /mcp

``kaizen mcp serve`` (:mod:`kaizen_mcp.cli`) is this, from the command line. Every call
passes the Kaizen permission gate (:mod:`kaizen_mcp.server.catalog`).
"""

from kaizen_mcp.server.app import BUILTIN_SERVER_NAME, KaizenMCPServer, build_server, streamable_http_app
from kaizen_mcp.server.catalog import AgentTool, ServerPolicy, tool_annotations

__all__ = [
    "BUILTIN_SERVER_NAME",
    "AgentTool",
    "KaizenMCPServer",
    "ServerPolicy",
    "build_server",
    "streamable_http_app",
    "tool_annotations",
]
