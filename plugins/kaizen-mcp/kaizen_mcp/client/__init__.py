"""The MCP client: MCP servers' tools as agent tools (``mcp__<server>__<tool>``).

    agent = BaseAgent(config, signature, mcp_servers=[
        {"name": "fs", "command": "python", "args": ["-m", "my_server"], "transport": "stdio"},
        {"name": "remote", "url": "http://127.0.0.1:8931/mcp", "transport": "streamable-http"},
    ])
    tools = await agent.discover_mcp_tools()                 # MCPTool objects, JSON schemas
    result = await agent.execute_mcp_tool("mcp__fs__read", {"path": "a.txt"})

Modules: :mod:`~kaizen_mcp.client.config` (the server entry model),
:mod:`~kaizen_mcp.client.connection` (one server's lifecycle on the background loop),
:mod:`~kaizen_mcp.client.tools` (the Tool adapter), :mod:`~kaizen_mcp.client.source`
(the agent's set of servers, the registered ``mcp`` tool source). The SDK is imported
only when a server is started.
"""

from __future__ import annotations

from kaizen_mcp.client.config import BUILTIN_SERVER, MCPServerConfig, tool_name
from kaizen_mcp.client.connection import MCPServerError
from kaizen_mcp.client.source import MCPToolSource
from kaizen_mcp.client.tools import MCPTool

__all__ = ["BUILTIN_SERVER", "MCPServerConfig", "MCPServerError", "MCPTool", "MCPToolSource", "tool_name"]
