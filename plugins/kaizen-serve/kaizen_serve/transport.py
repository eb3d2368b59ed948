"""The HTTP/SSE control transport: an agent's questions and approvals go to its run's event stream.

``request_approval`` / ``ask_user_question`` of an agent served by kaizen-serve become
``approval_request`` / ``question`` events (with a ``request_id``) on
``GET /runs/{id}/events``; ``POST /runs/{id}/responses/{request_id}`` answers them. A
request without an answer within its timeout is denied (``ControlProtocol``'s rule).

The transport finds the run a request belongs to through a context variable the server
sets in the run's task (:func:`current_run`), so one transport (and one
``ControlProtocol``) serves every run of a process. Registered as control transport
``"http"``; outside a served run it answers every request with an error at once (denied).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

import anyio

from kaizen_core.control.messages import ControlRequest, ControlResponse
from kaizen_core.control.protocol import ControlProtocol
from kaizen_core.control.transports import Transport

__all__ = ["HTTPTransport", "RunChannel", "ServeControlProtocol", "current_run"]


class RunChannel(Protocol):
    """What the transport needs of a served run (implemented by ``kaizen_serve.runs.LocalRun``)."""

    async def control_request(self, request: ControlRequest) -> None: ...

    async def control_closed(self, request: ControlRequest, response: ControlResponse | None) -> None: ...


_CURRENT: ContextVar[RunChannel | None] = ContextVar("kaizen_serve_run", default=None)
_SENT: ContextVar[list[ControlRequest] | None] = ContextVar("kaizen_serve_sent", default=None)


def current_run() -> RunChannel | None:
    """The served run the calling code belongs to, or None."""
    return _CURRENT.get()


def set_current_run(run: RunChannel | None) -> Any:
    """Make ``run`` the current run of this context; returns the token for :func:`reset_current_run`."""
    return _CURRENT.set(run)


def reset_current_run(token: Any) -> None:
    _CURRENT.reset(token)


class HTTPTransport(Transport):
    """Server side of the HTTP/SSE transport (see the module docstring)."""

    async def send(self, message: ControlRequest | ControlResponse) -> None:
        if not isinstance(message, ControlRequest):
            return
        run = current_run()
        if run is None:
            if message.expects_response:
                self._deliver(ControlResponse(request_id=message.id, error="no HTTP client: not in a served run"))
            return
        sent = _SENT.get()
        if sent is not None:
            sent.append(message)
        await run.control_request(message)

    def answer(self, request_id: str, data: dict[str, Any], *, error: str | None = None) -> None:
        """Deliver the client's answer to request ``request_id`` (in the server's event loop)."""
        self._deliver(ControlResponse(request_id=request_id, data=data, error=error))


class ServeControlProtocol(ControlProtocol):
    """The server's ControlProtocol: tells the run when a request is answered or timed out."""

    async def request(
        self, request_type: Any, data: dict[str, Any], *, timeout: float | None = None
    ) -> ControlResponse | None:
        run = current_run()
        if run is None:
            return await super().request(request_type, data, timeout=timeout)
        seen: list[ControlRequest] = []
        response: ControlResponse | None = None
        token = _SENT.set(seen)  # this task's requests: HTTPTransport.send records them here
        try:
            response = await super().request(request_type, data, timeout=timeout)
            return response
        finally:
            _SENT.reset(token)
            if seen:  # answered, timed out, or cancelled by an interrupt: the request is closed
                with anyio.CancelScope(shield=True):
                    await run.control_closed(seen[0], response)
