"""The MCP channel: every served agent is an MCP tool at ``/mcp`` (streamable HTTP), through kaizen-mcp.

kaizen-mcp's server (``kaizen_mcp.server.build_server``) lists the agents as tools and
validates the arguments against their signatures; each ``tools/call`` becomes a run of
this server (the same run manager as ``POST /agents/{name}/runs``), so it is listed in
``GET /runs``, streams events, and its approvals are answered over HTTP like any run.
``/mcp`` needs an API key that may use every agent (``agents = ["*"]``): one MCP
session sees the whole tool list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizen_core.errors import KaizenError
from kaizen_serve.errors import HTTPError, error_response

if TYPE_CHECKING:
    from kaizen_serve.app import ServeContext
    from kaizen_serve.served import ServedAgent

__all__ = ["mcp_routes"]


class _RunsThroughServer:
    """What kaizen-mcp calls for one agent tool: each call is a run of the server's run manager."""

    def __init__(self, ctx: ServeContext, served: ServedAgent) -> None:
        self._ctx = ctx
        self._name = served.name
        self.signature = served.signature
        self.agent_id = served.agent_id or served.name
        self.capability = served.description

    async def run_async(self, **inputs: Any) -> dict[str, Any]:
        runs = self._ctx.runs
        run = await runs.submit(self._name, inputs, key_name="mcp")
        record = await runs.wait(run)
        if record.status == "completed" and record.result is not None:
            return dict(record.result)
        error = record.error or {}
        code = error.get("code") if isinstance(error.get("code"), str) else None
        try:
            raise KaizenError(str(error.get("message") or f"run {record.run_id} {record.status}"), code=code)
        except ValueError:  # not a known code
            raise KaizenError(f"run {record.run_id} {record.status}") from None

    async def aclose(self) -> None:
        return None


def mcp_routes(ctx: ServeContext, host: str = "127.0.0.1") -> list[Any]:
    """The ``/mcp`` route; the SDK's session manager joins the app's lifespan (``ctx.contexts``)."""
    from starlette.requests import Request
    from starlette.routing import Route

    from kaizen_mcp.server import build_server

    agents = {name: _RunsThroughServer(ctx, served) for name, served in ctx.agents.items()}
    server = build_server(agents, builtin=False, name="kaizen-serve")  # type: ignore[arg-type]
    inner = server.streamable_http_app(path="/mcp", host=host)
    endpoint = next(route for route in inner.routes if getattr(route, "path", None) == "/mcp")
    ctx.contexts.append(lambda: server.session_manager.run())

    class Guarded:
        """The SDK's endpoint behind a check that the key may use every agent."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            key = ctx.key_of(Request(scope))
            if "*" not in key.agents:
                refused = HTTPError.forbidden(f"API key {key.name!r} may not use /mcp (it needs agents = ['*'])")
                await error_response(refused)(scope, receive, send)
                return
            await endpoint.app(scope, receive, send)

    return [Route("/mcp", Guarded(), methods=["GET", "POST", "DELETE"])]
