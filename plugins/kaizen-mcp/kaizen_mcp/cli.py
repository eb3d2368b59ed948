"""``kaizen mcp ...``: the kaizen-mcp commands, added to ``kaizen`` through ``register_cli_commands``.

    kaizen mcp serve                                   # the 12 built-in tools over stdio
    kaizen mcp serve --workspace ./data agent.toml     # ... and the agent of agent.toml
    kaizen mcp serve --transport streamable-http --port 8765 agent.toml

The server and the SDK are imported only when ``serve`` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent

__all__ = ["mcp", "serve"]


@click.group()
def mcp() -> None:
    """Model Context Protocol: serve Kaizen tools and agents to MCP clients."""


@mcp.command()
@click.argument("agent_files", nargs=-1, type=click.Path(dir_okay=False), metavar="[AGENT.toml ...]")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "streamable-http"]),
    default="stdio",
    show_default=True,
    help="stdio: one client on stdin/stdout; streamable-http: an HTTP endpoint",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="streamable-http: address to listen on")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="streamable-http: port (0: a free one; the URL is printed on stderr once it listens)",
)
@click.option(
    "--api-key-env",
    metavar="VAR",
    help="streamable-http: require 'Authorization: Bearer <key>', the key read from this environment variable",
)
@click.option("--path", "http_path", default="/mcp", show_default=True, help="streamable-http: endpoint path")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, exists=True),
    default=".",
    show_default=True,
    help="directory the file tools and bash_command are confined to (also the agents' default)",
)
@click.option("--no-builtin", is_flag=True, help="serve only the agents, not the 12 built-in tools")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, exists=True),
    help="TOML file whose [policy] table sets the permissions (the options below add to it)",
)
@click.option(
    "--approve",
    type=click.Choice(["never", "always"]),
    default=None,
    help="what a call needing approval (MEDIUM+ tools) gets: never = refused, always = allowed [default: never]",
)
@click.option(
    "--allow-tool", "allowed", multiple=True, metavar="NAME", help="run this tool without approval (repeatable)"
)
@click.option("--deny-tool", "denied", multiple=True, metavar="NAME", help="never run this tool (repeatable)")
@click.option(
    "--permission-mode",
    type=click.Choice(["default", "accept_edits", "plan", "bypass"]),
    default=None,
    help="permission mode of every call (plan: read-only tools only) [default: default]",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="internal host the HTTP tools may reach (repeatable; public hosts need no entry)",
)
@click.option(
    "--hook", "hooks", multiple=True, metavar="NAME", help="lifecycle hook on every call, e.g. audit (repeatable)"
)
@click.option(
    "--tool-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="a call still running after this answers EXEC_004 (agents included) [default: none]",
)
@click.option("--name", "server_name", default=None, help="MCP server name [default: kaizen_builtin]")
def serve(
    agent_files: tuple[str, ...],
    transport: str,
    host: str,
    port: int,
    http_path: str,
    api_key_env: str | None,
    workspace: str,
    no_builtin: bool,
    policy_file: str | None,
    approve: str | None,
    allowed: tuple[str, ...],
    denied: tuple[str, ...],
    permission_mode: str | None,
    allowed_hosts: tuple[str, ...],
    hooks: tuple[str, ...],
    tool_timeout: float | None,
    server_name: str | None,
) -> int:
    """Serve the built-in tools and the agents of AGENT.toml files over MCP.

    Each agent is one tool (named by its [agent] id, else the file name) taking its
    signature's inputs and returning its typed outputs. Every call passes the Kaizen
    permission gate: with the defaults only SAFE and LOW tools run (read_file,
    list_directory, file_exists, http_get, fetch_url, extract_links, the agents);
    write_file, http_post/put (MEDIUM) and delete_file, http_delete, bash_command (HIGH)
    need --allow-tool NAME or --approve always (or a --policy file).

    \b
    Examples:
      kaizen mcp serve --workspace ./data
      kaizen mcp serve --transport streamable-http --port 8765 agent.toml
    """
    import anyio

    from kaizen_core.tools import ToolContext
    from kaizen_core.tools.netpolicy import is_loopback_host
    from kaizen_mcp.server import ServerPolicy, build_server

    root = Path(workspace).resolve()
    agents: dict[str, BaseAgent] = {}
    for file in agent_files:
        name, agent = _load(file, root)
        if name in agents:
            from kaizen_core.errors import ConfigError

            raise ConfigError(
                f"two agent files give the tool name {name!r} ({file!r} is the second)", hint="set another [agent] id"
            )
        agents[name] = agent
    base = ServerPolicy.from_toml(policy_file) if policy_file else ServerPolicy()
    policy = base.model_copy(
        update={
            "permission_mode": permission_mode or base.permission_mode,
            "approve": approve or base.approve,
            "allowed_tools": _joined(base.allowed_tools, allowed),
            "denied_tools": _joined(base.denied_tools, denied),
            "hooks": [*base.hooks, *hooks],
        }
    )
    context = ToolContext(workspace_root=root, allowed_hosts=list(allowed_hosts), tool_timeout=tool_timeout)
    server = build_server(agents, builtin=not no_builtin, tool_context=context, policy=policy, name=server_name)
    if transport == "stdio":
        anyio.run(server.run_stdio)
        return 0
    api_key = _api_key(api_key_env)
    if not is_loopback_host(host) and api_key is None:
        _say(
            f"warning: listening on {host}: the MCP endpoint has no authentication (see --api-key-env); anyone who reaches it can call the tools"
        )
    count = len(server.list_tools())

    def ready(url: str) -> None:
        _say(f"kaizen mcp serve: {server.name} on {url} ({count} tools)")

    anyio.run(lambda: server.run_streamable_http(host, port, path=http_path, api_key=api_key, ready=ready))
    return 0


def _load(file: str, workspace: Path) -> tuple[str, BaseAgent]:
    """The agent of ``file`` and its tool name ([agent] id or name, else the file's stem).

    An agent whose file sets no ``workspace_root`` gets the server's workspace.
    """
    from kaizen_core.agent_loader import load_agent, load_agent_config

    section = load_agent_config(file)
    name = str(section.get("id") or section.get("name") or Path(file).stem)
    overrides: dict[str, Any] = {} if section.get("workspace_root") else {"workspace_root": str(workspace)}
    return name, load_agent(file, **overrides)


def _api_key(variable: str | None) -> str | None:
    """The API key held by environment variable ``variable`` (never given on the command line)."""
    if variable is None:
        return None
    import os

    from kaizen_core.errors import ConfigError

    key = os.environ.get(variable, "")
    if not key:
        raise ConfigError(f"--api-key-env: environment variable {variable!r} is not set or empty")
    return key


def _joined(listed: list[str] | None, added: tuple[str, ...]) -> list[str] | None:
    """A policy list plus the names given on the command line (None when both are empty)."""
    names = [*(listed or []), *added]
    return names or None


def _say(text: str) -> None:
    """A status line on stderr (stdout is the stdio transport's)."""
    print(text, file=sys.stderr, flush=True)
