"""The configuration of one MCP server an agent connects to (``mcp_servers=[...]`` entries).

    {"name": "fs", "command": "python", "args": ["-m", "my.server"], "transport": "stdio",
     "env": {"FS_TOKEN": "..."}, "cwd": "/srv", "startup_timeout": 20}
    {"name": "remote", "url": "http://127.0.0.1:8931/mcp", "transport": "streamable-http",
     "headers": {"Authorization": "Bearer ..."}, "danger_levels": {"search": "safe"}}

``transport`` may be left out: a ``command`` means stdio, a ``url`` streamable HTTP. The
same tables work in an agent TOML file (``[[agent.mcp_servers]]``). No MCP SDK import here.

Secrets: every header value, and every ``env`` value whose variable name looks secret
(``*_TOKEN``, ``*_API_KEY``, ``*PASSWORD*``... the pattern of :mod:`kaizen_core.redaction`),
is registered with :func:`kaizen_core.redaction.register_secret` when the entry is
validated, so it is masked in every Kaizen error, log line and tool result; ``repr()``
of the model leaves ``env`` and ``headers`` out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kaizen_core.errors import ConfigError
from kaizen_core.redaction import SECRET_ENV_NAME, register_secret
from kaizen_core.tools import DangerLevel

__all__ = ["BUILTIN_SERVER", "MCPServerConfig", "parse_servers", "tool_name"]

#: The name of the server of the 12 builtin tools (kaizen_mcp.server), known to every agent.
BUILTIN_SERVER = "kaizen_builtin"

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def tool_name(server: str, tool: str) -> str:
    """The agent-side name of ``tool`` of ``server``: ``mcp__<server>__<tool>``."""
    return f"mcp__{server}__{tool}"


class MCPServerConfig(BaseModel):
    """One MCP server: how to reach it, how long to wait for it, how much to trust its tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Server name; its tools are mcp__<name>__<tool>")
    transport: Literal["stdio", "streamable-http"] | None = Field(
        default=None, description="stdio (a command) or streamable-http (a url); inferred when left out"
    )
    command: str | None = Field(default=None, description="stdio: the program to start")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments")
    env: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description="stdio: variables set on top of the SDK's safe default environment",
    )
    cwd: str | None = Field(default=None, description="stdio: working directory of the server process")
    url: str | None = Field(default=None, description="streamable-http: the endpoint, e.g. http://127.0.0.1:8931/mcp")
    headers: dict[str, str] = Field(default_factory=dict, repr=False, description="streamable-http: request headers")
    danger_levels: dict[str, DangerLevel] = Field(
        default_factory=dict,
        description="per-tool danger level overriding the server's annotations (tool name as the server names it, "
        "'*' for every tool of the server)",
    )
    trust_danger_meta: bool = Field(
        default=False,
        description="take a tool's exact Kaizen level from _meta['kaizen/danger_level'] (servers run by "
        "kaizen mcp serve) instead of the coarse hints; only for servers you trust",
    )
    startup_timeout: float = Field(
        default=30.0, gt=0, description="seconds to start the server and finish the handshake"
    )
    call_timeout: float | None = Field(
        default=None, gt=0, description="seconds per request (None: no limit of its own)"
    )
    max_restarts: int = Field(default=1, ge=0, description="times a server that died is started again")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value) or "__" in value:
            raise ValueError("use letters, digits, '_' and '-' (no '__', which separates the parts of a tool name)")
        return value

    @model_validator(mode="after")
    def _transport_fits(self) -> Self:
        transport = self.transport or ("stdio" if self.command else "streamable-http" if self.url else None)
        if transport is None:
            raise ValueError("give a command (stdio) or a url (streamable-http)")
        if transport == "stdio" and (not self.command or self.url or self.headers):
            raise ValueError("a stdio server needs a command, and takes no url or headers")
        if transport == "streamable-http" and (not self.url or self.command or self.args or self.env or self.cwd):
            raise ValueError("a streamable-http server needs a url, and takes no command, args, env or cwd")
        object.__setattr__(self, "transport", transport)
        register_secret(*self.headers.values())
        register_secret(*(v for k, v in self.env.items() if SECRET_ENV_NAME.search(k.upper())))
        return self

    def danger_override(self, tool: str) -> DangerLevel | None:
        """The configured danger level of ``tool`` (its own entry, else ``'*'``), or None."""
        return self.danger_levels.get(tool, self.danger_levels.get("*"))


def parse_servers(
    servers: Sequence[Mapping[str, Any] | MCPServerConfig | str], *, workspace_root: str | Path | None = None
) -> dict[str, MCPServerConfig]:
    """Validate ``mcp_servers`` entries into configs by name (ConfigError, KAIZEN_002, naming the entry).

    A string names a server Kaizen knows without configuration: ``"kaizen_builtin"`` (confined
    to ``workspace_root``, the agent's, default the current directory).
    """
    from kaizen_mcp.client.builtin import builtin_server_config

    out: dict[str, MCPServerConfig] = {}
    for index, entry in enumerate(servers):
        if isinstance(entry, str) or (isinstance(entry, Mapping) and set(entry) == {"name"}):
            name = entry if isinstance(entry, str) else str(entry["name"])
            if name != BUILTIN_SERVER:
                raise ConfigError(
                    f"mcp_servers[{index}]: {name!r} is not a server Kaizen knows by name",
                    hint=f"give a command (stdio) or a url (streamable-http); only {BUILTIN_SERVER!r} needs neither",
                )
            config = builtin_server_config(workspace_root)
        elif isinstance(entry, MCPServerConfig):
            config = entry
        elif isinstance(entry, Mapping):
            try:
                config = MCPServerConfig.model_validate(dict(entry))
            except ValidationError as exc:
                label = entry.get("name", index)
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
                )
                raise ConfigError(f"mcp_servers[{label!r}]: {problems}") from None
        else:
            raise ConfigError(f"mcp_servers[{index}] must be a table/dict or a server name, got {type(entry).__name__}")
        if config.name in out:
            raise ConfigError(f"mcp_servers: two servers are named {config.name!r}", hint="give each a unique name")
        out[config.name] = config
    return out
