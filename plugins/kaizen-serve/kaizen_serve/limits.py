"""Server limits: request body size and concurrent SSE connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel, Field

from kaizen_serve.errors import HTTPError, error_body

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


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes with 413 (by Content-Length, or while they stream in)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.limit
                except ValueError:
                    too_large = True
                if too_large:
                    await _send_too_large(send, self.limit)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_too_large(send, self.limit)


async def _send_too_large(send: Send, limit: int) -> None:
    import json

    body = json.dumps(error_body(HTTPError.bad_request(f"request body larger than {limit} bytes", status=413))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
