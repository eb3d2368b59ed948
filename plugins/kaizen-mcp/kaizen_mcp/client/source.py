"""MCPToolSource: the MCP servers of one agent, the ``mcp`` tool source kaizen-mcp registers.

The core builds one per agent (``BaseAgent(..., mcp_servers=[...])`` or the ``mcp_servers``
config field, also from TOML) and calls it through the tool-source protocol of
:mod:`kaizen_core.agents.mcp_methods`:

* :meth:`run_tools` before each run: the tools of the *configured* servers (listed once,
  then cached: the processes are reused across runs), which the agent adds to its
  registry so the model is offered them;
* :meth:`discover` for ``agent.discover_mcp_tools(server_name=None)``: a fresh listing of
  one server (``"kaizen_builtin"`` works without configuration) or of every configured one;
* :meth:`aclose` from ``agent.aclose()`` / ``agent.close()``: every server stopped.

Connections live on Kaizen's background loop (see :mod:`kaizen_mcp.client.connection`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError
from kaizen_mcp.client.config import BUILTIN_SERVER, MCPServerConfig, parse_servers
from kaizen_mcp.client.connection import ServerConnection, on_background
from kaizen_mcp.client.tools import MCPTool

if TYPE_CHECKING:
    from mcp_types import CallToolResult

__all__ = ["MCPToolSource"]


class MCPToolSource:
    """The MCP servers of one agent and the tools they offer."""

    def __init__(
        self,
        servers: Sequence[Mapping[str, Any] | MCPServerConfig | str] = (),
        *,
        workspace_root: str | Path | None = None,
    ) -> None:
        self.workspace_root = Path(workspace_root) if workspace_root is not None else None
        self.configs: dict[str, MCPServerConfig] = parse_servers(servers, workspace_root=self.workspace_root)
        self._connections: dict[str, ServerConnection] = {}
        self._listed: dict[str, list[MCPTool]] = {}
        # An agent dropped without close() still stops its servers (on the background loop).
        self._finalizer = weakref.finalize(self, _close_later, self._connections)

    @property
    def servers(self) -> list[str]:
        """The configured servers' names (those whose tools every run offers the model)."""
        return list(self.configs)

    def config(self, server: str) -> MCPServerConfig:
        """The configuration of ``server``; ``kaizen_builtin`` is known without one (ConfigError otherwise)."""
        if server in self.configs:
            return self.configs[server]
        if server == BUILTIN_SERVER:
            from kaizen_mcp.client.builtin import builtin_server_config

            self.configs[server] = builtin_server_config(self.workspace_root)
            return self.configs[server]
        known = ", ".join([*self.configs, *([] if BUILTIN_SERVER in self.configs else [BUILTIN_SERVER])])
        raise ConfigError(f"no MCP server named {server!r} (known: {known})", hint="add it to mcp_servers")

    async def run_tools(self) -> list[MCPTool]:
        """The tools of every configured server, listed on first use and then reused."""
        tools: list[MCPTool] = []
        for server in self.configs:
            if server not in self._listed:
                await self.discover(server)
            tools.extend(self._listed[server])
        return tools

    async def discover(self, server_name: str | None = None) -> list[MCPTool]:
        """List the tools of ``server_name`` (None: every configured server), asking the servers now."""
        names = [server_name] if server_name is not None else list(self.configs)
        found: list[MCPTool] = []
        for name in names:
            config = self.config(name)
            specs = await on_background(self._connection(name).list_tools)
            self._listed[name] = [MCPTool(self, config, spec) for spec in specs]
            found.extend(self._listed[name])
        return sorted(found, key=lambda t: t.name)

    async def call(self, server: str, tool: str, arguments: dict[str, Any], *, repeatable: bool) -> CallToolResult:
        """Call ``tool`` of ``server`` (only :class:`MCPTool` does, once the agent's gate allowed the call)."""
        connection = self._connection(server)
        return await on_background(lambda: connection.call_tool(tool, arguments, repeatable=repeatable))

    def connection(self, server: str) -> ServerConnection | None:
        """The live or dead connection to ``server``, if one was made (diagnostics, tests)."""
        return self._connections.get(server)

    def _connection(self, server: str) -> ServerConnection:
        connection = self._connections.get(server)
        if connection is None:
            connection = self._connections[server] = ServerConnection(self.config(server))
        return connection

    async def aclose(self) -> None:
        """Stop every server this source started. Safe to call twice; a later use starts them again."""
        connections = list(self._connections.values())
        self._connections.clear()
        self._listed.clear()
        if connections:
            await on_background(_close_all, connections)


async def _close_all(connections: list[ServerConnection]) -> None:
    for connection in connections:
        await connection.close()


def _close_later(connections: dict[str, ServerConnection]) -> None:
    """Finalizer: schedule the close of forgotten connections on the background loop."""
    if not connections:
        return
    import asyncio

    from kaizen_core._sync import background_loop

    pending = list(connections.values())
    connections.clear()
    try:
        loop = background_loop()
        asyncio.run_coroutine_threadsafe(_close_all(pending), loop)
    except RuntimeError:  # interpreter shutdown: the SDK's processes see stdin close and exit
        pass
