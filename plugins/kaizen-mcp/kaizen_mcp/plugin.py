"""The kaizen-mcp hookimpls (entry point ``mcp``). Cheap to import: targets are strings."""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_cli_commands(register: Register) -> None:
    register("mcp", "kaizen_mcp.cli:mcp", description="MCP: serve Kaizen tools and agents (kaizen mcp serve)")


@hookimpl
def register_tool_sources(register: Register) -> None:
    register("mcp", "kaizen_mcp.client.source:MCPToolSource", description="MCP servers' tools (mcp_servers=[...])")
