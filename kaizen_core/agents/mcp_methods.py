"""MCP on every agent: ``mcp_servers=[...]``, ``discover_mcp_tools``, ``execute_mcp_tool``.

    agent = BaseAgent(config, signature, mcp_servers=[
        {"name": "fs", "command": "python", "args": ["-m", "fs_server"], "transport": "stdio"},
    ])
    tools = await agent.discover_mcp_tools(server_name="fs")   # mcp__fs__<tool>, JSON schemas
    result = await agent.execute_mcp_tool("mcp__fs__read", {"path": "a.txt"})   # a ToolResult

The core holds no MCP code: the servers are handled by the ``mcp`` *tool source*, which
the kaizen-mcp plugin registers (hookspec ``register_tool_sources``). Without it, an
agent given ``mcp_servers`` (the keyword, or the ``mcp_servers`` config field, also in
TOML) is refused with KAIZEN_003 naming ``pip install kaizen-mcp``.

What the source gives are ordinary :class:`~kaizen_core.tools.Tool` objects, added to
the agent's ToolRegistry: the model is offered them like any tool, and every call, from
the model or from ``execute_mcp_tool``, goes through :meth:`BaseAgent.execute_tool_call`
(unknown tool -> permission gate -> PRE_TOOL_CALL -> the tool -> POST_TOOL_CALL).

Lifecycle: nothing starts when the agent is built; before each run the configured
servers' tools are listed (the first run starts the servers, later runs reuse them and
their listing), and ``agent.aclose()`` / ``agent.close()`` stops them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.tools import Tool, ToolResult

__all__ = ["MCPMethods", "ToolSource"]

#: The tool-source name ``mcp_servers`` selects.
MCP_SOURCE = "mcp"


@runtime_checkable
class ToolSource(Protocol):
    """What a registered tool source builds for one agent (see ``register_tool_sources``)."""

    async def discover(self, server_name: str | None = None) -> list[Tool]: ...

    async def run_tools(self) -> list[Tool]: ...

    async def aclose(self) -> None: ...


class MCPMethods:
    """The documented MCP methods of every agent (a base of :class:`BaseAgent`)."""

    tools: Any
    _mcp_entries: list[Any]
    _mcp_source: ToolSource | None

    def _init_mcp(self, servers: Sequence[Mapping[str, Any] | str] | None, configured: Sequence[Any]) -> None:
        """Remember the agent's servers; with any, build the source now (a missing plugin or an
        invalid entry fails at construction, the servers themselves start on first use)."""
        entries = [*(configured or ()), *(servers or ())]
        self._mcp_entries = entries
        self._mcp_source = self._new_mcp_source() if entries else None

    @property
    def has_mcp_servers(self) -> bool:
        """True when ``mcp_servers`` names at least one server."""
        return bool(self._mcp_entries)

    def _new_mcp_source(self) -> ToolSource:
        from kaizen_core.plugins import get_registry

        factory = get_registry().load("tool_source", MCP_SOURCE)  # KAIZEN_003: pip install kaizen-mcp
        root = getattr(getattr(self, "config", None), "workspace_root", None)
        return cast("ToolSource", factory(self._mcp_entries, workspace_root=root))

    def _mcp(self) -> ToolSource:
        """The agent's source, built on first use (``kaizen_builtin`` needs no configuration)."""
        if self._mcp_source is None:
            self._mcp_source = self._new_mcp_source()
        return self._mcp_source

    def _adopt_tools(self, tools: Sequence[Tool]) -> None:
        if self.tools is None:
            from kaizen_core.tools import ToolRegistry

            self.tools = ToolRegistry()
        for found in tools:
            self.tools.register(found, replace=True)

    async def discover_mcp_tools(self, server_name: str | None = None) -> list[Tool]:
        """The tools of MCP server ``server_name`` (None: of every configured server), sorted by name.

        Each is a Tool named ``mcp__<server>__<tool>`` with the server's JSON input schema
        (``tool.parameters``, also ``tool.to_dict()``); it is added to the agent's tools.
        ``"kaizen_builtin"`` lists the 12 builtin tools without any configuration.
        """
        tools = await self._mcp().discover(server_name)
        self._adopt_tools(tools)
        return tools

    async def execute_mcp_tool(self, tool_name: str, params: Mapping[str, Any] | None = None) -> ToolResult:
        """Call MCP tool ``tool_name`` (``mcp__<server>__<tool>``) through the agent's permission gate.

        Same outcome as :meth:`execute_tool`: a ToolResult, ``output`` the structured
        result when the server gives one. The server is listed first if it was not yet.
        """
        agent = cast("BaseAgent", self)
        if agent.tools is None or tool_name not in agent.tools:
            server = _server_of(tool_name)
            if server is not None:
                await self.discover_mcp_tools(server)
        return await agent.execute_tool(tool_name, params)

    async def _connect_mcp(self) -> None:
        """Before a run: the configured servers' tools into the registry (servers start on the first run)."""
        if self._mcp_source is not None and self._mcp_entries:
            self._adopt_tools(await self._mcp_source.run_tools())

    async def _close_mcp(self) -> None:
        if self._mcp_source is not None:
            await self._mcp_source.aclose()


def _server_of(tool_name: str) -> str | None:
    """``"mcp__fs__read"`` -> ``"fs"``; None for a name that is not an MCP tool name."""
    prefix, sep, rest = tool_name.partition("__")
    server, sep2, tool = rest.partition("__")
    return server if prefix == "mcp" and sep and sep2 and server and tool else None
