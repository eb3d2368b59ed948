"""The anthropic SDK's types as the schema of the wire (the SDK is a test-only dependency).

Every provider in these tests sends through :class:`AnthropicWire`, an httpx transport
that validates each request body against the SDK's ``MessageCreateParams*`` and each
response against ``Message`` (``RawMessageStreamEvent`` per event of a stream,
``ErrorResponse`` for an error) before passing it on; a body that does not validate fails
the test with pydantic's error naming the path. Fixture responses are built with
:func:`message`, :func:`stream_events` and :func:`error`, which validate too.

The one accepted deviation: the sampling parameters ``temperature`` or ``top_p`` (a number
in [0, 1], never both) and ``top_k`` (an integer >= 1), as earlier SDK versions defined them,
in a request to a model that still takes them (``accepts_temperature``: Claude 3.x, 4.x up
to Opus/Sonnet 4.6 and Haiku 4.5); the SDK's ``MessageCreateParams`` no longer defines them
because the current models refuse them.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import httpx
from anthropic.types import Message as SDKMessage
from anthropic.types import Model, RawMessageStreamEvent
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming, MessageCreateParamsStreaming
from anthropic.types.shared import ErrorResponse

from kaizen_anthropic.provider import accepts_temperature
from kaizen_testing.sdk_types import sdk_validate

#: the model ids the SDK lists (its ``Model`` type is ``Literal[...] | str``)
SDK_MODELS: frozenset[str] = frozenset(typing.get_args(typing.get_args(Model)[0]))


def listed(model: str) -> str:
    """``model``, asserting the SDK still lists it."""
    assert model in SDK_MODELS, f"{model!r} is not a model id the anthropic SDK lists"
    return model


def check_request(url: httpx.URL, body: Any) -> None:
    """Validate a Messages API request body against the SDK's request type."""
    assert url.path.endswith("/v1/messages"), f"unexpected endpoint {url.path}"
    sampling = {k: body[k] for k in ("temperature", "top_p", "top_k") if k in body}
    if sampling:
        assert accepts_temperature(body["model"]), f"{', '.join(sampling)} sent to {body['model']}, which refuses it"
        assert not {"temperature", "top_p"} <= set(sampling), "temperature and top_p cannot both be sent"
        for name in ("temperature", "top_p"):
            assert name not in sampling or (isinstance(sampling[name], int | float) and 0 <= sampling[name] <= 1)
        assert "top_k" not in sampling or (type(sampling["top_k"]) is int and sampling["top_k"] >= 1)
        body = {k: v for k, v in body.items() if k not in sampling}
    sdk_validate(MessageCreateParamsStreaming if body.get("stream") else MessageCreateParamsNonStreaming, body)


def sse_events(content: bytes) -> list[dict[str, Any]]:
    """The JSON events of a Server-Sent Events body, each checked against its ``event:`` name."""
    events = []
    name = None
    for line in content.decode().splitlines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            event = json.loads(line[5:])
            assert name is None or event["type"] == name, f"event {name!r} carries {event['type']!r}"
            events.append(event)
    return events


def check_response(status: int, request_body: Any, content: bytes) -> None:
    """Validate a response (JSON, or SSE events for a stream) against the SDK's type."""
    if status >= 400:
        sdk_validate(ErrorResponse, json.loads(content))
    elif request_body.get("stream"):
        for event in sse_events(content):
            sdk_validate(RawMessageStreamEvent, event)
    else:
        sdk_validate(SDKMessage, json.loads(content))


class AnthropicWire(httpx.AsyncBaseTransport):
    """An httpx transport checking every exchange against the SDK's types, then passing it on.

    ``requests`` holds every (validated) request body in order. It wraps a real transport, so
    respx mocks and loopback stubs both sit behind it.
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        check_request(request.url, body)
        self.requests.append(body)
        response = await self.inner.handle_async_request(request)
        content = b"".join([part async for part in response.aiter_raw()])
        await response.aclose()
        check_response(response.status_code, body, content)
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- fixture responses, validated by the SDK's response types ---------------------------------


def usage(
    input_tokens: int = 12, output_tokens: int = 6, *, cache_read: int | None = None, cache_write: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if cache_read is not None:
        out["cache_read_input_tokens"] = cache_read
    if cache_write is not None:
        out["cache_creation_input_tokens"] = cache_write
        out["cache_creation"] = {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0}
    return out


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def thinking(value: str, signature: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


def message(
    *content: dict[str, Any],
    stop: str = "end_turn",
    usage_: dict[str, Any] | None = None,
    model: str = "claude-haiku-4-5",
    msg_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL",
) -> dict[str, Any]:
    """A Messages API reply (validated as the SDK's ``Message``); ``model`` must be one the SDK lists."""
    data = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": listed(model),
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage_ or usage(),
    }
    return sdk_validate(SDKMessage, data)


def stream_events(
    reply: dict[str, Any], *, chunk: int = 8, partial_inputs: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """The event sequence the API streams for ``reply`` (a :func:`message`), each validated.

    Text, thinking and tool input are split into pieces of ``chunk`` characters; the
    signature comes in one ``signature_delta``, as the API sends it. ``partial_inputs``
    maps a tool_use block's index to the raw JSON actually streamed for it (a reply cut
    off by ``max_tokens``).
    """
    start = {**reply, "content": [], "stop_reason": None, "usage": {**reply["usage"], "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(reply["content"]):
        kind = block["type"]
        if kind == "text":
            events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"], chunk)]
        elif kind == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            events.append({"type": "content_block_start", "index": index, "content_block": empty})
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], chunk)]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "tool_use":
            opened = {**block, "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": opened})
            raw = (partial_inputs or {}).get(index, json.dumps(block["input"]))
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(raw, chunk)]]
        else:
            raise ValueError(f"no stream form for {kind!r} blocks")
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    final_usage = {k: v for k, v in reply["usage"].items() if k != "cache_creation"}
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": reply["stop_reason"], "stop_sequence": None}, "usage": final_usage}
    )
    events.append({"type": "message_stop"})
    return [sdk_validate(RawMessageStreamEvent, e) for e in events]


def sse(events: list[dict[str, Any]]) -> str:
    """A Server-Sent Events body for ``events`` (``event:`` named by each event's type)."""
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def error(kind: str, text_: str) -> dict[str, Any]:
    """An error body (validated as the SDK's ``ErrorResponse``)."""
    return sdk_validate(ErrorResponse, {"type": "error", "error": {"type": kind, "message": text_}})


def _pieces(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]
