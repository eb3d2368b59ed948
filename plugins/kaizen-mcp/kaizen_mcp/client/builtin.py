"""The ``kaizen_builtin`` server: the 12 builtin tools over MCP, known to every agent by name.

It is ``kaizen mcp serve --transport stdio`` (kaizen_mcp.server) started as a subprocess
with the agent's workspace root as its working directory, i.e. an MCP server like any
other, not an in-process shortcut: the builtin tools then run under the server's own
workspace confinement and HTTP egress policy (the one implementation that ``kaizen mcp
serve`` users get), the agent's permission gate approves each call from the server's
annotations, and a tool that crashes or hangs takes down the server process, not the agent.
The cost is one process start per agent (reused by all its runs).

The server is started with ``--approve always``: the agent's permission gate has already
decided (and asked through the control protocol) before a call is sent, and nobody else
can reach a stdio server. Its tools carry their exact Kaizen danger level in
``_meta["kaizen/danger_level"]``, which this server's entry trusts (``trust_danger_meta``),
so ``mcp__kaizen_builtin__read_file`` is SAFE and ``mcp__kaizen_builtin__delete_file`` HIGH,
exactly as the in-process builtin tools.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kaizen_mcp.client.config import BUILTIN_SERVER, MCPServerConfig

__all__ = ["builtin_server_config"]


def builtin_server_config(workspace_root: str | Path | None = None) -> MCPServerConfig:
    """The stdio configuration of ``kaizen_builtin`` confined to ``workspace_root`` (default: the cwd)."""
    root = str(Path(workspace_root or Path.cwd()).resolve())
    return MCPServerConfig(
        name=BUILTIN_SERVER,
        transport="stdio",
        command=sys.executable,
        # --approve always: the agent's own gate has decided (and asked) before a call is sent;
        # the process is the agent's alone (stdio), so nobody else reaches it.
        args=[
            "-m",
            "kaizen_core.cli",
            "mcp",
            "serve",
            "--transport",
            "stdio",
            "--workspace",
            root,
            "--approve",
            "always",
        ],
        cwd=root,
        trust_danger_meta=True,
    )
