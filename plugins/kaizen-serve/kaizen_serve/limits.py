"""Server limits: request body size and concurrent SSE connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel, Field

from kaizen_serve.errors import HTTPError

__all__ = ["BodyLimitMiddleware", "Limits", "StreamSlots"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Limits(BaseModel):
    """What one server process allows."""

    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Largest request body (413 beyond)")
    max_streams: int = Field(default=100, gt=0, description="Concurrent SSE connections (503 beyond)")
    max_list: int = Field(default=200, gt=0, description="Most runs one GET /runs returns")


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes with 413 (by Content-Length, or while they stream in).

    It raises :class:`HTTPError` (413): the app's handler answers it when a route was reading
    the body, the server's catch-all middleware (outside this one) otherwise.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> HTTPError:
        return HTTPError.bad_request(f"request body larger than {self.limit} bytes", status=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                raise self._too_large()
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)


class StreamSlots:
    """Counts open SSE connections; :meth:`acquire` raises 503 past the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def acquire(self) -> None:
        if self.open >= self.limit:
            raise HTTPError.limit(f"too many event streams open (limit {self.limit})")
        self.open += 1

    def release(self) -> None:
        self.open = max(0, self.open - 1)
