"""One live connection to one MCP server, owned by a long-lived task on Kaizen's background loop.

Why a background loop: the SDK (anyio) requires a session's context to be entered and
exited by the same task, while an agent's runs come from any task, any event loop (the
sync API's loop, a user's ``asyncio.run``, one per test) and must reuse one server
process. So each connection has an *owner task* on the process's persistent background
loop (:func:`kaizen_core._sync.background_loop`) that enters ``mcp.Client``, signals
ready, and waits for the stop event; requests are plain coroutines sent to that loop
(:func:`on_background`) and may run concurrently. Nothing of the SDK leaks out.

Lifecycle:

* started lazily by the first request; the start (process spawn + handshake) is bounded by
  ``startup_timeout``: a server that exits, cannot be spawned, or never answers is an
  :class:`MCPServerError` naming the server, with the tail of its stderr;
* a server that died (its stdout reached EOF, or a request saw the connection close) is
  started again by the next request, at most ``max_restarts`` times; a request that was
  in flight when it died fails ("outcome unknown") and is retried on the new process only
  when the tool declared itself read-only or idempotent;
* :meth:`ServerConnection.close` stops the owner task: the SDK closes stdin, waits, then
  kills the process group (streamable HTTP: the session is terminated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from kaizen_core.errors import ToolExecutionError
from kaizen_core.redaction import redact
from kaizen_mcp.client.config import MCPServerConfig

if TYPE_CHECKING:
    from mcp import Client
    from mcp_types import CallToolResult, Tool

__all__ = ["MCPServerError", "ServerConnection", "on_background"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: characters of a server's stderr quoted in an error
STDERR_TAIL_CHARS = 2000


class MCPServerError(ToolExecutionError):
    """An MCP server could not be started, died, or failed a request (EXEC_004). Names the server."""


async def on_background(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)`` on Kaizen's background loop, from any asyncio loop (cancellation follows)."""
    from kaizen_core._sync import background_loop

    loop = background_loop()
    if asyncio.get_running_loop() is loop:
        return await fn(*args)
    future = asyncio.run_coroutine_threadsafe(_call(fn, *args), loop)
    return await asyncio.wrap_future(future)


async def _call(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await fn(*args)


class _EOFWatch:
    """The transport's read stream, setting ``eof`` when the server side is gone."""

    def __init__(self, inner: Any, eof: anyio.Event) -> None:
        self._inner = inner
        self._eof = eof

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._eof.set()
            raise

    def __aiter__(self) -> _EOFWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._eof.set()
        await self._inner.aclose()

    async def __aenter__(self) -> _EOFWatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:  # last_context of the SDK's context streams
        return getattr(self._inner, name)


class _WatchedTransport:
    """An SDK transport (async context manager of (read, write)) whose read stream reports EOF."""

    def __init__(self, inner: Any, eof: anyio.Event) -> None:
        self._inner = inner
        self._eof = eof

    async def __aenter__(self) -> tuple[Any, Any]:
        read, write = await self._inner.__aenter__()
        return _EOFWatch(read, self._eof), write

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._inner.__aexit__(*exc_info)


class ServerConnection:
    """The connection to one configured server. Every method runs on the background loop."""

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self.restarts = 0
        self.starts = 0
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: anyio.Event | None = None
        self._eof: anyio.Event | None = None
        self._failure: BaseException | None = None
        self._lock: anyio.Lock | None = None
        # The server's stderr goes to a file (the SDK hands it to the process as a descriptor).
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def alive(self) -> bool:
        """Connected, and the server has not gone away since."""
        return self._client is not None and self._eof is not None and not self._eof.is_set()

    # --- requests -----------------------------------------------------------------------
    async def list_tools(self) -> list[Tool]:
        """Every tool of the server (all pages)."""
        client = await self._ensure()
        tools: list[Tool] = []
        cursor: str | None = None
        try:
            while True:
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    return tools
        except Exception as exc:
            raise self._request_failed(exc, "listing its tools") from exc

    async def call_tool(self, tool: str, arguments: dict[str, Any], *, repeatable: bool) -> CallToolResult:
        """Call ``tool``; a connection lost mid-call is retried once on a restarted server only if ``repeatable``."""
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        for attempt in (1, 2):
            client = await self._ensure()
            try:
                return await client.call_tool(tool, arguments, read_timeout_seconds=self.config.call_timeout)
            except MCPError as exc:
                if exc.code != CONNECTION_CLOSED:
                    raise self._request_failed(exc, f"calling {tool!r}") from exc
                self._mark_dead()
                if repeatable and attempt == 1 and self.restarts < self.config.max_restarts:
                    continue
                raise MCPServerError(
                    f"MCP server {self.name!r} closed the connection during the call to {tool!r}, "
                    "whose outcome is unknown" + self._stderr_note(),
                    hint="check the tool's effect before calling it again; the server is started again on the next call",
                    details={"server": self.name, "tool": tool},
                ) from exc
            except Exception as exc:
                raise self._request_failed(exc, f"calling {tool!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_failed(self, exc: BaseException, what: str) -> MCPServerError:
        if isinstance(exc, MCPServerError):
            return exc
        if isinstance(exc, TimeoutError):
            return MCPServerError(
                f"MCP server {self.name!r} did not answer within {self.config.call_timeout}s while {what}",
                hint="raise call_timeout in its mcp_servers entry",
                details={"server": self.name},
            )
        return MCPServerError(
            f"MCP server {self.name!r} failed while {what}: {_describe(exc)}", details={"server": self.name}
        )

    # --- lifecycle ----------------------------------------------------------------------
    async def _ensure(self) -> Client:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self.alive:
                assert self._client is not None
                return self._client
            if self._task is not None:  # it ran before and died
                await self._stop_owner()
                if self.restarts >= self.config.max_restarts:
                    raise MCPServerError(
                        f"MCP server {self.name!r} died and was already restarted "
                        f"{self.restarts} time(s) (max_restarts={self.config.max_restarts})" + self._stderr_note(),
                        hint="fix the server, or raise max_restarts in its mcp_servers entry",
                        details={"server": self.name},
                    )
                self.restarts += 1
                logger.warning("MCP server %r died; starting it again (restart %d)", self.name, self.restarts)
            return await self._start()

    def _mark_dead(self) -> None:
        if self._eof is not None:
            self._eof.set()

    async def _start(self) -> Client:
        ready = anyio.Event()
        self._stop, self._eof, self._failure = anyio.Event(), anyio.Event(), None
        self.starts += 1
        self._task = asyncio.get_running_loop().create_task(self._own(ready), name=f"kaizen-mcp-{self.name}")
        timeout = self.config.startup_timeout
        with anyio.move_on_after(timeout) as waited:
            await ready.wait()
        if waited.cancelled_caught:
            await self._stop_owner(cancel=True)
            raise MCPServerError(
                f"MCP server {self.name!r} did not finish starting within {timeout:g}s" + self._stderr_note(),
                hint="check its command/url, or raise startup_timeout in its mcp_servers entry",
                details={"server": self.name},
            )
        if self._client is None:
            failure = self._failure
            await self._stop_owner()
            raise MCPServerError(
                f"MCP server {self.name!r} failed to start: {_describe(failure)}" + self._stderr_note(),
                hint=self._start_hint(),
                details={"server": self.name},
            ) from failure
        return self._client

    async def _own(self, ready: anyio.Event) -> None:
        """The owner task: enter the client, wait for the stop request, exit (same task)."""
        from mcp import Client
        from mcp_types import Implementation

        assert self._stop is not None and self._eof is not None
        try:
            async with Client(
                _WatchedTransport(self._transport(), self._eof),
                client_info=Implementation(name="kaizen", version=_version()),
                read_timeout_seconds=self.config.call_timeout,
            ) as client:
                self._client = client
                ready.set()
                await self._stop.wait()
        except Exception as exc:  # start failures are reported by _start; later ones end the connection
            self._failure = exc
            if ready.is_set():
                logger.warning("MCP server %r connection ended: %s", self.name, redact(_describe(exc)))
        finally:
            self._client = None
            self._eof.set()
            ready.set()

    def _transport(self) -> Any:
        cfg = self.config
        if cfg.transport == "stdio":
            from mcp import StdioServerParameters, stdio_client

            assert cfg.command is not None
            params = StdioServerParameters(command=cfg.command, args=cfg.args, env=cfg.env or None, cwd=cfg.cwd)
            return stdio_client(params, errlog=self._stderr)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        assert cfg.url is not None
        return _OwnedHTTP(streamable_http_client, cfg.url, create_mcp_http_client(headers=cfg.headers or None))

    async def _stop_owner(self, *, cancel: bool = False) -> None:
        task = self._task
        if task is None:
            return
        if self._stop is not None:
            self._stop.set()
        if cancel:
            task.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.wait([task])
        self._task = None

    async def close(self) -> None:
        """Stop the server (stdio: the process exits or is killed) and release its stderr file."""
        await self._stop_owner()
        self._stderr.close()

    # --- diagnostics --------------------------------------------------------------------
    def stderr_tail(self) -> str:
        """The last lines the server wrote on stderr (stdio servers), redacted."""
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0, 2)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - STDERR_TAIL_CHARS * 4))
        text = self._stderr.read()[-STDERR_TAIL_CHARS:]
        self._stderr.seek(0, 2)
        return redact(text.strip())

    def _stderr_note(self) -> str:
        tail = self.stderr_tail()
        return f"; its stderr ends with:\n{tail}" if tail else ""

    def _start_hint(self) -> str:
        cfg = self.config
        if cfg.transport == "stdio":
            return f"check that {cfg.command!r} starts an MCP server speaking stdio (try running it by hand)"
        return f"check that an MCP server answers streamable HTTP at {cfg.url!r}"


class _OwnedHTTP:
    """``streamable_http_client`` with an httpx client it also closes (the SDK leaves a passed one open)."""

    def __init__(self, factory: Any, url: str, http_client: Any) -> None:
        self._http = http_client
        self._inner = factory(url, http_client=http_client)

    async def __aenter__(self) -> Any:
        await self._http.__aenter__()
        try:
            return await self._inner.__aenter__()
        except BaseException:
            await self._http.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._inner.__aexit__(*exc_info)
        finally:
            await self._http.__aexit__(None, None, None)


def _describe(exc: BaseException | None) -> str:
    """A one-line account of an exception, unwrapping exception groups."""
    if exc is None:
        return "the connection ended before the handshake"
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) or not str(exc):
        text = f"{type(exc).__name__}: {exc}"
    from mcp import MCPError
    from mcp_types import CONNECTION_CLOSED

    if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
        text = "the server closed the connection (did it exit?)"
    return redact(text)


def _version() -> str:
    from importlib import metadata

    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("kaizen-mcp")
    return "0"
