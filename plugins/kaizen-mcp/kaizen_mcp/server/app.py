"""The MCP server on the SDK's low-level ``mcp.server.Server`` (mcp 2.x), over stdio or streamable HTTP.

    server = build_server({"qa": load_agent("agent.toml")}, workspace="./data")
    await server.run_stdio()                                  # kaizen mcp serve
    await server.run_streamable_http("127.0.0.1", 8765)       # ... --transport streamable-http
    app = streamable_http_app(server)                         # an ASGI app serving /mcp

The low-level server is used (not ``MCPServer``) because every tool's schema already
exists as JSON (a Kaizen tool's parameters, an agent's signature): nothing is inferred
from Python functions, and ``tools/call`` goes to the host agent's permission-gated path
(:mod:`kaizen_mcp.server.catalog`).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError, KaizenError, PermissionDeniedError, RuntimeExecutionError
from kaizen_core.redaction import redacted_traceback, register_secret
from kaizen_core.tools import ToolContext
from kaizen_mcp.server.catalog import ServerPolicy, build_host, error_result, mcp_tool, to_call_result

if TYPE_CHECKING:
    import mcp_types
    from mcp.server import Server, ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette

    from kaizen_core.agents.base import BaseAgent

__all__ = ["BUILTIN_SERVER_NAME", "BearerKeyMiddleware", "KaizenMCPServer", "build_server", "streamable_http_app"]

logger = logging.getLogger("kaizen_mcp.server")

#: The server name of the built-in tools, as the documentation calls it (``mcp__kaizen_builtin__read_file``).
BUILTIN_SERVER_NAME = "kaizen_builtin"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kaizen-mcp")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


class KaizenMCPServer:
    """Kaizen tools and agents behind one SDK ``Server`` (:attr:`lowlevel`).

    Build it with :func:`build_server`. :meth:`call_tool` is what ``tools/call`` runs,
    usable in-process too; :meth:`aclose` closes the served agents (the ``run_*``
    methods do it when they return).
    """

    def __init__(self, host: BaseAgent, *, name: str) -> None:
        from mcp.server import Server

        self.host = host
        self.name = name
        assert host.tools is not None
        self._tools = {tool.name: tool for tool in host.tools.discover()}
        self._listed = [mcp_tool(tool) for tool in self._tools.values()]
        self.lowlevel: Server[Any] = Server(
            name,
            version=_version(),
            instructions="Kaizen tools and agents; every call passes the Kaizen permission gate.",
            on_list_tools=self._on_list_tools,
            on_call_tool=self._on_call_tool,
            get_tool_input_schema=self._input_schema,
        )

    # --- catalog ----------------------------------------------------------------------------
    def list_tools(self) -> list[mcp_types.Tool]:
        """The served tools as MCP tool definitions (the ``tools/list`` answer)."""
        return list(self._listed)

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> mcp_types.CallToolResult:
        """Run ``name`` through the host agent's permission gate; every failure is an MCP error result.

        A tool's own failure carries its Kaizen code (EXEC_001 bad arguments or unknown tool,
        EXEC_004 the tool failed, EXEC_005 denied: permission, workspace or egress policy).
        A failure of Kaizen itself is EXEC_003, logged with a redacted traceback; no
        traceback or secret reaches the client.
        """
        try:
            result = await self.host.execute_tool(name, dict(arguments or {}))
        except KaizenError as exc:
            return error_result(exc.code, f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        except Exception as exc:  # a bug must not take the server down nor reach the client as text
            logger.error("tool %r failed inside the server: %s", name, redacted_traceback(exc))
            return error_result(RuntimeExecutionError.code, f"internal error while running tool {name!r}")
        return to_call_result(result)

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        tool = self._tools.get(name)
        return None if tool is None else tool.parameters

    async def _on_list_tools(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        import mcp_types

        return mcp_types.ListToolsResult(tools=self.list_tools())

    async def _on_call_tool(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        return await self.call_tool(params.name, params.arguments)

    # --- transports -------------------------------------------------------------------------
    async def run_stdio(self) -> None:
        """Serve one client on this process's stdin/stdout until it disconnects."""
        from mcp.server.stdio import stdio_server

        try:
            async with stdio_server() as (read_stream, write_stream):
                await self.lowlevel.run(read_stream, write_stream, self.lowlevel.create_initialization_options())
        finally:
            await self.aclose()

    def streamable_http_app(
        self, *, path: str = "/mcp", host: str = "127.0.0.1", api_key: str | None = None
    ) -> Starlette:
        """A Starlette app serving MCP streamable HTTP at ``path`` (see :func:`streamable_http_app`)."""
        app = self.lowlevel.streamable_http_app(streamable_http_path=path, host=host)
        if api_key is not None:
            if not api_key:
                raise ConfigError("the API key is empty", hint="give a non-empty key, or none")
            register_secret(api_key)  # never in a log or an error text
            app.add_middleware(BearerKeyMiddleware, key=api_key)
        return app

    @property
    def session_manager(self) -> StreamableHTTPSessionManager:
        """The SDK's session manager of the app made by :meth:`streamable_http_app`.

        An app mounted inside another ASGI app must run ``async with server.session_manager.run():``
        in the outer app's lifespan (mounted apps' own lifespans do not run).
        """
        return self.lowlevel.session_manager

    async def run_streamable_http(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        path: str = "/mcp",
        api_key: str | None = None,
        ready: Callable[[str], None] | None = None,
    ) -> None:
        """Serve streamable HTTP on ``host:port`` at ``path`` until stopped (SIGINT/SIGTERM).

        ``port=0`` takes a free port. ``api_key``: every request must carry
        ``Authorization: Bearer <key>``. ``ready`` is called with the endpoint's URL once the
        socket listens (connections made from then on wait in its backlog, none is refused).
        """
        import socket

        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
        try:
            bound = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            if ready is not None:
                ready(f"http://{shown}:{bound}{path}")
            app = self.streamable_http_app(path=path, host=host, api_key=api_key)
            config = uvicorn.Config(app, log_level="warning", lifespan="on")
            await uvicorn.Server(config).serve(sockets=[sock])
        finally:
            sock.close()
            await self.aclose()

    async def aclose(self) -> None:
        """Close the served agents' providers and the host agent. Safe to call twice."""
        from kaizen_mcp.server.catalog import AgentTool

        for tool in self._tools.values():
            if isinstance(tool, AgentTool):
                await tool.agent.aclose()
        await self.host.aclose()


def build_server(
    agents: Mapping[str, BaseAgent] | None = None,
    *,
    builtin: bool = True,
    workspace: str | os.PathLike[str] | None = None,
    tool_context: ToolContext | None = None,
    policy: ServerPolicy | None = None,
    name: str | None = None,
) -> KaizenMCPServer:
    """A server exposing the built-in tools (``builtin``) and ``agents`` (tool name -> agent).

    ``workspace``: the directory the file tools and ``bash_command`` are confined to
    (default: ``tool_context``'s, else the current directory). ``tool_context``: the
    built-in tools' limits (``allowed_hosts`` for the HTTP egress policy, timeouts...).
    ``policy``: the permission policy (default: only SAFE and LOW tools run, see
    :class:`~kaizen_mcp.server.catalog.ServerPolicy`). ``name``: the MCP server name
    (default ``kaizen_builtin`` with the built-in tools, else ``kaizen``).
    """
    context = tool_context.model_copy() if tool_context is not None else ToolContext()
    if workspace is not None:
        root = Path(workspace)
        if not root.is_dir():
            raise ConfigError(f"workspace {str(root)!r} is not a directory", hint="create it or pass another one")
        context.workspace_root = root.resolve()
    host = build_host(agents, builtin=builtin, context=context, policy=policy)
    return KaizenMCPServer(host, name=name or (BUILTIN_SERVER_NAME if builtin else "kaizen"))


def streamable_http_app(
    server: KaizenMCPServer, *, path: str = "/mcp", host: str = "127.0.0.1", api_key: str | None = None
) -> Starlette:
    """An ASGI (Starlette) app serving ``server`` over MCP streamable HTTP at ``path``.

    Its lifespan runs the SDK's session manager. ``host`` is where it listens: for
    loopback hosts the SDK turns on DNS-rebinding protection (only ``Host`` headers of
    127.0.0.1/localhost/[::1] are accepted). ``api_key``: requests without
    ``Authorization: Bearer <key>`` get 401 (:class:`BearerKeyMiddleware`). To add the
    endpoint to an existing app, add this app's routes to it and enter
    ``server.session_manager.run()`` in its lifespan (the outer app's own auth applies then).
    """
    return server.streamable_http_app(path=path, host=host, api_key=api_key)


class BearerKeyMiddleware:
    """ASGI middleware: HTTP requests must carry ``Authorization: Bearer <key>`` (compared in constant time).

    Anything else gets ``401`` with ``WWW-Authenticate: Bearer`` and a JSON body
    ``{"error": {"code": "EXEC_005", "message": ...}}`` that never repeats what was sent.
    Lifespan events pass through.
    """

    def __init__(self, app: Any, *, key: str) -> None:
        self.app = app
        self._expected = f"Bearer {key}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = json.dumps(
                    {"error": {"code": PermissionDeniedError.code, "message": "missing or wrong API key"}}
                ).encode()
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
