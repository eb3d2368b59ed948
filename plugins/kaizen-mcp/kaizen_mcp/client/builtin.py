"""The ``kaizen_builtin`` server: the 12 builtin tools over MCP, known to every agent by name.

It is ``kaizen mcp serve --transport stdio`` (kaizen_mcp.server) started as a subprocess
with the agent's workspace root as its working directory, i.e. an MCP server like any
other, not an in-process shortcut: the builtin tools then run under the server's own
workspace confinement and HTTP egress policy (the one implementation that ``kaizen mcp
serve`` users get), the agent's permission gate approves each call from the server's
annotations, and a tool that crashes or hangs takes down the server process, not the agent.
The cost is one process start per agent (reused by all its runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kaizen_mcp.client.config import BUILTIN_SERVER, MCPServerConfig

__all__ = ["builtin_server_config"]


def builtin_server_config(workspace_root: str | Path | None = None) -> MCPServerConfig:
    """The stdio configuration of ``kaizen_builtin`` confined to ``workspace_root`` (default: the cwd)."""
    return MCPServerConfig(
        name=BUILTIN_SERVER,
        transport="stdio",
        command=sys.executable,
        args=["-m", "kaizen_core.cli", "mcp", "serve", "--transport", "stdio"],
        cwd=str(Path(workspace_root or Path.cwd()).resolve()),
    )
