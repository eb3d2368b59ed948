"""Control transports: how control messages travel (in-memory, JSON lines on stdio, CLI prompts).

A transport is connected with a callback; it calls that callback, in the event loop
that connected it, for every incoming message, and sends outgoing ones with ``send``.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import anyio
import anyio.from_thread
import anyio.lowlevel

from kaizen_core.control.messages import ControlRequest, ControlResponse, parse_message

__all__ = ["CLITransport", "InMemoryClient", "InMemoryTransport", "MessageHandler", "StdioTransport", "Transport"]

logger = logging.getLogger(__name__)

MessageHandler = Callable[[ControlRequest | ControlResponse], None]
Responder = Callable[[ControlRequest], "dict[str, Any] | Awaitable[dict[str, Any] | None] | None"]


class Transport(ABC):
    """Base of every control transport (registered through the ``register_transports`` hook)."""

    def __init__(self) -> None:
        self._handler: MessageHandler | None = None

    async def connect(self, handler: MessageHandler) -> None:
        """Start delivering incoming messages to ``handler`` (called in the event loop)."""
        self._handler = handler

    async def close(self) -> None:
        """Stop delivering messages. Safe to call twice."""
        self._handler = None

    @abstractmethod
    async def send(self, message: ControlRequest | ControlResponse) -> None:
        """Send one message to the other side."""

    def _deliver(self, message: ControlRequest | ControlResponse) -> None:
        if self._handler is not None:
            self._handler(message)


class _ThreadedTransport(Transport):
    """Helpers for transports whose input is read by a blocking thread."""

    def __init__(self) -> None:
        super().__init__()
        self._token: anyio.lowlevel.EventLoopToken | None = None

    async def connect(self, handler: MessageHandler) -> None:
        await super().connect(handler)
        self._token = anyio.lowlevel.current_token()

    def _deliver_from_thread(self, message: ControlRequest | ControlResponse) -> None:
        token = self._token
        if token is None or self._handler is None:
            return
        try:
            anyio.from_thread.run_sync(self._deliver, message, token=token)
        except RuntimeError:  # the event loop is gone
            logger.debug("control message dropped: event loop closed")


class InMemoryClient:
    """The client side of an :class:`InMemoryTransport` (tests, embedding apps)."""

    def __init__(self, transport: InMemoryTransport) -> None:
        self._transport = transport
        self._send, self._receive = anyio.create_memory_object_stream[ControlRequest](max_buffer_size=1000)
        self.received: list[ControlRequest] = []
        self._responder: Responder | None = None

    async def receive(self) -> ControlRequest:
        """The next request the agent sent (waits for one)."""
        return await self._receive.receive()

    def receive_nowait(self) -> ControlRequest | None:
        try:
            return self._receive.receive_nowait()
        except anyio.WouldBlock:
            return None

    async def respond(self, request_id: str, data: dict[str, Any] | None = None, *, error: str | None = None) -> None:
        """Answer the request ``request_id``."""
        self._transport._deliver(ControlResponse(request_id=request_id, data=data or {}, error=error))

    async def send_raw(self, message: ControlRequest | ControlResponse) -> None:
        """Send any message to the agent side (e.g. to test that unsolicited ones are ignored)."""
        self._transport._deliver(message)

    def auto_respond(self, callback: Responder | None) -> None:
        """Answer every request with ``callback(request)`` (sync or async; None = no answer)."""
        self._responder = callback

    def approve_all(self) -> None:
        self.auto_respond(lambda r: {"approved": True} if r.request_type == "approval" else None)

    def deny_all(self) -> None:
        self.auto_respond(lambda r: {"approved": False} if r.request_type == "approval" else None)

    async def _on_request(self, request: ControlRequest) -> None:
        self.received.append(request)
        if self._responder is None or not request.expects_response:
            self._send.send_nowait(request)
            return
        answer = self._responder(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:
            self._send.send_nowait(request)
        else:
            await self.respond(request.id, answer)


class InMemoryTransport(Transport):
    """In-process transport. ``transport.client`` answers the agent's requests."""

    def __init__(self) -> None:
        super().__init__()
        self.client = InMemoryClient(self)

    async def send(self, message: ControlRequest | ControlResponse) -> None:
        if isinstance(message, ControlRequest):
            await self.client._on_request(message)


class StdioTransport(_ThreadedTransport):
    """JSON lines: requests written to ``output`` (stdout), responses read from ``input`` (stdin).

    Lines that are not valid control messages are ignored.
    """

    def __init__(self, input: TextIO | None = None, output: TextIO | None = None) -> None:
        super().__init__()
        self.input = input if input is not None else sys.stdin
        self.output = output if output is not None else sys.stdout
        self._write_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._closed = threading.Event()

    async def connect(self, handler: MessageHandler) -> None:
        await super().connect(handler)
        self._closed.clear()
        self._reader = threading.Thread(target=self._read_loop, name="kaizen-stdio-control", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        while not self._closed.is_set():
            line = self.input.readline()
            if not line:
                return
            if not line.strip():
                continue
            message = parse_message(line)
            if message is None:
                logger.warning("stdio control transport ignored a malformed line")
                continue
            self._deliver_from_thread(message)

    async def close(self) -> None:
        self._closed.set()
        await super().close()

    async def send(self, message: ControlRequest | ControlResponse) -> None:
        line = message.model_dump_json() + "\n"
        with self._write_lock:
            self.output.write(line)
            self.output.flush()


class CLITransport(_ThreadedTransport):
    """Interactive terminal prompts: questions and approvals are asked on ``output`` and read from ``input``."""

    def __init__(self, input: TextIO | None = None, output: TextIO | None = None) -> None:
        super().__init__()
        self.input = input if input is not None else sys.stdin
        self.output = output if output is not None else sys.stderr
        self._prompt_lock = threading.Lock()

    async def send(self, message: ControlRequest | ControlResponse) -> None:
        if not isinstance(message, ControlRequest):
            return
        if message.request_type in ("progress", "notification") or not message.expects_response:
            pct = message.data.get("percentage")
            prefix = f"[{pct:.0f}%] " if isinstance(pct, int | float) else ""
            with self._prompt_lock:
                self.output.write(f"{prefix}{message.data.get('message', '')}\n")
                self.output.flush()
            return
        threading.Thread(target=self._prompt, args=(message,), name="kaizen-cli-prompt", daemon=True).start()

    def _prompt(self, request: ControlRequest) -> None:
        with self._prompt_lock:
            data = request.data
            if request.request_type == "approval":
                details = data.get("details") or {}
                action = str(data.get("action", "action"))
                self.output.write(f"Approve {action}\n" if action.endswith("?") else f"Approve {action}?\n")
                for key, value in details.items():
                    self.output.write(f"  {key}: {value}\n")
                self.output.write("[y/N] ")
                self.output.flush()
                line = self.input.readline()
                if not line:
                    return
                answer: dict[str, Any] = {"approved": line.strip().lower() in ("y", "yes")}
            else:
                options = list(data.get("options") or [])
                self.output.write(f"{data.get('question', '')}\n")
                for i, option in enumerate(options, 1):
                    self.output.write(f"  {i}) {option}\n")
                self.output.write("> ")
                self.output.flush()
                line = self.input.readline()
                if not line:
                    return
                text = line.strip()
                if options and text.isdigit() and 1 <= int(text) <= len(options):
                    text = options[int(text) - 1]
                answer = {"answer": text}
        self._deliver_from_thread(ControlResponse(request_id=request.id, data=answer))
