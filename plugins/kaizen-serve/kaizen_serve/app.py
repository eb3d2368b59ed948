"""``create_app``: the Starlette application serving Kaizen agents over HTTP.

    from kaizen_serve import create_app
    app = create_app(agents=["agent.toml"], api_keys={"ci": os.environ["KEY"]},
                     storage="sqlite:///serve.db")           # then: uvicorn module:app

Routes (all JSON, coded errors; every route needs ``Authorization: Bearer <key>`` unless
``insecure_no_auth``; ``/healthz`` is public):

    GET  /healthz                               liveness
    GET  /openapi.json                          the OpenAPI document (from the signatures)
    GET  /agents, /agents/{name}                served agents and their schemas
    POST /agents/{name}/runs[?wait=true]        start a run (202 + id) or wait for its result (200)
    POST /workflows/{name}                      the same (the Nexus path)
    GET  /runs[?agent=&status=&limit=]          runs, newest first
    GET  /runs/{id}                             status and result
    GET  /runs/{id}/events                      Server-Sent Events (Last-Event-ID resumes)
    POST /runs/{id}/interrupt                   stop gracefully (a checkpoint is left)
    POST /runs/{id}/responses/{request_id}      answer an approval or a question
    /mcp                                        MCP (streamable HTTP) when kaizen-mcp is installed

Extension point (the dashboard and A2A modules of this package use it): for each module
in :data:`EXTENSIONS` that is importable, ``module.routes(ctx: ServeContext)`` returns
Starlette routes added to the app; it may add path prefixes to ``ctx.public_paths``
(reachable without an API key: the module then authenticates those itself, e.g. with
``ctx.authenticate(request)``) and lifespan callbacks to ``ctx.on_startup`` /
``ctx.on_shutdown``.

The app's lifespan must run (uvicorn and every ASGI server do): it opens the run store,
starts the run manager and, on shutdown, interrupts the runs still going so the next
server on the same storage URL resumes them.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kaizen_core.errors import ConfigError, InputValidationError, KaizenError
from kaizen_serve.auth import APIKey, KeyRing
from kaizen_serve.errors import HTTPError, error_body, error_response
from kaizen_serve.limits import BodyLimitMiddleware, Limits, StreamSlots
from kaizen_serve.runs import RunManager
from kaizen_serve.served import ServedAgent, load_served
from kaizen_serve.store import RUN_STATUSES, TERMINAL, RunStore

__all__ = ["DEFAULT_STORAGE", "EXTENSIONS", "ServeContext", "create_app"]

logger = logging.getLogger("kaizen.serve")

#: Where runs and checkpoints go when no storage URL is given.
DEFAULT_STORAGE = "sqlite:///.kaizen/serve.db"
#: Optional modules adding routes (``routes(ctx) -> list[BaseRoute]``), in mount order.
EXTENSIONS = ("kaizen_serve.a2a", "kaizen_serve.dashboard")


@dataclass
class ServeContext:
    """What routes need: the agents, the run manager, the keys, the limits."""

    agents: dict[str, ServedAgent]
    runs: RunManager
    keys: KeyRing
    limits: Limits
    streams: StreamSlots
    storage_url: str
    #: Path prefixes reachable without a key (the route checks access itself).
    public_paths: list[str] = field(default_factory=lambda: ["/healthz"])
    on_startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: Async context managers (factories) entered for the app's lifetime, e.g. an SDK's session manager.
    contexts: list[Callable[[], contextlib.AbstractAsyncContextManager[Any]]] = field(default_factory=list)

    def authenticate(self, request: Any) -> APIKey | None:
        """The key of ``request`` (None without a valid one; a wildcard key when auth is off)."""
        if self.keys.insecure:
            return APIKey(name="anonymous", sha256="0" * 64)
        return self.keys.authenticate(request.headers.get("authorization"))

    def key_of(self, request: Any) -> APIKey:
        """The authenticated key of ``request`` (set by the auth middleware), or 401."""
        key = request.scope.get("state", {}).get("api_key") or self.authenticate(request)
        if key is None:
            raise HTTPError.unauthorized()
        return key

    def allowed(self, request: Any, agent: str) -> APIKey:
        """The key of ``request`` when it may use ``agent``; 403 otherwise."""
        key = self.key_of(request)
        if not key.allows(agent):
            raise HTTPError.forbidden(f"API key {key.name!r} may not use agent {agent!r}")
        return key

    def is_public(self, path: str) -> bool:
        # "/" (the dashboard page) is public as an exact path only, never as a prefix of every path.
        return any(path == p or (p != "/" and path.startswith(p.rstrip("/") + "/")) for p in self.public_paths)


class _AuthMiddleware:
    """Refuses every request without a valid key (401) except under ``ctx.public_paths``."""

    def __init__(self, app: Any, ctx: ServeContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.ctx.is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        key = self.ctx.authenticate(Request(scope))
        if key is None:
            await error_response(HTTPError.unauthorized())(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)


class _CatchAllMiddleware:
    """The last line: an unexpected exception is logged redacted and answered EXEC_003 (an
    :class:`HTTPError` raised by a middleware inside it, with its own status).

    Starlette's own last resort re-raises into the server, which would log the raw
    traceback (with whatever secret an exception message holds); this answers first.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            response = error_response(exc)  # an HTTPError with its status; others 500, logged redacted
            if not started:
                await response(scope, receive, send)


async def _json_body(request: Any, *, required: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise HTTPError.bad_request("a JSON object body is required", status=422)
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPError.bad_request("the body is not valid JSON", status=400) from None
    if not isinstance(data, dict):
        raise HTTPError.bad_request("the body must be a JSON object", status=422)
    return data


def _bool_param(request: Any, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise HTTPError.bad_request(f"query parameter {name!r} must be true or false", status=400)


def create_app(
    agents: dict[str, Any] | list[Any] | None = None,
    pipelines: dict[str, Any] | None = None,
    *,
    api_keys: KeyRing | dict[str, str] | list[str] | None = None,
    insecure_no_auth: bool = False,
    storage: str | None = None,
    limits: Limits | None = None,
    worker_id: str | None = None,
    poll_interval: float = 0.2,
    worker_lease: float = 30.0,
    mcp: bool = True,
    host: str = "127.0.0.1",
) -> Any:
    """The ASGI app serving ``agents`` and ``pipelines`` (see the module docstring).

    ``agents``: TOML paths, agent instances, or a dict name -> either. ``api_keys``: a
    :class:`KeyRing` (e.g. ``KeyRing.from_file``) or keys in the clear (``{"name": key}``);
    without keys every request is refused unless ``insecure_no_auth``. ``storage``: the
    URL of runs, events and (for TOML agents without their own) checkpoints; default
    :data:`DEFAULT_STORAGE`. ``mcp``: mount kaizen-mcp's server at ``/mcp`` when installed.
    ``host``: the host the server listens on (the MCP endpoint checks ``Host`` headers against it).
    ``worker_lease``: seconds without a heartbeat after which another server process on the
    same storage takes this one for dead and resumes its unfinished runs.
    """
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import BaseRoute, Route

    storage_url = storage or DEFAULT_STORAGE
    served = load_served(agents, pipelines, storage_url)
    if not served:
        raise ConfigError("create_app: no agents to serve", hint="pass agents=['agent.toml'] or agent objects")
    keys = api_keys if isinstance(api_keys, KeyRing) else KeyRing.from_keys(api_keys or {})
    keys.insecure = keys.insecure or insecure_no_auth
    limits = limits or Limits()
    manager = RunManager(
        served, RunStore.from_url(storage_url), worker_id=worker_id, poll_interval=poll_interval, lease=worker_lease
    )
    ctx = ServeContext(served, manager, keys, limits, StreamSlots(limits.max_streams), storage_url)

    from kaizen_serve.openapi import build_openapi

    openapi = build_openapi(served)

    def agent_info(item: ServedAgent) -> dict[str, Any]:
        return {
            "name": item.name,
            "kind": item.kind,
            "autonomous": item.autonomous,
            "description": item.description,
            "input_schema": item.signature.input_model().model_json_schema(),
            "output_schema": item.signature.output_schema(),
        }

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "worker": manager.worker_id, "agents": len(served)})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def list_agents(request: Request) -> Response:
        key = ctx.key_of(request)
        return JSONResponse({"agents": [agent_info(a) for a in served.values() if key.allows(a.name)]})

    async def describe_agent(request: Request) -> Response:
        name = request.path_params["name"]
        item = manager.served(name)
        ctx.allowed(request, name)
        return JSONResponse(agent_info(item))

    async def start_run(request: Request) -> Response:
        name = request.path_params["name"]
        manager.served(name)
        key = ctx.allowed(request, name)
        wait = _bool_param(request, "wait")
        timeout = _timeout_param(request)
        body = await _json_body(request)
        extra = sorted(set(body) - {"inputs"})
        if extra:
            raise HTTPError(
                422, InputValidationError(f"unknown body field(s): {', '.join(extra)}", hint='send {"inputs": {...}}')
            )
        inputs = body.get("inputs")
        if not isinstance(inputs, dict):
            raise HTTPError(422, InputValidationError("'inputs' must be a JSON object of the agent's input fields"))
        run = await manager.submit(name, inputs, key_name=key.name)
        if not wait:
            return JSONResponse(
                run.record.public(), status_code=202, headers={"Location": f"/runs/{run.record.run_id}"}
            )
        with _move_on(timeout):
            await manager.wait(run)
        record = run.record
        if record.status == "completed":
            return JSONResponse(record.public(), status_code=200)
        if record.status not in TERMINAL:
            return JSONResponse(record.public(), status_code=202, headers={"Location": f"/runs/{record.run_id}"})
        status = 409 if record.status == "interrupted" else _status_of(record.error)
        body_out = {"error": {**(record.error or {}), "run_id": record.run_id}}
        return JSONResponse(body_out, status_code=status)

    async def list_runs(request: Request) -> Response:
        key = ctx.key_of(request)
        agent = request.query_params.get("agent")
        status = request.query_params.get("status")
        if status is not None and status not in RUN_STATUSES:
            raise HTTPError.bad_request(f"status must be one of {', '.join(RUN_STATUSES)}")
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            raise HTTPError.bad_request("limit must be an integer") from None
        if not 1 <= limit <= limits.max_list:
            raise HTTPError.bad_request(f"limit must be between 1 and {limits.max_list}")
        names = {a for a in served if key.allows(a)} if "*" not in key.agents else None
        if agent is not None:
            names = {agent} & (names if names is not None else {agent})
        records = await manager.store.list_runs(limit=limit, agents=names, status=status)
        return JSONResponse({"runs": [r.public() for r in records]})

    async def run_for(request: Request) -> Any:
        record = await manager.get(request.path_params["run_id"])
        ctx.allowed(request, record.agent)
        return record

    async def get_run(request: Request) -> Response:
        return JSONResponse((await run_for(request)).public())

    async def run_events(request: Request) -> Response:
        record = await run_for(request)
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id") or "0"
        if not (last.isascii() and last.isdigit()):  # what the document says: ^[0-9]+$ (int() takes more)
            raise HTTPError.bad_request("Last-Event-ID must be an event id (a non-negative integer)")
        after = int(last)
        ctx.streams.acquire()

        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 1000\n\n"
                async for event in manager.events(record.run_id, after):
                    if event is None:
                        yield b": keep-alive\n\n"
                        continue
                    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
                    yield f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()
            finally:
                ctx.streams.release()

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    async def interrupt_run(request: Request) -> Response:
        record = await run_for(request)
        body = await _json_body(request, required=False)
        extra = sorted(set(body) - {"mode", "message"})
        mode = body.get("mode", "graceful")
        message = body.get("message", "")
        if extra or mode not in ("graceful", "immediate") or not isinstance(message, str) or len(message) > 500:
            raise HTTPError(422, InputValidationError("body: {'mode': 'graceful'|'immediate', 'message': str}"))
        record = await manager.interrupt(record.run_id, mode, message)
        return JSONResponse(record.public(), status_code=202)

    async def answer_request(request: Request) -> Response:
        record = await run_for(request)
        key = ctx.key_of(request)
        body = await _json_body(request)
        extra = sorted(set(body) - {"approved", "reason", "answer"})
        if extra:
            raise HTTPError(422, InputValidationError(f"unknown body field(s): {', '.join(extra)}"))
        if "reason" in body and (not isinstance(body["reason"], str) or len(body["reason"]) > 500):
            raise HTTPError(422, InputValidationError("'reason' must be a string of at most 500 characters"))
        request_id = request.path_params["request_id"]
        await manager.respond(record.run_id, request_id, body, key_name=key.name)
        return JSONResponse({"run_id": record.run_id, "request_id": request_id, "delivered": True}, status_code=202)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/agents", list_agents, methods=["GET"]),
        Route("/agents/{name}", describe_agent, methods=["GET"]),
        Route("/agents/{name}/runs", start_run, methods=["POST"]),
        Route("/workflows/{name}", start_run, methods=["POST"]),
        Route("/runs", list_runs, methods=["GET"]),
        Route("/runs/{run_id}", get_run, methods=["GET"]),
        Route("/runs/{run_id}/events", run_events, methods=["GET"]),
        Route("/runs/{run_id}/interrupt", interrupt_run, methods=["POST"]),
        Route("/runs/{run_id}/responses/{request_id}", answer_request, methods=["POST"]),
    ]
    for module_name in EXTENSIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        make_routes = getattr(module, "routes", None)
        if make_routes is not None:  # a module still being written adds nothing
            routes.extend(make_routes(ctx))
    if mcp:
        routes.extend(_mcp_routes(ctx, host))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        import anyio

        async with contextlib.AsyncExitStack() as stack, anyio.create_task_group() as tg:
            for make in ctx.contexts:
                await stack.enter_async_context(make())
            await manager.start(tg)
            for callback in ctx.on_startup:
                await callback()
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    for callback in ctx.on_shutdown:
                        await callback()
                    await manager.shutdown()
                tg.cancel_scope.cancel()
        await manager.store.close()

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return error_response(exc)

    async def on_kaizen_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, KaizenError)
        extra = {}
        errors = exc.details.get("errors") if isinstance(exc.details, dict) else None
        if isinstance(exc, InputValidationError) and errors:
            extra["errors"] = json.loads(json.dumps(errors, default=str))
        return JSONResponse(error_body(exc, **extra), status_code=422 if isinstance(exc, InputValidationError) else 500)

    async def on_starlette_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "no such route", 405: "method not allowed"}.get(exc.status_code, "request refused")
        error = HTTPError(exc.status_code, InputValidationError(f"{message}: {request.method} {request.url.path}"))
        return error_response(error)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(_CatchAllMiddleware),
            Middleware(BodyLimitMiddleware, limit=limits.max_body_bytes),
            Middleware(_AuthMiddleware, ctx=ctx),
        ],
        exception_handlers={
            HTTPError: on_http_error,
            KaizenError: on_kaizen_error,
            HTTPException: on_starlette_http,
        },
        lifespan=lifespan,
    )
    app.state.kaizen = ctx
    return app


def _timeout_param(request: Any) -> float | None:
    raw = request.query_params.get("timeout")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise HTTPError.bad_request("timeout must be a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise HTTPError.bad_request("timeout must be a positive number of seconds")
    return value


@contextlib.contextmanager
def _move_on(timeout: float | None) -> Any:
    import anyio

    with anyio.move_on_after(timeout):
        yield


def _status_of(error: dict[str, Any] | None) -> int:
    from kaizen_serve.errors import status_for_code

    return status_for_code((error or {}).get("code", ""))


def _mcp_routes(ctx: ServeContext, host: str) -> list[Any]:
    """``/mcp``: kaizen-mcp's streamable-HTTP server over the served agents, when kaizen-mcp is installed."""
    try:
        import kaizen_mcp.server  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in ("kaizen_mcp", "kaizen_mcp.server", "mcp"):
            return []
        raise
    from kaizen_serve.mcp import mcp_routes

    return mcp_routes(ctx, host)
