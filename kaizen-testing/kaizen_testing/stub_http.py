"""A scripted HTTP server on loopback, for provider retry and error tests.

Each request pops the next scripted reply (status, headers, body); every request is
recorded (method, path, headers, JSON body). It is a real socket server in a thread,
so the code under test goes through its real HTTP stack::

    with StubHTTPServer([StubReply(429, {"Retry-After": "1"}), StubReply(200, body={"ok": 1})]) as srv:
        ... srv.url ... srv.requests
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["LoopbackHTTPServer", "RecordedRequest", "StubHTTPServer", "StubReply"]


class LoopbackHTTPServer:
    """A threaded HTTP server on ``127.0.0.1`` (a free port) serving ``handler``; a context manager.

    The base of the harness's in-process HTTP servers: a subclass builds its request handler
    class (closing over itself for what it records) and passes it here.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], thread_name: str) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=thread_name, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class StubReply:
    """One scripted reply. ``body`` is JSON-encoded unless it is ``bytes``/``str``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class StubHTTPServer(LoopbackHTTPServer):
    """Threaded loopback HTTP server replaying :class:`StubReply` objects in order.

    When the script is exhausted the last reply repeats.
    """

    def __init__(self, replies: list[StubReply]) -> None:
        if not replies:
            raise ValueError("at least one reply is needed")
        self.replies = list(replies)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with stub._lock:
                    stub.requests.append(
                        RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                if isinstance(reply.body, bytes):
                    payload = reply.body
                elif isinstance(reply.body, str):
                    payload = reply.body.encode()
                else:
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        super().__init__(Handler, "kaizen-stub-http")
