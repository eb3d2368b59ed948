"""The ollama SDK's types as the schema of the wire (the SDK is a test-only dependency).

Every provider in these tests sends through :class:`OllamaWire`, an httpx transport that
validates each request against the SDK's request models and each 2xx response (each NDJSON
line of a stream) against its response models before passing it on, all made strict by
``kaizen_testing.sdk_types`` (an unknown key fails the test with its path).

The SDK types are looser than the wire in two places, checked by hand here:

* ``ChatRequest.messages`` is ``Sequence[Mapping[str, Any] | Message]``: each message is
  checked as ``Message``; ``options`` is ``Mapping | Options``: checked as ``Options``;
* a tool is checked as ``Tool``, except that a property may also carry nested
  ``properties``/``required`` and ``anyOf``, which the Ollama server's ``api.ToolProperty``
  defines (github.com/ollama/ollama, api/types.go) and the 0.6 SDK's ``Property`` lacks;
  each nested property (and each array's ``items``) is checked as a ``Property`` in turn.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from ollama._types import ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Message, Options, Tool

from kaizen_testing.sdk_types import sdk_validate

MODEL = "llama3.2"
CREATED_AT = "2024-12-06T14:45:16.312Z"
Property = Tool.Function.Parameters.Property
#: what the server's api.ToolProperty defines beyond the SDK's Property
SERVER_PROPERTY_KEYS = ("properties", "required", "anyOf")


def check_property(prop: Any, path: str) -> None:
    """A tool property: the SDK's Property plus the server's nested keys, recursively."""
    assert isinstance(prop, dict), f"{path}: a property must be an object, got {prop!r}"
    base = {k: v for k, v in prop.items() if k not in SERVER_PROPERTY_KEYS}
    sdk_validate(Property, base)
    for name, sub in (prop.get("properties") or {}).items():
        check_property(sub, f"{path}.properties.{name}")
    for i, sub in enumerate(prop.get("anyOf") or []):
        check_property(sub, f"{path}.anyOf.{i}")
    if isinstance(prop.get("items"), dict):
        check_property(prop["items"], f"{path}.items")
    assert set(prop.get("required") or []) <= set(prop.get("properties") or {}), f"{path}: required names unknown properties"


def check_tool(tool: Any, path: str) -> None:
    parameters = (tool.get("function") or {}).get("parameters") or {}
    props = parameters.get("properties") or {}
    shallow = {**tool, "function": {**tool["function"], "parameters": {**parameters, "properties": {}}}} if parameters else tool
    sdk_validate(Tool, shallow)
    for name, prop in props.items():
        check_property(prop, f"{path}.function.parameters.properties.{name}")


def check_request(url: httpx.URL, body: Any) -> None:
    """Validate a request body against the SDK's models for its endpoint."""
    if url.path == "/api/embed":
        sdk_validate(EmbedRequest, body)
        return
    assert url.path == "/api/chat", f"unexpected endpoint {url.path}"
    sdk_validate(ChatRequest, {k: v for k, v in body.items() if k != "tools"})
    for message in body.get("messages") or []:
        sdk_validate(Message, message)
    if "options" in body:
        sdk_validate(Options, body["options"])
    for i, tool in enumerate(body.get("tools") or []):
        check_tool(tool, f"tools.{i}")


def check_response(url: httpx.URL, content: bytes) -> None:
    """Validate a 2xx response (every NDJSON line of a stream) against the SDK's response model."""
    model = EmbedResponse if url.path == "/api/embed" else ChatResponse
    for line in content.decode().splitlines():
        if line.strip():
            sdk_validate(model, json.loads(line))


class OllamaWire(httpx.AsyncBaseTransport):
    """An httpx transport checking every exchange against the ollama SDK's types, then passing it on."""

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
        if response.status_code < 400:
            check_response(request.url, content)
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- fixture responses, validated by the SDK's response models ---------------------------------


def chat_response(
    content: str = "",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    done: bool = True,
    done_reason: str | None = "stop",
    prompt_eval_count: int | None = 26,
    eval_count: int | None = 14,
    thinking: str | None = None,
) -> dict[str, Any]:
    """An ``/api/chat`` reply or stream line (validated as ``ChatResponse``)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if thinking is not None:
        message["thinking"] = thinking
    data: dict[str, Any] = {"model": MODEL, "created_at": CREATED_AT, "message": message, "done": done}
    if done:
        data |= {"done_reason": done_reason, "total_duration": 7_116_226_250, "load_duration": 10_405_250,
                 "prompt_eval_count": prompt_eval_count, "prompt_eval_duration": 10_000_000,
                 "eval_count": eval_count, "eval_duration": 48_000_000}
        data = {k: v for k, v in data.items() if v is not None}
    return sdk_validate(ChatResponse, data)


def ollama_tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"function": {"name": name, "arguments": arguments}}


def ndjson(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def embed_response(vectors: list[list[float]]) -> dict[str, Any]:
    """An ``/api/embed`` reply (validated as ``EmbedResponse``)."""
    return sdk_validate(EmbedResponse, {"model": "nomic-embed-text", "embeddings": vectors, "total_duration": 14_143_917,
                                        "load_duration": 1_019_500, "prompt_eval_count": 8})
