"""OpenAI chat completions over httpx: OpenAI, any compatible server, Azure OpenAI, Docker Model Runner.

One request builder (:meth:`OpenAIProvider.build_body`) and one response parser per
shape (completion, stream, embeddings). What is sent depends on the endpoint's
*dialect*: ``"openai"`` (the OpenAI API and Azure OpenAI) or ``"compatible"`` (any other
server: llama.cpp, vLLM, Docker Model Runner...), see :attr:`OpenAIProvider.dialect`:

* the output-token limit is ``max_completion_tokens`` for ``openai`` (``max_tokens`` is
  deprecated there and refused by reasoning models) and ``max_tokens`` for ``compatible``;
* reasoning models (o1, o3, o4, gpt-5 except gpt-5-chat) on the ``openai`` dialect get
  no ``temperature``, ``top_p``, ``frequency_penalty``, ``presence_penalty`` (they accept
  only the defaults); o3 and o4-mini get no ``stop``; ``top_k`` is not in the API: never sent;
* structured output: ``response_format`` ``json_schema`` with ``strict: true`` (the
  schema made strict-compatible, see :mod:`kaizen_openai.schema`; ``strict: false`` with
  the schema as is when strict mode cannot express it). When a server rejects that
  (HTTP 400/422/500 whose message mentions ``response_format``/``json_schema``;
  llama-cpp-python answers 500) the request falls back, on ``compatible`` endpoints, to
  ``json_object`` with the schema in the ``schema`` field (an extension llama.cpp and vLLM
  enforce) and in the system prompt, then to plain ``json_object`` + prompt; on
  ``openai`` endpoints straight to ``json_object`` + prompt (the API defines no
  ``schema`` field there). The agent validates and retries on top.

The fallback is per request. It is remembered for the model only when the answer is a
confirmed capability answer (:func:`confirms_unsupported`: a 400/422 saying the format
is not supported); one failing request never downgrades the others.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

from kaizen_core.errors import ConfigError, OutputValidationError, ProviderError
from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.http import HTTPProvider
from kaizen_core.providers.pricing import cost_usd
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
from kaizen_openai.detect import DOCKER_MODEL_RUNNER_URL
from kaizen_openai.pricing import PRICES
from kaizen_openai.schema import from_strict, strict_schema

__all__ = ["DIALECTS", "STRUCTURED_MODES", "AzureOpenAIProvider", "DockerModelRunnerProvider", "OpenAIProvider"]

logger = logging.getLogger("kaizen.providers.openai")

OPENAI_BASE_URL = "https://api.openai.com/v1"
#: Structured-output modes, strongest first; the provider steps down on rejection.
STRUCTURED_MODES = ("json_schema", "json_object_schema", "json_object")
#: What an endpoint speaks: the OpenAI API itself (and Azure OpenAI), or an OpenAI-compatible server.
DIALECTS = ("openai", "compatible")
#: The modes each dialect steps through (``json_object_schema`` is an extension of compatible servers).
_DIALECT_MODES = {"openai": ("json_schema", "json_object"), "compatible": STRUCTURED_MODES}
#: Reasoning models: only the default temperature (names as the API spells them, with or without a date).
_REASONING = re.compile(r"^(o\d|gpt-5(?!-chat))", re.IGNORECASE)
#: Models the SDK documents as not supporting ``stop``.
_NO_STOP = re.compile(r"^(o3|o4-mini)(-\d{4}-\d{2}-\d{2})?$", re.IGNORECASE)
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_REJECTS_FORMAT = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)
#: A 400/422 answer saying the format itself is unsupported (not that this request's schema is wrong).
_UNSUPPORTED = re.compile(r"not supported|unsupported|does not support|not available|not allowed", re.IGNORECASE)


def _rejects_format(error: ProviderError) -> bool:
    """The server refused the ``response_format`` we sent (llama.cpp answers 500 for it)."""
    return error.status in (400, 422, 500) and bool(_REJECTS_FORMAT.search(error.message))


def confirms_unsupported(error: ProviderError) -> bool:
    """A capability answer: a 400/422 saying the ``response_format`` kind is not supported.

    Only such an answer is remembered for the model. A 500 (llama-cpp-python's validation
    error, an overloaded server) or a 400 about this request's schema is not: the next
    request tries the strongest mode again.
    """
    return error.status in (400, 422) and _rejects_format(error) and bool(_UNSUPPORTED.search(error.message))


def schema_instruction(schema: dict[str, Any]) -> str:
    """The system-prompt text used when the server cannot enforce the schema itself."""
    return (
        "Reply with one JSON object only (no prose, no code fences) that conforms to this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )


def parse_tool_arguments(text: str | None, *, name: str) -> dict[str, Any]:
    """Tool-call arguments (a JSON string on the wire) as a dict; AGENT_006 if not an object."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = parse_json_output(text)
    if not isinstance(value, dict):
        raise OutputValidationError(
            f"the model's arguments for tool {name!r} are not a JSON object", raw_output=text
        )
    return value


class OpenAIProvider(HTTPProvider):
    """OpenAI chat completions API (and any OpenAI-compatible server).

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``api_key``,
    env ``OPENAI_API_KEY``; ``base_url``, env ``OPENAI_BASE_URL``, default the OpenAI API;
    ``timeout`` 60 s, ``max_retries`` 2, ``max_retry_after``, ``embedding_model``,
    ``headers``, ``transport``) plus ``organization``, ``structured_mode`` (the mode
    every request starts in: ``"json_schema"`` by default; ``"json_object_schema"`` or
    ``"json_object"`` skip the stronger attempts) and ``dialect`` (``"openai"`` or
    ``"compatible"``; by default ``"openai"`` for the OpenAI API's URL and
    ``"compatible"`` for any other ``base_url``: see the module docstring).
    """

    name: ClassVar[str] = "openai"
    default_model: ClassVar[str] = "gpt-4o-mini"
    default_embedding_model: ClassVar[str] = "text-embedding-3-small"
    default_base_url: ClassVar[str] = OPENAI_BASE_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    extra_options: ClassVar[tuple[str, ...]] = ("organization", "structured_mode", "dialect")
    #: the dialect when the ``dialect`` option is not given (None: decided by the URL)
    default_dialect: ClassVar[str | None] = None
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True
    #: locally served models cost nothing; cost is 0.0 instead of None
    local: ClassVar[bool] = False

    def __init__(
        self,
        model: str | None = None,
        *,
        organization: str | None = None,
        structured_mode: str | None = None,
        dialect: str | None = None,
        **options: Any,
    ) -> None:
        if structured_mode is not None and structured_mode not in STRUCTURED_MODES:
            raise ConfigError(f"structured_mode must be one of {', '.join(STRUCTURED_MODES)}")
        if dialect is not None and dialect not in DIALECTS:
            raise ConfigError(f"dialect must be one of {', '.join(DIALECTS)}")
        self.organization = organization
        #: the mode each request starts in (a model confirmed not to support it starts lower)
        self.structured_mode = structured_mode or STRUCTURED_MODES[0]
        self._model_modes: dict[str, str] = {}
        super().__init__(model, **options)
        #: ``"openai"`` (the OpenAI API, Azure OpenAI) or ``"compatible"`` (any other server)
        self.dialect: str = dialect or self.default_dialect or (
            "openai" if self.base_url == OPENAI_BASE_URL else "compatible"
        )

    # -- configuration hooks (overridden by Azure / Docker) -------------------------------
    def _check_api_key(self) -> None:
        if not self.api_key and self.base_url == OPENAI_BASE_URL:
            raise ConfigError(
                "the openai provider needs an API key",
                hint="set OPENAI_API_KEY (or pass api_key), or set OPENAI_BASE_URL to a compatible server",
            )

    def _default_headers(self) -> dict[str, str]:
        return {"OpenAI-Organization": self.organization} if self.organization else {}

    def _should_retry(self, error: ProviderError) -> bool:
        return not _rejects_format(error)  # a rejected response_format is answered by stepping down, not retrying

    def _chat_path(self, model: str) -> str:
        return "chat/completions"

    def _embeddings_path(self, model: str) -> str:
        return "embeddings"

    def _cost(self, model: str, usage: Usage) -> float | None:
        if self.local:
            return 0.0
        return cost_usd(PRICES, model, usage)

    # -- request building -----------------------------------------------------------------
    @staticmethod
    def _message(msg: Message) -> dict[str, Any]:
        if msg.role == "tool":
            return {"role": "tool", "tool_call_id": msg.tool_call_id or "", "content": msg.content or ""}
        out: dict[str, Any] = {"role": msg.role, "content": msg.content}
        if msg.role != "assistant" and out["content"] is None:
            out["content"] = ""
        if msg.name:
            out["name"] = msg.name
        if msg.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in msg.tool_calls
            ]
        return out

    def build_body(self, request: CompletionRequest, mode: str | None = None) -> dict[str, Any]:
        """The JSON body of a chat completion for ``request`` in structured ``mode``."""
        mode = mode or self.structured_mode_for(request.model)
        model = request.model or self.model
        messages = [self._message(m) for m in request.messages]
        body: dict[str, Any] = {"model": model, "messages": messages}
        params = self.generation_params(request)
        openai = self.dialect == "openai"
        if not (openai and _REASONING.match(model)):  # reasoning models take the default sampling only
            sampling = {
                "temperature": params.temperature,
                "top_p": params.top_p,
                "frequency_penalty": params.frequency_penalty,
                "presence_penalty": params.presence_penalty,
            }
            body.update({k: v for k, v in sampling.items() if v is not None})
        if params.max_tokens is not None:
            body["max_completion_tokens" if openai else "max_tokens"] = params.max_tokens
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop and not (openai and _NO_STOP.match(model)):
            body["stop"] = params.stop
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
            choice = request.tool_choice
            if choice in ("auto", "required", "none"):
                body["tool_choice"] = choice
            elif choice:
                body["tool_choice"] = {"type": "function", "function": {"name": choice}}
        schema = request.output_schema
        if schema is not None:
            if mode == "json_schema":
                strict = strict_schema(schema)
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": re.sub(r"[^a-zA-Z0-9_-]", "_", request.schema_name)[:64] or "output",
                        "schema": strict if strict is not None else schema,
                        "strict": strict is not None,  # not strict: the agent's validation enforces the schema
                    },
                }
            else:
                body["response_format"] = {"type": "json_object"}
                if mode == "json_object_schema":
                    body["response_format"]["schema"] = schema
                _add_instruction(messages, schema_instruction(schema))
        return body

    # -- fallback -------------------------------------------------------------------------
    def structured_mode_for(self, model: str | None = None) -> str:
        """The structured-output mode a request for ``model`` starts in.

        :attr:`structured_mode`, unless the server confirmed that ``model`` does not
        support it (see :func:`confirms_unsupported`): then the mode it fell back to.
        """
        return self._model_modes.get(model or self.model, self.structured_mode)

    def _downgrade(self, error: ProviderError, mode: str, request: CompletionRequest) -> str | None:
        """The next mode when ``error`` is the server rejecting ``mode``; else None.

        The step down is for this request only, unless the server's answer confirms that
        the model does not support ``mode`` (then later requests for it start lower).
        """
        if request.output_schema is None or not _rejects_format(error):
            return None
        weaker = [m for m in STRUCTURED_MODES[STRUCTURED_MODES.index(mode) + 1 :] if m in _DIALECT_MODES[self.dialect]]
        if not weaker:
            return None
        lower = weaker[0]
        if confirms_unsupported(error):
            self._model_modes[request.model or self.model] = lower
        # Expected on compatible servers (llama-cpp-python refuses json_schema); on the OpenAI API it
        # means the schema or the model was refused, which the user should hear about.
        logger.log(
            logging.WARNING if self.dialect == "openai" else logging.INFO,
            "%s refused response_format %s for model %s (%s); this request falls back to %s",
            self.name, mode, request.model or self.model, error.message, lower,
        )
        return lower

    async def _with_fallback(
        self, request: CompletionRequest, call: Callable[[dict[str, Any]], Awaitable[Completion]]
    ) -> Completion:
        mode = self.structured_mode_for(request.model)
        while True:
            try:
                return await call(self.build_body(request, mode))
            except ProviderError as error:
                nxt = self._downgrade(error, mode, request)
                if nxt is None:
                    raise
                mode = nxt

    # -- API --------------------------------------------------------------------------------
    async def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion (with structured-output fallback)."""
        start = time.perf_counter()
        model = request.model or self.model

        async def call(body: dict[str, Any]) -> Completion:
            data = await self.http.post_json(self._chat_path(model), body, timeout=request.params.timeout)
            return self._parse_completion(data, request, model)

        completion = await self._with_fallback(request, call)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    def _parse_completion(self, data: Any, request: CompletionRequest, model: str) -> Completion:
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError):
            raise ProviderError(f"{self.name} returned a response without choices: {str(data)[:300]}") from None
        content, finish = _answer(
            message.get("content"), message.get("refusal"), _FINISH.get(choice.get("finish_reason") or "stop", "unknown")
        )
        calls = [
            ToolCall(
                id=tc.get("id") or f"call_{i}",
                name=tc["function"]["name"],
                arguments=parse_tool_arguments(tc["function"].get("arguments"), name=tc["function"]["name"]),
            )
            for i, tc in enumerate(message.get("tool_calls") or [])
        ]
        if calls:
            finish = "tool_calls"
        used_model = data.get("model") or model
        usage = self._usage(data.get("usage"), used_model)
        return Completion(
            content=content,
            parsed=self._parsed(content, request),
            tool_calls=calls,
            usage=usage,
            finish_reason=finish,
            model=used_model,
            raw=data,
        )

    def _usage(self, raw: Any, model: str) -> Usage:
        """Usage from the API's ``usage`` object; ``prompt_tokens`` includes the cached ones."""
        raw = raw or {}
        details = raw.get("prompt_tokens_details") or {}
        usage = Usage(
            input_tokens=int(raw.get("prompt_tokens") or 0),
            output_tokens=int(raw.get("completion_tokens") or 0),
            cached_input_tokens=int(details.get("cached_tokens") or 0),
        )
        usage.cost_usd = self._cost(model, usage)
        return usage

    @staticmethod
    def _parsed(content: str | None, request: CompletionRequest) -> dict[str, Any] | None:
        if request.output_schema is None:
            return None
        parsed = parse_json_output(content)
        # back from the strict-mode form (key/value pairs -> maps, nulls of optional fields dropped)
        return from_strict(parsed, request.output_schema) if parsed is not None else None

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Stream text and tool-call deltas (SSE), then ``done`` with usage."""
        mode = self.structured_mode_for(request.model)
        while True:
            started = False
            try:
                async for event in self._stream_once(request, mode):
                    started = True
                    yield event
                return
            except ProviderError as error:
                nxt = None if started else self._downgrade(error, mode, request)
                if nxt is None:
                    raise
                mode = nxt

    async def _stream_once(self, request: CompletionRequest, mode: str) -> AsyncIterator[StreamEvent]:
        start = time.perf_counter()
        model = request.model or self.model
        body = self.build_body(request, mode)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        text: list[str] = []
        refusal: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: FinishReason = "stop"
        raw_usage: Any = None
        used_model = model
        chunks = 0
        async for event in self.http.stream_sse(self._chat_path(model), body, timeout=request.params.timeout):
            if event.data.strip() == "[DONE]":
                break
            chunk = event.json()
            if isinstance(chunk, dict) and chunk.get("error"):
                raise ProviderError(f"{self.name} stream error: {json.dumps(chunk['error'])[:300]}")
            used_model = chunk.get("model") or used_model
            raw_usage = chunk.get("usage") or raw_usage
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content") or delta.get("tool_calls") or delta.get("refusal"):
                    chunks += 1
                if delta.get("content"):
                    text.append(delta["content"])
                    yield StreamEvent(type="text", text=delta["content"])
                if delta.get("refusal"):  # streamed like text, reported like the non-streamed refusal
                    refusal.append(delta["refusal"])
                    yield StreamEvent(type="text", text=delta["refusal"])
                for tc in delta.get("tool_calls") or []:
                    index = int(tc.get("index", 0))
                    fn = tc.get("function") or {}
                    acc = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
                    acc["id"] = tc.get("id") or acc["id"]
                    acc["name"] = fn.get("name") or acc["name"]
                    acc["arguments"] += fn.get("arguments") or ""
                    yield StreamEvent(
                        type="tool_call",
                        tool_call=ToolCallDelta(
                            index=index, id=tc.get("id"), name=fn.get("name"), arguments_delta=fn.get("arguments") or ""
                        ),
                    )
                if choice.get("finish_reason"):
                    finish = _FINISH.get(choice["finish_reason"], "unknown")
        usage = self._usage(raw_usage, used_model)
        if raw_usage is None:
            # the server sent no usage: count streamed chunks (one token each on llama.cpp); no cost from an estimate
            usage = Usage(output_tokens=chunks)
        tool_calls = [
            ToolCall(
                id=acc["id"] or f"call_{i}",
                name=acc["name"],
                arguments=parse_tool_arguments(acc["arguments"], name=acc["name"]),
            )
            for i, acc in sorted(calls.items())
        ]
        if tool_calls:
            finish = "tool_calls"
        content, finish = _answer("".join(text) or None, "".join(refusal) or None, finish)
        completion = Completion(
            content=content,
            parsed=self._parsed(content, request),
            tool_calls=tool_calls,
            usage=usage,
            finish_reason=finish,
            model=used_model,
            latency_ms=(time.perf_counter() - start) * 1000,
        )
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Embeddings via ``/embeddings``, in input order."""
        model = model or self.embedding_model
        data = await self.http.post_json(self._embeddings_path(model), {"model": model, "input": texts})
        try:
            rows = sorted(data["data"], key=lambda row: row.get("index", 0))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError) as exc:
            raise ProviderError(f"{self.name} returned a malformed embeddings response: {str(data)[:300]}") from exc
        used_model = data.get("model") or model
        raw = data.get("usage") or {}
        usage = Usage(input_tokens=int(raw.get("prompt_tokens") or raw.get("total_tokens") or 0))
        usage.cost_usd = self._cost(used_model, usage)
        return Embeddings(vectors=vectors, model=used_model, usage=usage)


def _answer(content: str | None, refusal: str | None, finish: FinishReason) -> tuple[str | None, FinishReason]:
    """Content and finish reason of a reply: a refusal without content is the content, finish ``content_filter``."""
    if refusal and not content:
        return refusal, "content_filter"
    return content, finish


def _add_instruction(messages: list[dict[str, Any]], instruction: str) -> None:
    """Append ``instruction`` to the first system message (or insert one)."""
    for msg in messages:
        if msg["role"] == "system":
            msg["content"] = f"{msg['content']}\n\n{instruction}" if msg.get("content") else instruction
            return
    messages.insert(0, {"role": "system", "content": instruction})


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI / Azure AI Foundry: the same API behind an Azure endpoint.

    Options: ``endpoint`` (env ``AZURE_OPENAI_ENDPOINT``), ``api_key`` (env
    ``AZURE_OPENAI_API_KEY``, sent as ``api-key``), ``api_version`` (env
    ``OPENAI_API_VERSION``, default ``2024-10-21``), and the OpenAI options. ``model`` is
    the deployment name (env ``AZURE_OPENAI_DEPLOYMENT``). With ``api_version="v1"`` the
    v1 API (``/openai/v1``, model in the body) is used. ``base_url`` overrides the endpoint.
    """

    name: ClassVar[str] = "azure"
    default_model: ClassVar[str] = ""
    default_api_version: ClassVar[str] = "2024-10-21"
    base_url_env: ClassVar[tuple[str, ...]] = ()
    api_key_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_API_KEY",)
    extra_options: ClassVar[tuple[str, ...]] = (*OpenAIProvider.extra_options, "endpoint", "api_version")
    default_dialect: ClassVar[str | None] = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        endpoint: str | None = None,
        api_version: str | None = None,
        **options: Any,
    ) -> None:
        self.endpoint = (endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT") or "").rstrip("/")
        if not self.endpoint and not options.get("base_url"):
            raise ConfigError("the azure provider needs an endpoint", hint="set AZURE_OPENAI_ENDPOINT or pass endpoint")
        self.api_version = api_version or os.environ.get("OPENAI_API_VERSION") or self.default_api_version
        model = model or os.environ.get("AZURE_OPENAI_DEPLOYMENT")
        if not model:
            raise ConfigError("the azure provider needs a deployment name", hint="pass model= or set AZURE_OPENAI_DEPLOYMENT")
        super().__init__(model, **options)

    def _resolve_base_url(self, base_url: str | None) -> str:
        if base_url:
            return base_url
        if self.api_version in ("v1", "preview", "latest"):
            return f"{self.endpoint}/openai/v1"
        return f"{self.endpoint}/openai"

    def _check_api_key(self) -> None:
        HTTPProvider._check_api_key(self)  # Azure always needs its key, whatever the URL

    def _auth_headers(self) -> dict[str, str]:
        return {"api-key": self.api_key or ""}

    def _query_params(self) -> dict[str, str]:
        if self.api_version in ("v1", "latest"):
            return {}
        return {"api-version": self.api_version}

    def _uses_v1(self) -> bool:
        return self.base_url.endswith("/openai/v1")

    def _chat_path(self, model: str) -> str:
        return "chat/completions" if self._uses_v1() else f"deployments/{model}/chat/completions"

    def _embeddings_path(self, model: str) -> str:
        return "embeddings" if self._uses_v1() else f"deployments/{model}/embeddings"


class DockerModelRunnerProvider(OpenAIProvider):
    """Docker Model Runner's OpenAI-compatible API (default ``localhost:12434/engines/v1``, no key).

    ``base_url`` overrides the URL (env ``DOCKER_MODEL_RUNNER_URL``). Local models: cost 0.
    """

    name: ClassVar[str] = "docker"
    default_model: ClassVar[str] = "ai/smollm2"
    default_embedding_model: ClassVar[str] = "ai/mxbai-embed-large"
    default_base_url: ClassVar[str] = DOCKER_MODEL_RUNNER_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("DOCKER_MODEL_RUNNER_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = ()
    default_dialect: ClassVar[str | None] = "compatible"
    local: ClassVar[bool] = True
