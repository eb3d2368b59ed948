"""Google Gemini API (``generativelanguage.googleapis.com``, v1beta) over httpx.

Structured output: ``generationConfig.responseMimeType = "application/json"`` plus
``responseSchema`` translated from the JSON schema (:mod:`kaizen_google.schema`
documents what it cannot express). Function calling through ``functionDeclarations``
and ``toolConfig.functionCallingConfig``. Embeddings through ``embedContent`` (one
text) and ``batchEmbedContents``. Streaming through ``streamGenerateContent?alt=sse``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from kaizen_core.errors import ProviderError
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
from kaizen_google.detect import KEY_VARIABLES
from kaizen_google.pricing import PRICES
from kaizen_google.schema import to_gemini_schema

__all__ = ["GoogleProvider"]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


class GoogleProvider(HTTPProvider):
    """Gemini chat, function calling, structured output and embeddings.

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``api_key``,
    env ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``, sent as ``x-goog-api-key``;
    ``base_url``, env ``GEMINI_BASE_URL``; ``timeout``, ``max_retries``,
    ``max_retry_after``, ``embedding_model``, ``headers``, ``transport``).
    """

    name: ClassVar[str] = "google"
    default_model: ClassVar[str] = "gemini-2.0-flash"
    default_embedding_model: ClassVar[str] = "text-embedding-004"
    default_base_url: ClassVar[str] = GEMINI_BASE_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("GEMINI_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = KEY_VARIABLES
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def _auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key or ""}

    @staticmethod
    def _model_path(model: str) -> str:
        return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"

    # -- request ---------------------------------------------------------------------------
    @staticmethod
    def _contents(messages: list[Message]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        names = {c.id: c.name for m in messages for c in m.tool_calls}
        system = [m.content for m in messages if m.role == "system" and m.content]
        contents: list[dict[str, Any]] = []
        for msg in messages:
            if msg.role == "system":
                continue
            if msg.role == "tool":
                name = msg.name or names.get(msg.tool_call_id or "") or "tool"
                try:
                    result = json.loads(msg.content or "")
                except json.JSONDecodeError:
                    result = msg.content
                response = result if isinstance(result, dict) else {"result": result}
                part = {"functionResponse": {"name": name, "response": response}}
                if contents and contents[-1]["role"] == "user" and "functionResponse" in contents[-1]["parts"][0]:
                    contents[-1]["parts"].append(part)
                else:
                    contents.append({"role": "user", "parts": [part]})
                continue
            role = "model" if msg.role == "assistant" else "user"
            parts: list[dict[str, Any]] = [{"text": msg.content}] if msg.content else []
            parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in msg.tool_calls]
            contents.append({"role": role, "parts": parts or [{"text": ""}]})
        instruction = {"parts": [{"text": "\n\n".join(system)}]} if system else None
        return instruction, contents

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body of ``generateContent`` for ``request``."""
        instruction, contents = self._contents(request.messages)
        body: dict[str, Any] = {"contents": contents}
        if instruction:
            body["systemInstruction"] = instruction
        if request.tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {"name": t.name, "description": t.description, "parameters": to_gemini_schema(t.parameters)}
                        for t in request.tools
                    ]
                }
            ]
            choice = request.tool_choice
            mode: dict[str, Any] | None = None
            if choice == "required":
                mode = {"mode": "ANY"}
            elif choice == "none":
                mode = {"mode": "NONE"}
            elif choice and choice != "auto":
                mode = {"mode": "ANY", "allowedFunctionNames": [choice]}
            if mode:
                body["toolConfig"] = {"functionCallingConfig": mode}
        config: dict[str, Any] = {}
        params = request.params
        if params.temperature is not None:
            config["temperature"] = params.temperature
        if params.max_tokens is not None:
            config["maxOutputTokens"] = params.max_tokens
        if params.seed is not None:
            config["seed"] = params.seed
        if params.stop:
            config["stopSequences"] = params.stop
        if request.output_schema is not None:
            config["responseMimeType"] = "application/json"
            config["responseSchema"] = to_gemini_schema(request.output_schema)
        if config:
            body["generationConfig"] = config
        return body

    # -- response --------------------------------------------------------------------------
    def _usage(self, model: str, raw: Any) -> Usage:
        raw = raw or {}
        usage = Usage(
            input_tokens=int(raw.get("promptTokenCount") or 0),
            output_tokens=int(raw.get("candidatesTokenCount") or 0) + int(raw.get("thoughtsTokenCount") or 0),
        )
        usage.cost_usd = cost_usd(PRICES, model, usage)
        return usage

    @staticmethod
    def _candidate(data: Any) -> dict[str, Any]:
        candidates = data.get("candidates") if isinstance(data, dict) else None
        if not candidates:
            feedback = (data or {}).get("promptFeedback") if isinstance(data, dict) else None
            if feedback and feedback.get("blockReason"):
                raise ProviderError(f"google blocked the prompt: {feedback['blockReason']}", hint="rephrase the request")
            return {}
        return dict(candidates[0])

    async def complete(self, request: CompletionRequest) -> Completion:
        """One ``generateContent`` call."""
        start = time.perf_counter()
        model = request.model or self.model
        data = await self.http.post_json(
            f"{self._model_path(model)}:generateContent", self.build_body(request), timeout=request.params.timeout
        )
        candidate = self._candidate(data)
        if not candidate:
            raise ProviderError(f"google returned no candidates: {str(data)[:300]}")
        parts = (candidate.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if "text" in p and not p.get("thought"))
        calls = [
            ToolCall(id=p["functionCall"].get("id") or f"call_{i}", name=p["functionCall"]["name"], arguments=p["functionCall"].get("args") or {})
            for i, p in enumerate(x for x in parts if "functionCall" in x)
        ]
        used_model = data.get("modelVersion") or model
        completion = Completion(
            content=text or None,
            parsed=parse_json_output(text) if request.output_schema is not None else None,
            tool_calls=calls,
            usage=self._usage(used_model, data.get("usageMetadata")),
            finish_reason="tool_calls" if calls else _FINISH.get(candidate.get("finishReason") or "STOP", "unknown"),
            model=used_model,
            raw=data,
        )
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """``streamGenerateContent?alt=sse``: text and function-call events, then ``done``."""
        start = time.perf_counter()
        model = request.model or self.model
        text: list[str] = []
        calls: list[ToolCall] = []
        finish: FinishReason = "stop"
        raw_usage: Any = None
        used_model = model
        async for event in self.http.stream_sse(
            f"{self._model_path(model)}:streamGenerateContent",
            self.build_body(request),
            timeout=request.params.timeout,
            params={"alt": "sse"},
        ):
            data = event.json()
            if isinstance(data, dict) and data.get("error"):
                raise ProviderError(f"google stream error: {json.dumps(data['error'])[:300]}")
            raw_usage = data.get("usageMetadata") or raw_usage
            used_model = data.get("modelVersion") or used_model
            candidate = self._candidate(data)
            for part in (candidate.get("content") or {}).get("parts") or []:
                if "text" in part and not part.get("thought") and part["text"]:
                    text.append(part["text"])
                    yield StreamEvent(type="text", text=part["text"])
                elif "functionCall" in part:
                    fc = part["functionCall"]
                    call = ToolCall(id=fc.get("id") or f"call_{len(calls)}", name=fc["name"], arguments=fc.get("args") or {})
                    yield StreamEvent(
                        type="tool_call",
                        tool_call=ToolCallDelta(index=len(calls), id=call.id, name=call.name, arguments_delta=json.dumps(call.arguments)),
                    )
                    calls.append(call)
            if candidate.get("finishReason"):
                finish = _FINISH.get(candidate["finishReason"], "unknown")
        content = "".join(text) or None
        completion = Completion(
            content=content,
            parsed=parse_json_output(content) if request.output_schema is not None else None,
            tool_calls=calls,
            usage=self._usage(used_model, raw_usage),
            finish_reason="tool_calls" if calls else finish,
            model=used_model,
            latency_ms=(time.perf_counter() - start) * 1000,
        )
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """``embedContent`` for one text, ``batchEmbedContents`` for several."""
        model = model or self.embedding_model
        path = self._model_path(model)
        try:
            if len(texts) == 1:
                data = await self.http.post_json(f"{path}:embedContent", {"content": {"parts": [{"text": texts[0]}]}})
                vectors = [[float(x) for x in data["embedding"]["values"]]]
            else:
                body = {"requests": [{"model": path, "content": {"parts": [{"text": t}]}} for t in texts]}
                data = await self.http.post_json(f"{path}:batchEmbedContents", body)
                vectors = [[float(x) for x in e["values"]] for e in data["embeddings"]]
        except (KeyError, TypeError) as exc:
            raise ProviderError(f"google returned a malformed embeddings response: {exc!r}") from exc
        return Embeddings(vectors=vectors, model=model, usage=Usage(cost_usd=cost_usd(PRICES, model, Usage())))

