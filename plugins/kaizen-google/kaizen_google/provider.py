"""Google Gemini API (``generativelanguage.googleapis.com``, v1beta) over httpx.

Structured output: ``generationConfig.responseMimeType = "application/json"`` plus
``responseJsonSchema`` (:mod:`kaizen_google.schema` documents the subset) when the request
declares no functions. Gemini refuses JSON mode together with ``functionDeclarations``
("Function calling with a response mime type: 'application/json' is unsupported"), so when
tools are offered the answer comes through a final-answer function instead: a declaration
named after the signature whose parameters are the output schema, with
``functionCallingConfig.mode = ANY`` (the model calls a tool or gives the answer, as with
kaizen-anthropic's output tool). Function calling through ``functionDeclarations`` and
``toolConfig``; each call's ``thoughtSignature`` and ``id`` are kept in
``ToolCall.provider_data["google"]`` and echoed on later turns, as thinking models require.
Embeddings through ``batchEmbedContents`` (what the SDK sends for one text or many).
Streaming through ``streamGenerateContent?alt=sse``. A 429 whose body carries
``RetryInfo.retryDelay`` is retried after that delay.

The translation lives in :meth:`GoogleProvider.build_body` (request) and
:meth:`GoogleProvider._completion` (response, shared by ``complete`` and ``stream``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from kaizen_core.errors import ProviderError
from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.http import HTTPProvider, parse_retry_after
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

__all__ = ["GoogleProvider", "answer_function_name", "retry_delay_from_body"]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
#: key of this provider's entries in ``provider_data`` (tool calls, messages, completions)
PROVIDER_DATA_KEY = "google"
_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "CONTINUATION": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "ESCALATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
    "MALFORMED_RESPONSE": "error",
}
_ANSWER_DESCRIPTION = "Give the final answer. Call this function with the answer as its arguments."
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


def answer_function_name(schema_name: str) -> str:
    """Name of the final-answer function (Gemini: a letter or ``_`` first, then ``[A-Za-z0-9_.:-]``, <= 128)."""
    name = re.sub(r"[^A-Za-z0-9_.:-]", "_", schema_name)[:128] or "final_answer"
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"[:128]


def retry_delay_from_body(body: str) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail of an error body (``"retryDelay": "37s"``), if any."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list) and data:
        data = data[0]  # the error is sometimes wrapped in a list
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _data(obj: Any) -> dict[str, Any]:
    """This provider's entry of an object's ``provider_data``."""
    return dict(((getattr(obj, "provider_data", None) or {}).get(PROVIDER_DATA_KEY)) or {})


class GoogleProvider(HTTPProvider):
    """Gemini chat, function calling, structured output and embeddings.

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``api_key``,
    env ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``, sent as ``x-goog-api-key``;
    ``base_url``, env ``GEMINI_BASE_URL``; ``timeout``, ``max_retries``,
    ``max_retry_after``, ``embedding_model``, ``headers``, ``transport``).
    """

    name: ClassVar[str] = "google"
    default_model: ClassVar[str] = "gemini-3.8-flash"
    default_embedding_model: ClassVar[str] = "gemini-embedding-001"
    default_base_url: ClassVar[str] = GEMINI_BASE_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("GEMINI_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = KEY_VARIABLES
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def _auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key or ""}

    def _retry_after(self, headers: Mapping[str, str], body: str) -> float | None:
        """``Retry-After`` when sent, else the ``RetryInfo.retryDelay`` of the error body."""
        from_headers = parse_retry_after(headers)
        return from_headers if from_headers is not None else retry_delay_from_body(body)

    @staticmethod
    def _model_path(model: str) -> str:
        return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"

    # -- request ---------------------------------------------------------------------------
    @staticmethod
    def _contents(messages: list[Message]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        calls = {c.id: c for m in messages for c in m.tool_calls}
        system = [m.content for m in messages if m.role == "system" and m.content]
        contents: list[dict[str, Any]] = []
        for msg in messages:
            if msg.role == "system":
                continue
            if msg.role == "tool":
                call = calls.get(msg.tool_call_id or "")
                response = GoogleProvider._function_response(msg)
                function_response: dict[str, Any] = {
                    "name": msg.name or (call.name if call else None) or "tool",
                    "response": response,
                }
                call_id = _data(call).get("id") if call else None
                if call_id:
                    function_response["id"] = call_id
                part = {"functionResponse": function_response}
                if contents and contents[-1]["role"] == "user" and "functionResponse" in contents[-1]["parts"][0]:
                    contents[-1]["parts"].append(part)  # responses to parallel calls share one turn
                else:
                    contents.append({"role": "user", "parts": [part]})
                continue
            role = "model" if msg.role == "assistant" else "user"
            parts: list[dict[str, Any]] = []
            if msg.content:
                text_part: dict[str, Any] = {"text": msg.content}
                signature = _data(msg).get("thought_signature")
                if signature:
                    text_part["thoughtSignature"] = signature
                parts.append(text_part)
            for call in msg.tool_calls:
                data = _data(call)
                function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
                if data.get("id"):
                    function_call["id"] = data["id"]
                part = {"functionCall": function_call}
                if data.get("thought_signature"):
                    part["thoughtSignature"] = data["thought_signature"]
                parts.append(part)
            contents.append({"role": role, "parts": parts or [{"text": ""}]})
        instruction = {"parts": [{"text": "\n\n".join(system)}]} if system else None
        return instruction, contents

    @staticmethod
    def _function_response(msg: Message) -> dict[str, Any]:
        """The ``response`` object: ``{"output": ...}``, or ``{"error": ..., "error_code": ...}`` for a failed call."""
        try:
            result: Any = json.loads(msg.content or "")
        except json.JSONDecodeError:
            result = msg.content or ""
        if msg.is_error:
            return result if isinstance(result, dict) and "error" in result else {"error": result}
        return {"output": result}

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body of ``generateContent`` for ``request``."""
        instruction, contents = self._contents(request.messages)
        body: dict[str, Any] = {"contents": contents}
        if instruction:
            body["systemInstruction"] = instruction
        declarations = [
            {"name": t.name, "description": t.description, "parametersJsonSchema": to_gemini_schema(t.parameters)}
            for t in request.tools
        ]
        choice = request.tool_choice
        mode: dict[str, Any] | None = None
        forced = bool(choice) and choice not in ("auto", "required", "none")
        if declarations and request.output_schema is not None and not forced:
            # JSON mode cannot go with function declarations: the answer is a function call too.
            answer = answer_function_name(request.schema_name)
            declarations.append(
                {
                    "name": answer,
                    "description": _ANSWER_DESCRIPTION,
                    "parametersJsonSchema": to_gemini_schema(request.output_schema),
                }
            )
            mode = {"mode": "ANY", "allowedFunctionNames": [answer]} if choice == "none" else {"mode": "ANY"}
        elif declarations:
            if choice == "required":
                mode = {"mode": "ANY"}
            elif choice == "none":
                mode = {"mode": "NONE"}
            elif forced:
                mode = {"mode": "ANY", "allowedFunctionNames": [choice]}
        if declarations:
            body["tools"] = [{"functionDeclarations": declarations}]
        if mode:
            body["toolConfig"] = {"functionCallingConfig": mode}
        config: dict[str, Any] = {}
        params = self.generation_params(request)
        if params.temperature is not None:
            config["temperature"] = params.temperature
        sampling = {
            "topP": params.top_p,
            "topK": params.top_k,
            "frequencyPenalty": params.frequency_penalty,
            "presencePenalty": params.presence_penalty,
        }
        config |= {k: v for k, v in sampling.items() if v is not None}
        if params.max_tokens is not None:
            config["maxOutputTokens"] = params.max_tokens
        if params.seed is not None:
            config["seed"] = params.seed
        if params.stop:
            config["stopSequences"] = params.stop
        if request.output_schema is not None and not declarations:
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = to_gemini_schema(request.output_schema)
        if config:
            body["generationConfig"] = config
        return body

    # -- response --------------------------------------------------------------------------
    def _usage(self, model: str, raw: Any) -> Usage:
        raw = raw or {}
        usage = Usage(
            input_tokens=int(raw.get("promptTokenCount") or 0) + int(raw.get("toolUsePromptTokenCount") or 0),
            output_tokens=int(raw.get("candidatesTokenCount") or 0) + int(raw.get("thoughtsTokenCount") or 0),
            cached_input_tokens=int(raw.get("cachedContentTokenCount") or 0),
        )
        usage.cost_usd = cost_usd(PRICES, model, usage)
        return usage

    @staticmethod
    def _candidate(data: Any) -> dict[str, Any]:
        candidates = data.get("candidates") if isinstance(data, dict) else None
        return dict(candidates[0]) if candidates else {}

    @staticmethod
    def _call(part: dict[str, Any], index: int) -> ToolCall:
        """A ``functionCall`` part as a ToolCall; its ``id`` and ``thoughtSignature`` go to ``provider_data``."""
        fc = part["functionCall"]
        data = {k: v for k, v in (("id", fc.get("id")), ("thought_signature", part.get("thoughtSignature"))) if v}
        return ToolCall(
            id=fc.get("id") or f"call_{index}",
            name=fc.get("name", ""),
            arguments=fc.get("args") or {},
            provider_data={PROVIDER_DATA_KEY: data} if data else None,
        )

    def _completion(
        self,
        request: CompletionRequest,
        parts: list[dict[str, Any]],
        finish_reason: str | None,
        usage: Usage,
        model: str,
        raw: Any = None,
    ) -> Completion:
        """The completion for a candidate's parts (all the parts of a stream, in order)."""
        text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
        text_signatures = [p["thoughtSignature"] for p in parts if "functionCall" not in p and p.get("thoughtSignature")]
        calls = [self._call(p, i) for i, p in enumerate(x for x in parts if "functionCall" in x)]
        finish = _FINISH.get(finish_reason or "STOP", "unknown")
        content: str | None = text or None
        parsed: dict[str, Any] | None = None
        if request.output_schema is not None:
            answer = answer_function_name(request.schema_name)
            answers = [c for c in calls if c.name == answer]
            calls = [c for c in calls if c.name != answer]
            if answers:
                parsed = answers[0].arguments
                content = json.dumps(parsed)
                signature = _data(answers[0]).get("thought_signature")
                if signature and calls and not _data(calls[0]).get("thought_signature"):
                    # the signature sits on the first call of a turn; keep it on the first call replayed
                    first = _data(calls[0]) | {"thought_signature": signature}
                    calls[0] = calls[0].model_copy(update={"provider_data": {PROVIDER_DATA_KEY: first}})
            else:
                parsed = parse_json_output(text)
        if calls and finish == "stop":
            finish = "tool_calls"
        return Completion(
            content=content,
            parsed=parsed,
            tool_calls=calls,
            usage=usage,
            finish_reason=finish,
            model=model,
            provider_data={PROVIDER_DATA_KEY: {"thought_signature": text_signatures[-1]}} if text_signatures else None,
            raw=raw,
        )

    @staticmethod
    def _blocked(data: Any) -> str | None:
        """The ``promptFeedback.blockReason`` of a reply without candidates (a blocked prompt)."""
        feedback = data.get("promptFeedback") if isinstance(data, dict) else None
        return str(feedback["blockReason"]) if isinstance(feedback, dict) and feedback.get("blockReason") else None

    async def complete(self, request: CompletionRequest) -> Completion:
        """One ``generateContent`` call."""
        start = time.perf_counter()
        model = request.model or self.model
        data = await self.http.post_json(
            f"{self._model_path(model)}:generateContent", self.build_body(request), timeout=request.params.timeout
        )
        used_model = (data.get("modelVersion") if isinstance(data, dict) else None) or model
        usage = self._usage(used_model, data.get("usageMetadata") if isinstance(data, dict) else None)
        candidate = self._candidate(data)
        if not candidate:
            if self._blocked(data):  # the prompt itself was blocked: a content-filter outcome, not a fault
                return Completion(finish_reason="content_filter", usage=usage, model=used_model, raw=data)
            raise ProviderError(f"google returned no candidates: {str(data)[:300]}")
        parts = (candidate.get("content") or {}).get("parts") or []
        completion = self._completion(request, parts, candidate.get("finishReason"), usage, used_model, raw=data)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """``streamGenerateContent?alt=sse``: text and function-call events, then ``done``.

        The final-answer function's arguments stream as text (they are the answer), so
        the streamed text is always the completion's content.
        """
        start = time.perf_counter()
        model = request.model or self.model
        answer = answer_function_name(request.schema_name) if request.output_schema is not None else None
        parts: list[dict[str, Any]] = []
        finish: str | None = None
        raw_usage: Any = None
        used_model = model
        blocked = False
        calls = 0
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
            blocked = blocked or self._blocked(data) is not None
            candidate = self._candidate(data)
            for part in (candidate.get("content") or {}).get("parts") or []:
                parts.append(part)
                if "functionCall" in part:
                    call = self._call(part, calls)
                    calls += 1
                    if call.name == answer:
                        yield StreamEvent(type="text", text=json.dumps(call.arguments))
                    else:
                        delta = ToolCallDelta(
                            index=calls - 1, id=call.id, name=call.name, arguments_delta=json.dumps(call.arguments)
                        )
                        yield StreamEvent(type="tool_call", tool_call=delta)
                elif isinstance(part.get("text"), str) and part["text"] and not part.get("thought"):
                    yield StreamEvent(type="text", text=part["text"])
            finish = candidate.get("finishReason") or finish
        usage = self._usage(used_model, raw_usage)
        if blocked and not parts:
            completion = Completion(finish_reason="content_filter", usage=usage, model=used_model)
        else:
            completion = self._completion(request, parts, finish, usage, used_model)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """``batchEmbedContents``, one request per text (the request the SDK sends on the Gemini API)."""
        model = model or self.embedding_model
        path = self._model_path(model)
        body = {"requests": [{"content": {"parts": [{"text": t}]}, "model": path} for t in texts]}
        data = await self.http.post_json(f"{path}:batchEmbedContents", body)
        try:
            vectors = [[float(x) for x in e["values"]] for e in data["embeddings"]]
        except (KeyError, TypeError) as exc:
            raise ProviderError(f"google returned a malformed embeddings response: {exc!r}") from exc
        if len(vectors) != len(texts):
            raise ProviderError(f"google returned {len(vectors)} embeddings for {len(texts)} texts")
        tokens = int(((data.get("usageMetadata") or {}).get("promptTokenCount")) or 0)
        usage = Usage(input_tokens=tokens)
        usage.cost_usd = cost_usd(PRICES, model, usage)
        return Embeddings(vectors=vectors, model=model, usage=usage)
