"""The google-genai SDK's types as the schema of the wire (the SDK is a test-only dependency).

Every provider in these tests sends through :class:`GeminiWire`, an httpx transport that
checks each exchange before passing it on; a body that does not validate fails the test.

* ``generateContent`` / ``streamGenerateContent`` requests: each top-level field is
  validated with the SDK's model for it (``contents`` as ``list[Content]``,
  ``systemInstruction`` as ``Content``, ``tools`` as ``list[Tool]``, ``toolConfig`` as
  ``ToolConfig``, ``generationConfig`` as ``GenerationConfig``). The SDK's models forbid
  unknown keys; dumping the validated value again (by alias) must give the body back, so
  every key is the wire's camelCase name and no value was coerced. Then the rules the SDK
  documents for those fields: ``responseJsonSchema`` needs ``responseMimeType``, is
  exclusive with ``responseSchema`` and uses only the JSON Schema keywords its description
  lists (read from the SDK, with the "no sibling of ``$ref``" rule), and so do
  ``parametersJsonSchema``; and JSON mode never goes with ``functionDeclarations`` (Gemini
  answers 400 to that combination).
* ``batchEmbedContents`` requests must equal what the SDK's own request converter builds
  for the same texts and model.
* Responses: ``GenerateContentResponse`` (each event of a stream), ``EmbedContentResponse``;
  error bodies must be readable by the SDK's ``errors.APIError``.

Fixture replies are built with :func:`response`, :func:`embeddings` and :func:`error`,
which validate too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import httpx
from google.genai import _api_client, errors, models, types
from pydantic import TypeAdapter

#: the request fields of generateContent and the SDK type of each
GENERATE_FIELDS: dict[str, Any] = {
    "contents": list[types.Content],
    "systemInstruction": types.Content,
    "tools": list[types.Tool],
    "toolConfig": types.ToolConfig,
    "generationConfig": types.GenerationConfig,
    "safetySettings": list[types.SafetySetting],
    "cachedContent": str,
}


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def validate(tp: Any, value: Any) -> Any:
    """``value`` validated as ``tp`` from its JSON (bytes fields are base64 there); it must dump back unchanged."""
    adapter = _adapter(tp)
    parsed = adapter.validate_json(json.dumps(value))
    again = adapter.dump_python(parsed, mode="json", by_alias=True, exclude_none=True)
    assert again == value, f"{tp} does not carry the value unchanged:\n sent  {value}\n typed {again}"
    return parsed


@cache
def json_schema_keywords() -> frozenset[str]:
    """The JSON Schema keywords Gemini supports, as the SDK's ``response_json_schema`` description lists them."""
    text = " ".join((types.GenerateContentConfig.model_fields["response_json_schema"].description or "").split())
    listed = text.split("only the following properties are supported:")[1].split("Cyclic")[0]
    return frozenset(re.findall(r"`(\$?[A-Za-z]+)`", listed))


_SCHEMA_VALUED = {"items", "additionalProperties"}
_SCHEMA_LISTS = {"anyOf", "oneOf", "prefixItems"}
_SCHEMA_MAPS = {"properties", "$defs"}


def check_json_schema(schema: Any, where: str) -> None:
    """``schema`` uses only the supported keywords, and a ``$ref`` has only ``$``-siblings."""
    assert isinstance(schema, dict), f"{where}: a schema must be an object"
    unknown = set(schema) - json_schema_keywords()
    assert not unknown, f"{where}: keywords Gemini does not support: {sorted(unknown)}"
    if "$ref" in schema:
        siblings = [k for k in schema if not k.startswith("$")]
        assert not siblings, f"{where}: $ref with siblings {siblings}"
    for key, value in schema.items():
        if key in _SCHEMA_VALUED and isinstance(value, dict):
            check_json_schema(value, f"{where}.{key}")
        elif key in _SCHEMA_LISTS:
            for i, sub in enumerate(value):
                check_json_schema(sub, f"{where}.{key}[{i}]")
        elif key in _SCHEMA_MAPS:
            for name, sub in value.items():
                check_json_schema(sub, f"{where}.{key}.{name}")


def check_generate_request(body: Any) -> None:
    """Validate a generateContent body (module docstring)."""
    unknown = set(body) - set(GENERATE_FIELDS)
    assert not unknown, f"generateContent has no fields {sorted(unknown)}"
    for key, value in body.items():
        validate(GENERATE_FIELDS[key], value)
    config = body.get("generationConfig") or {}
    if "responseJsonSchema" in config:
        assert config.get("responseMimeType") == "application/json", "responseJsonSchema needs responseMimeType"
        assert "responseSchema" not in config, "responseSchema and responseJsonSchema are exclusive"
        check_json_schema(config["responseJsonSchema"], "responseJsonSchema")
    declarations = [d for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []]
    for decl in declarations:
        assert not ("parameters" in decl and "parametersJsonSchema" in decl), "parameters and parametersJsonSchema are exclusive"
        if "parametersJsonSchema" in decl:
            check_json_schema(decl["parametersJsonSchema"], f"{decl['name']}.parametersJsonSchema")
    json_mode = config.get("responseMimeType") == "application/json"
    assert not (declarations and json_mode), "function declarations with JSON mode: Gemini answers 400"


def sdk_embed_request(model: str, contents: list[Any]) -> Any:
    """The batchEmbedContents body the SDK builds for ``contents`` (Gemini Developer API, not Vertex)."""
    client = _api_client.BaseApiClient(api_key="test-key")
    params = types._EmbedContentParametersPrivate(model=model, contents=contents)
    request = models._EmbedContentParametersPrivate_to_mldev(client, params, None, params)
    request.pop("_url", None)
    request.pop("config", None)
    return json.loads(json.dumps(types._common.convert_to_dict(request), default=str))


def check_request(url: httpx.URL, body: Any) -> None:
    path = url.path
    if path.endswith((":generateContent", ":streamGenerateContent")):
        check_generate_request(body)
        if path.endswith(":streamGenerateContent"):
            assert url.params.get("alt") == "sse", "streaming needs alt=sse"
    elif path.endswith(":batchEmbedContents"):
        model = path.rsplit("/", 1)[-1].removesuffix(":batchEmbedContents")
        contents = [validate(types.Content, r["content"]) for r in body["requests"]]
        assert body == sdk_embed_request(model, contents), "not the request the SDK sends"
    else:
        raise AssertionError(f"unexpected endpoint {path}")


def sse_data(content: bytes) -> list[Any]:
    return [json.loads(line[5:]) for line in content.decode().splitlines() if line.startswith("data:")]


def check_response(url: httpx.URL, status: int, content: bytes) -> None:
    if status >= 400:
        body = json.loads(content)
        error_ = errors.APIError(status, body)
        assert error_.code == status and error_.message and error_.status
        return
    if url.path.endswith(":streamGenerateContent"):
        for chunk in sse_data(content):
            validate(types.GenerateContentResponse, chunk)
    elif url.path.endswith(":generateContent"):
        validate(types.GenerateContentResponse, json.loads(content))
    else:
        validate(types.EmbedContentResponse, json.loads(content))


class GeminiWire(httpx.AsyncBaseTransport):
    """An httpx transport checking every exchange against the SDK's types, then passing it on.

    ``requests`` holds every (validated) request body in order; ``paths`` their URL paths.
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[Any] = []
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        check_request(request.url, body)
        self.requests.append(body)
        self.paths.append(request.url.path)
        response = await self.inner.handle_async_request(request)
        content = b"".join([part async for part in response.aiter_raw()])
        await response.aclose()
        check_response(request.url, response.status_code, content)
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- fixture replies, validated by the SDK's response types ---------------------------------------


def usage(prompt: int = 12, candidates: int = 6, *, thoughts: int | None = None, cached: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": candidates}
    if thoughts is not None:
        out["thoughtsTokenCount"] = thoughts
    if cached is not None:
        out["cachedContentTokenCount"] = cached
    out["totalTokenCount"] = prompt + candidates + (thoughts or 0)
    return out


def text(value: str, *, signature: str | None = None, thought: bool = False) -> dict[str, Any]:
    part: dict[str, Any] = {"text": value}
    if thought:
        part["thought"] = True
    if signature:
        part["thoughtSignature"] = signature
    return part


def call(name: str, args: dict[str, Any], *, call_id: str | None = None, signature: str | None = None) -> dict[str, Any]:
    fc: dict[str, Any] = {"name": name, "args": args}
    if call_id:
        fc["id"] = call_id
    part: dict[str, Any] = {"functionCall": fc}
    if signature:
        part["thoughtSignature"] = signature
    return part


def response(
    *parts: dict[str, Any],
    finish: str | None = "STOP",
    usage_: dict[str, Any] | None = None,
    model: str = "gemini-3.8-flash",
    feedback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A generateContent reply (validated as the SDK's ``GenerateContentResponse``); no parts and a
    ``feedback``: a blocked prompt (no candidates)."""
    data: dict[str, Any] = {}
    if parts or feedback is None:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        data["candidates"] = [candidate]
    if feedback is not None:
        data["promptFeedback"] = feedback
    data["usageMetadata"] = usage_ or usage()
    data["modelVersion"] = model
    data["responseId"] = "resp-1"
    validate(types.GenerateContentResponse, data)
    return data


def stream_chunks(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """``reply`` as the API streams it: one chunk per part; the last carries finishReason and usage."""
    (candidate,) = reply["candidates"]
    parts = candidate["content"]["parts"]
    chunks = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        cand: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        chunk: dict[str, Any] = {"candidates": [cand], "modelVersion": reply["modelVersion"], "responseId": reply["responseId"]}
        if last:
            if "finishReason" in candidate:
                cand["finishReason"] = candidate["finishReason"]
            chunk["usageMetadata"] = reply["usageMetadata"]
        validate(types.GenerateContentResponse, chunk)
        chunks.append(chunk)
    return chunks


def sse(chunks: list[dict[str, Any]]) -> str:
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)


def embeddings(vectors: list[list[float]], *, prompt_tokens: int | None = None) -> dict[str, Any]:
    """A batchEmbedContents reply (validated as the SDK's ``EmbedContentResponse``)."""
    data: dict[str, Any] = {"embeddings": [{"values": v} for v in vectors]}
    if prompt_tokens is not None:
        data["usageMetadata"] = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
    validate(types.EmbedContentResponse, data)
    return data


def error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    """An error body (google.rpc.Status), as ``errors.APIError`` reads it."""
    body: dict[str, Any] = {"error": {"code": code, "message": message, "status": status}}
    if details:
        body["error"]["details"] = list(details)
    read = errors.APIError(code, body)
    assert (read.code, read.status, read.message) == (code, status, message)
    return body


def retry_info(seconds: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": seconds}
