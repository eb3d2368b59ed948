"""Ollama's native API over httpx: ``/api/chat`` (NDJSON streaming) and ``/api/embed``.

Structured output: ``format`` set to the JSON schema (Ollama constrains decoding to
it). Tools: native ``tools``, their parameters rewritten into the structure Ollama's tool
schema carries (:mod:`kaizen_ollama.schema`: refs inlined, ``Optional`` as a type list).
Ollama has no ``tool_choice``: forcing one named tool is
done by setting ``format`` to that tool's parameter schema and turning the JSON reply
into a tool call; ``"required"`` with several tools is sent as plain tools (the model
may still answer in text). Local models cost 0.0.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.http import HTTPProvider
from kaizen_core.providers.types import (
    Completion,
    CompletionRequest,
    Embeddings,
    FinishReason,
    Message,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from kaizen_ollama.detect import ollama_url
from kaizen_ollama.schema import ollama_parameters

__all__ = ["OllamaProvider"]

_DONE: dict[str, FinishReason] = {"stop": "stop", "length": "length", "load": "stop"}


class OllamaProvider(HTTPProvider):
    """Ollama chat, tools, structured output and embeddings.

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``base_url``,
    alias ``host``, env ``OLLAMA_HOST``, default ``localhost:11434``; ``timeout``, default
    120 s: local models can be slow to load; ``max_retries``, ``max_retry_after``,
    ``embedding_model``, ``headers``, ``transport``; ``api_key``, env ``OLLAMA_API_KEY``,
    optional, sent as a bearer token for servers behind an authenticating proxy) plus
    ``keep_alive`` and ``options`` (extra Ollama model options).
    """

    name: ClassVar[str] = "ollama"
    default_model: ClassVar[str] = "llama3.2"
    default_embedding_model: ClassVar[str] = "nomic-embed-text"
    api_key_env: ClassVar[tuple[str, ...]] = ("OLLAMA_API_KEY",)
    requires_api_key: ClassVar[bool] = False
    default_timeout: ClassVar[float] = 120.0
    extra_options: ClassVar[tuple[str, ...]] = ("host", "keep_alive", "options")
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def __init__(
        self,
        model: str | None = None,
        *,
        host: str | None = None,
        base_url: str | None = None,
        keep_alive: str | None = None,
        options: dict[str, Any] | None = None,
        **http_options: Any,
    ) -> None:
        self.keep_alive = keep_alive
        self.model_options = dict(options or {})
        super().__init__(model, base_url=base_url or host, **http_options)

    def _resolve_base_url(self, base_url: str | None) -> str:
        return ollama_url(base_url)  # OLLAMA_HOST forms: host, host:port, 0.0.0.0, full URLs

    # -- request ---------------------------------------------------------------------------
    @staticmethod
    def _messages(messages: list[Message]) -> list[dict[str, Any]]:
        names = {c.id: c.name for m in messages for c in m.tool_calls}
        out: list[dict[str, Any]] = []
        for msg in messages:
            item: dict[str, Any] = {"role": msg.role, "content": msg.content or ""}
            if msg.tool_calls:
                item["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}} for c in msg.tool_calls]
            if msg.role == "tool":
                name = msg.name or names.get(msg.tool_call_id or "")
                if name:
                    item["tool_name"] = name
            out.append(item)
        return out

    def _forced_tool(self, request: CompletionRequest) -> Any:
        choice = request.tool_choice
        if choice and choice not in ("auto", "required", "none"):
            for tool in request.tools:
                if tool.name == choice:
                    return tool
            raise ConfigError(f"tool_choice names {choice!r}, which is not among the request's tools")
        return None

    def build_body(self, request: CompletionRequest, *, stream: bool = False) -> dict[str, Any]:
        """The JSON body of ``/api/chat`` for ``request``."""
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": self._messages(request.messages),
            "stream": stream,
        }
        forced = self._forced_tool(request)
        if forced is not None:
            body["format"] = forced.parameters
        else:
            if request.tools and request.tool_choice != "none":
                body["tools"] = [
                    {
                        "type": "function",
                        "function": {"name": t.name, "description": t.description, "parameters": ollama_parameters(t.parameters)},
                    }
                    for t in request.tools
                ]
            if request.output_schema is not None:
                body["format"] = request.output_schema
        params = self.generation_params(request)
        options = dict(self.model_options)
        if params.temperature is not None:
            options["temperature"] = params.temperature
        for name in ("top_p", "top_k", "frequency_penalty", "presence_penalty"):  # Ollama's Options names
            if getattr(params, name) is not None:
                options[name] = getattr(params, name)
        if params.max_tokens is not None:
            options["num_predict"] = params.max_tokens
        if params.seed is not None:
            options["seed"] = params.seed
        if params.stop:
            options["stop"] = params.stop
        if options:
            body["options"] = options
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    # -- response --------------------------------------------------------------------------
    def _completion(
        self, request: CompletionRequest, model: str, content: str, raw_calls: list[dict[str, Any]], final: dict[str, Any]
    ) -> Completion:
        calls = [
            ToolCall(id=f"call_{i}", name=c["function"]["name"], arguments=_arguments(c["function"].get("arguments")))
            for i, c in enumerate(raw_calls)
        ]
        finish: FinishReason = _DONE.get(final.get("done_reason") or "stop", "unknown")
        text: str | None = content or None
        forced = self._forced_tool(request)
        if forced is not None and not calls:
            arguments = parse_json_output(content)
            if arguments is None:
                raise ProviderError(
                    f"ollama did not return JSON arguments for the forced tool {forced.name!r}: {content[:200]!r}"
                )
            calls = [ToolCall(id="call_0", name=forced.name, arguments=arguments)]
            text = None
        if calls:
            finish = "tool_calls"
        usage = Usage(
            input_tokens=int(final.get("prompt_eval_count") or 0),
            output_tokens=int(final.get("eval_count") or 0),
            cost_usd=0.0,
        )
        parsed = parse_json_output(content) if request.output_schema is not None and forced is None else None
        return Completion(
            content=text,
            parsed=parsed,
            tool_calls=calls,
            usage=usage,
            finish_reason=finish,
            model=final.get("model") or model,
            raw=final,
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """One ``/api/chat`` call (``stream: false``)."""
        start = time.perf_counter()
        data = await self.http.post_json("api/chat", self.build_body(request), timeout=request.params.timeout)
        if not isinstance(data, dict) or "message" not in data:
            raise ProviderError(f"ollama returned a response without a message: {str(data)[:300]}")
        message = data["message"] or {}
        completion = self._completion(
            request, request.model or self.model, message.get("content") or "", message.get("tool_calls") or [], data
        )
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Stream NDJSON chunks as text / tool-call events, then ``done`` with usage."""
        start = time.perf_counter()
        text: list[str] = []
        calls: list[dict[str, Any]] = []
        final: dict[str, Any] = {}
        forced = self._forced_tool(request) is not None
        body = self.build_body(request, stream=True)
        async for chunk in self.http.stream_ndjson("api/chat", body, timeout=request.params.timeout):
            if chunk.get("error"):
                raise ProviderError(f"ollama stream error: {chunk['error']}")
            message = chunk.get("message") or {}
            piece = message.get("content") or ""
            if piece:
                text.append(piece)
                if forced:
                    yield StreamEvent(type="tool_call", tool_call=ToolCallDelta(index=0, arguments_delta=piece))
                else:
                    yield StreamEvent(type="text", text=piece)
            for call in message.get("tool_calls") or []:
                index = len(calls)
                calls.append(call)
                fn = call.get("function") or {}
                yield StreamEvent(
                    type="tool_call",
                    tool_call=ToolCallDelta(
                        index=index, id=f"call_{index}", name=fn.get("name"), arguments_delta=json.dumps(fn.get("arguments") or {})
                    ),
                )
            if chunk.get("done"):
                final = chunk
                break
        completion = self._completion(request, request.model or self.model, "".join(text), calls, final)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Embeddings via ``/api/embed`` (batch input)."""
        model = model or self.embedding_model
        data = await self.http.post_json("api/embed", {"model": model, "input": texts})
        try:
            vectors = [[float(x) for x in row] for row in data["embeddings"]]
        except (KeyError, TypeError) as exc:
            raise ProviderError(f"ollama returned a malformed embeddings response: {str(data)[:300]}") from exc
        usage = Usage(input_tokens=int(data.get("prompt_eval_count") or 0), cost_usd=0.0)
        return Embeddings(vectors=vectors, model=data.get("model") or model, usage=usage)



def _arguments(value: Any) -> dict[str, Any]:
    """Ollama sends arguments as an object; some models send a JSON string."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        parsed = parse_json_output(value)
        if parsed is not None:
            return parsed
    if not value:
        return {}
    raise ProviderError(f"ollama returned tool arguments that are not an object: {str(value)[:200]!r}")
