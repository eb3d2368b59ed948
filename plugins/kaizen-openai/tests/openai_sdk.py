"""The openai SDK's types as the schema of the wire (the SDK is a test-only dependency).

Every provider in these tests sends through :class:`OpenAIWire`, an httpx transport that
validates each request body against the SDK's request type and each 2xx response against
its response type before passing it on; a body that does not validate fails the test with
pydantic's error naming the path. Fixture responses are built with :func:`completion`,
:func:`chunk` and :func:`embeddings`, which validate too. So neither what the plugin sends
nor what a test serves can drift from what the API defines.

The one accepted deviation: ``response_format: {"type": "json_object", "schema": ...}``,
an extension llama.cpp and vLLM enforce, is allowed in requests to compatible servers
(any host but the OpenAI API and Azure OpenAI), where the plugin sends it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from openai.types.embedding_create_params import EmbeddingCreateParams

from kaizen_testing.sdk_types import sdk_validate

MODEL = "gpt-4o-mini"
SERVED_MODEL = "gpt-4o-mini-2024-07-18"
CREATED = 1_733_000_000


def official(host: str) -> bool:
    """The OpenAI API itself or Azure OpenAI (no extensions accepted)."""
    return host == "api.openai.com" or host.endswith(".openai.azure.com")


def check_request(url: httpx.URL, body: Any, *, strict: bool | None = None) -> None:
    """Validate a request body against the SDK's type for its endpoint.

    ``strict``: no extension accepted (default: only for the OpenAI API and Azure OpenAI hosts).
    """
    if url.path.endswith("/embeddings"):
        sdk_validate(EmbeddingCreateParams, body)
        return
    assert url.path.endswith("/chat/completions"), f"unexpected endpoint {url.path}"
    fmt = body.get("response_format")
    strict = official(url.host) if strict is None else strict
    if not strict and isinstance(fmt, dict) and fmt.get("type") == "json_object" and "schema" in fmt:
        body = {**body, "response_format": {"type": "json_object"}}  # the compatible servers' extension
    sdk_validate(CompletionCreateParamsStreaming if body.get("stream") else CompletionCreateParamsNonStreaming, body)


def check_response(url: httpx.URL, request_body: Any, content: bytes) -> None:
    """Validate a 2xx response body (JSON, or SSE chunks for a stream) against the SDK's type."""
    if url.path.endswith("/embeddings"):
        sdk_validate(CreateEmbeddingResponse, json.loads(content))
    elif request_body.get("stream"):
        for line in content.decode().splitlines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                sdk_validate(ChatCompletionChunk, json.loads(line[5:]))
    else:
        sdk_validate(ChatCompletion, json.loads(content))


class OpenAIWire(httpx.AsyncBaseTransport):
    """An httpx transport checking every exchange against the SDK's types, then passing it on.

    ``requests`` holds every (validated) request body in order. Wraps a real transport, so
    respx mocks, loopback stubs and real servers all sit behind it. ``strict=True`` accepts
    no extension whatever the host (a loopback stub standing in for the OpenAI API).
    """

    def __init__(self, *, strict: bool | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.strict = strict
        self.requests: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        check_request(request.url, body, strict=self.strict)
        self.requests.append(body)
        response = await self.inner.handle_async_request(request)
        content = b"".join([part async for part in response.aiter_raw()])
        await response.aclose()
        if response.status_code < 400:
            check_response(request.url, body, content)
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- fixture responses, validated by the SDK's response types ---------------------------------


def usage(prompt: int = 12, completion_tokens: int = 5, *, cached: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + completion_tokens}
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
    return out


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def completion(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    refusal: str | None = None,
    finish: str = "stop",
    usage_: dict[str, Any] | None = None,
    model: str = SERVED_MODEL,
) -> dict[str, Any]:
    """A chat completion as the API returns it (validated as ``ChatCompletion``)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = tool_calls
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage_ or usage(),
        "system_fingerprint": "fp_1",
    }
    return sdk_validate(ChatCompletion, data)


def chunk(
    delta: dict[str, Any] | None = None, *, finish: str | None = None, usage_: dict[str, Any] | None = None, model: str = SERVED_MODEL
) -> dict[str, Any]:
    """One stream chunk (validated as ``ChatCompletionChunk``); no delta and a usage: the final usage chunk."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": choices,
    }
    if usage_ is not None:
        data["usage"] = usage_
    return sdk_validate(ChatCompletionChunk, data)


def sse(*chunks: dict[str, Any]) -> str:
    """A Server-Sent Events body: the chunks, then ``[DONE]``."""
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def embeddings(vectors: list[list[float]], *, model: str = "text-embedding-3-small", order: list[int] | None = None) -> dict[str, Any]:
    """An embeddings response (validated as ``CreateEmbeddingResponse``); ``order`` permutes the rows."""
    rows = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    if order is not None:
        rows = [rows[i] for i in order]
    data = {"object": "list", "data": rows, "model": model, "usage": {"prompt_tokens": 6, "total_tokens": 6}}
    return sdk_validate(CreateEmbeddingResponse, data)
