"""ControlProtocol: the agent asks the outside world (a user, an app) and waits for answers.

Requests carry an id; responses name the id they answer. A response for an unknown id
(late, duplicate, unsolicited) is ignored. A request without an answer within its
timeout yields ``None`` (``request_approval`` then means *deny*).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from kaizen_core.control.messages import ControlRequest, ControlResponse, RequestType
from kaizen_core.control.transports import Transport
from kaizen_core.errors import KaizenError

__all__ = ["ControlProtocol"]

logger = logging.getLogger(__name__)


class _Pending:
    __slots__ = ("event", "response")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.response: ControlResponse | None = None


class ControlProtocol:
    """Request/response pairing over a :class:`Transport`.

    Use ``await protocol.start()`` / ``await protocol.stop()`` or ``async with protocol:``.
    """

    #: How many ignored messages :attr:`ignored` keeps (the newest): late and duplicate answers
    #: of a long-lived protocol must not grow memory without bound.
    IGNORED_KEPT = 100

    def __init__(self, transport: Transport, *, default_timeout: float = 60.0) -> None:
        self.transport = transport
        self.default_timeout = default_timeout
        self._pending: dict[str, _Pending] = {}
        self._started = False
        #: The newest ignored (late, duplicate, unsolicited) messages, at most ``IGNORED_KEPT``.
        self.ignored: deque[ControlRequest | ControlResponse] = deque(maxlen=self.IGNORED_KEPT)
        self.on_unsolicited: Callable[[ControlRequest | ControlResponse], None] | None = None

    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        """Connect the transport. Idempotent."""
        if self._started:
            return
        await self.transport.connect(self._dispatch)
        self._started = True

    async def stop(self) -> None:
        """Close the transport; pending requests get no answer (``None``)."""
        if not self._started:
            return
        self._started = False
        for pending in self._pending.values():
            pending.event.set()
        await self.transport.close()

    async def __aenter__(self) -> ControlProtocol:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _dispatch(self, message: ControlRequest | ControlResponse) -> None:
        """Called by the transport (in the event loop) for every incoming message."""
        if isinstance(message, ControlResponse):
            pending = self._pending.get(message.request_id)
            if pending is not None and pending.response is None:
                pending.response = message
                pending.event.set()
                return
        logger.debug("control protocol ignored an unsolicited message: %s", message.type)
        self.ignored.append(message)
        if self.on_unsolicited is not None:
            self.on_unsolicited(message)

    async def request(
        self, request_type: RequestType, data: dict[str, Any], *, timeout: float | None = None
    ) -> ControlResponse | None:
        """Send a request and wait for its response; None on timeout or when stopped."""
        if not self._started:
            raise KaizenError("control protocol is not started", hint="call 'await protocol.start()' first")
        req = ControlRequest(request_type=request_type, data=data)
        pending = _Pending()
        self._pending[req.id] = pending
        try:
            await self.transport.send(req)
            with anyio.move_on_after(self.default_timeout if timeout is None else timeout):
                await pending.event.wait()
            return pending.response
        finally:
            self._pending.pop(req.id, None)

    async def notify(self, request_type: RequestType, data: dict[str, Any]) -> None:
        """Send a message that expects no answer."""
        if not self._started:
            raise KaizenError("control protocol is not started", hint="call 'await protocol.start()' first")
        await self.transport.send(ControlRequest(request_type=request_type, data=data, expects_response=False))

    # --- agent-side helpers -------------------------------------------------------------
    async def ask_user_question(
        self, question: str, options: list[str] | None = None, timeout: float | None = None
    ) -> str | None:
        """Ask a question (optionally multiple choice); the answer text, or None without one."""
        response = await self.request("question", {"question": question, "options": options or []}, timeout=timeout)
        if response is None or response.error:
            return None
        answer = response.data.get("answer")
        return None if answer is None else str(answer)

    async def request_approval(self, action: str, details: dict[str, Any] | None = None, timeout: float | None = None) -> bool:
        """Ask for approval; True only on an explicit approval within the timeout."""
        response = await self.request("approval", {"action": action, "details": details or {}}, timeout=timeout)
        if response is None or response.error:
            return False
        return response.data.get("approved") is True

    async def report_progress(self, message: str, percentage: float | None = None) -> None:
        """Tell the client how far the run is (no answer expected)."""
        data: dict[str, Any] = {"message": message}
        if percentage is not None:
            data["percentage"] = max(0.0, min(100.0, float(percentage)))
        await self.notify("progress", data)
