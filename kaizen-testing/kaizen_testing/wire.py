"""Helpers for provider wire tests: recorded fixtures, mocked HTTP (respx) and retries.

For plugin authors testing an HTTP provider against recorded API exchanges, as the
bundled provider plugins do::

    from kaizen_testing.wire import RecordingSleep, fixture_loader, recorded_response, sent

    fixture = fixture_loader(Path(__file__).parent / "fixtures")

    @respx.mock
    async def test_text(provider):
        fx = fixture("chat_text.json")        # {"body": <request we must send>, "response": <API reply>}
        route = respx.post(URL).respond(json=fx["response"])
        await provider.complete(request)
        assert sent(route) == fx["body"]

Error fixtures hold ``{"status": ..., "headers": {...}, "response": {...}}``
(:func:`recorded_response` turns one into an ``httpx.Response``). Set
``provider.http.sleep = RecordingSleep()`` to skip retry back-off and assert the delays.
httpx is imported only by the helpers that build responses; respx is not imported.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import httpx

__all__ = [
    "RecordingSleep",
    "closed_port",
    "fixture_loader",
    "recorded_response",
    "sample_value",
    "sent",
    "sse_response",
]


class RecordingSleep:
    """An async ``sleep`` that records each delay instead of waiting (for ``HTTPClient.sleep``)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def fixture_loader(directory: str | Path) -> Callable[[str], Any]:
    """A function that loads ``directory / name`` as JSON."""
    root = Path(directory)

    def load(name: str) -> Any:
        return json.loads((root / name).read_text())

    return load


def sent(route: Any, n: int = -1) -> Any:
    """The JSON body of the ``n``-th request a respx route received (the last by default)."""
    return json.loads(route.calls[n].request.content)


def recorded_response(fixture: Mapping[str, Any]) -> httpx.Response:
    """An ``httpx.Response`` from a recorded ``{"status", "headers", "response"}`` fixture (status 200 if absent)."""
    import httpx

    return httpx.Response(fixture.get("status", 200), json=fixture["response"], headers=fixture.get("headers"))


def sse_response(text: str) -> httpx.Response:
    """A ``200 text/event-stream`` response carrying ``text`` (Server-Sent Events)."""
    import httpx

    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


_SAMPLES: dict[str, Any] = {"string": "Paris", "number": 0.9, "integer": 1, "boolean": True, "array": []}


def sample_value(schema: Mapping[str, Any]) -> Any:
    """A value that fits ``schema``, for canned APIs answering from the request.

    Objects get every property filled recursively; strings are ``"Paris"``, numbers
    ``0.9``, integers ``1``, booleans ``True``, arrays ``[]``. Type names are matched
    case-insensitively (Gemini spells them ``"STRING"``); anything else gives ``"Paris"``.
    """
    kind = schema.get("type")
    kind = kind.lower() if isinstance(kind, str) else ""
    if kind == "object":
        return {key: sample_value(sub) for key, sub in (schema.get("properties") or {}).items()}
    return _SAMPLES.get(kind, "Paris")


def closed_port() -> int:
    """A loopback TCP port that nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
