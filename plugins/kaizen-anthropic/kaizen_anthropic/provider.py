"""Anthropic Messages API over httpx.

Structured output: a forced tool whose ``input_schema`` is the output schema
(``tool_choice: {"type": "tool", "name": ...}``); its input is the answer. When the
request also offers real tools, the output tool is added to them and
``tool_choice`` becomes ``any``: the model either calls a real tool or answers
through the output tool.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from kaizen_anthropic.pricing import PRICES
from kaizen_core.errors import OutputValidationError, ProviderError
from kaizen_core.providers.http import HTTPProvider
from kaizen_core.providers.pricing import cost_usd
from kaizen_core.providers.types import (
    Completion,
    CompletionRequest,
    FinishReason,
    Message,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["AnthropicProvider"]

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def output_tool_name(schema_name: str) -> str:
    """Tool name used for structured output (Anthropic tool names: ``[a-zA-Z0-9_-]{1,64}``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema_name)[:64] or "output"


class AnthropicProvider(HTTPProvider):
    """Claude through the Messages API.

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``api_key``,
    env ``ANTHROPIC_API_KEY``, sent as ``x-api-key``; ``base_url``, env
    ``ANTHROPIC_BASE_URL``; ``timeout``, ``max_retries``, ``max_retry_after``, ``headers``,
    ``transport``) plus ``max_tokens`` (default 1024; the API requires one).
    """

    name: ClassVar[str] = "anthropic"
    default_model: ClassVar[str] = "claude-3-5-haiku-latest"
    default_base_url: ClassVar[str] = ANTHROPIC_BASE_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    extra_options: ClassVar[tuple[str, ...]] = ("max_tokens",)
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = False

    def __init__(self, model: str | None = None, *, max_tokens: int = DEFAULT_MAX_TOKENS, **options: Any) -> None:
        self.max_tokens = max_tokens
        super().__init__(model, **options)

    def _auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key or ""}

    def _default_headers(self) -> dict[str, str]:
        return {"anthropic-version": ANTHROPIC_VERSION}

    # -- request ---------------------------------------------------------------------------
    @staticmethod
    def _messages(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
        system = [m.content for m in messages if m.role == "system" and m.content]
        out: list[dict[str, Any]] = []
        for msg in messages:
            if msg.role == "system":
                continue
            if msg.role == "tool":
                block = {"type": "tool_result", "tool_use_id": msg.tool_call_id or "", "content": msg.content or ""}
                if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                    out[-1]["content"].append(block)  # results of parallel calls go in one user turn
                else:
                    out.append({"role": "user", "content": [block]})
                continue
            if msg.role == "assistant" and msg.tool_calls:
                blocks: list[dict[str, Any]] = [{"type": "text", "text": msg.content}] if msg.content else []
                blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in msg.tool_calls]
                out.append({"role": "assistant", "content": blocks})
                continue
            out.append({"role": msg.role, "content": msg.content or ""})
        return ("\n\n".join(system) if system else None), out

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body of a Messages API call for ``request``."""
        system, messages = self._messages(request.messages)
        params = request.params
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": params.max_tokens or self.max_tokens,
            "messages": messages,
        }
        if system:
            body["system"] = system
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.stop:
            body["stop_sequences"] = params.stop
        tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools]
        choice = request.tool_choice
        tool_choice: dict[str, Any] | None = None
        if choice == "required":
            tool_choice = {"type": "any"}
        elif choice == "none":
            tool_choice = {"type": "none"}
        elif choice and choice != "auto":
            tool_choice = {"type": "tool", "name": choice}
        elif tools:
            tool_choice = {"type": "auto"}
        if request.output_schema is not None and choice != "none" and not (choice and choice not in ("auto", "required")):
            name = output_tool_name(request.schema_name)
            tools.append(
                {
                    "name": name,
                    "description": "Give the final answer. Call this tool with the answer as its input.",
                    "input_schema": request.output_schema,
                }
            )
            tool_choice = {"type": "any"} if len(tools) > 1 else {"type": "tool", "name": name}
        if tools:
            body["tools"] = tools
        if tool_choice is not None:
            body["tool_choice"] = tool_choice
        return body

    # -- response --------------------------------------------------------------------------
    def _usage(self, model: str, input_tokens: int, output_tokens: int) -> Usage:
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        usage.cost_usd = cost_usd(PRICES, model, usage)
        return usage

    def _finish(
        self,
        request: CompletionRequest,
        model: str,
        text: str,
        calls: list[ToolCall],
        stop_reason: str | None,
        usage: Usage,
        raw: Any = None,
    ) -> Completion:
        parsed: dict[str, Any] | None = None
        content: str | None = text or None
        finish = _STOP.get(stop_reason or "end_turn", "unknown")
        if request.output_schema is not None:
            out_name = output_tool_name(request.schema_name)
            answers = [c for c in calls if c.name == out_name]
            calls = [c for c in calls if c.name != out_name]
            if answers:
                parsed = answers[0].arguments
                content = json.dumps(parsed)
                if not calls:
                    finish = "stop"
        return Completion(
            content=content, parsed=parsed, tool_calls=calls, usage=usage, finish_reason=finish, model=model, raw=raw
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """One Messages API call."""
        start = time.perf_counter()
        data = await self.http.post_json("v1/messages", self.build_body(request), timeout=request.params.timeout)
        try:
            blocks = data["content"]
        except (KeyError, TypeError):
            raise ProviderError(f"anthropic returned a response without content: {str(data)[:300]}") from None
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        calls = [
            ToolCall(id=b["id"], name=b["name"], arguments=b.get("input") or {}) for b in blocks if b.get("type") == "tool_use"
        ]
        model = data.get("model") or request.model or self.model
        raw_usage = data.get("usage") or {}
        usage = self._usage(model, int(raw_usage.get("input_tokens") or 0), int(raw_usage.get("output_tokens") or 0))
        completion = self._finish(request, model, text, calls, data.get("stop_reason"), usage, raw=data)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Stream text and ``input_json_delta`` tool deltas (SSE), then ``done`` with usage."""
        start = time.perf_counter()
        body = self.build_body(request)
        body["stream"] = True
        model = request.model or self.model
        text: list[str] = []
        blocks: dict[int, dict[str, Any]] = {}
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        out_name = output_tool_name(request.schema_name) if request.output_schema is not None else None
        async for event in self.http.stream_sse("v1/messages", body, timeout=request.params.timeout):
            data = event.json()
            kind = data.get("type", event.event)
            if kind == "error":
                err = data.get("error") or {}
                raise ProviderError(f"anthropic stream error: {err.get('type', 'error')}: {err.get('message', '')}")
            if kind == "message_start":
                message = data.get("message") or {}
                model = message.get("model") or model
                input_tokens = int((message.get("usage") or {}).get("input_tokens") or 0)
                output_tokens = int((message.get("usage") or {}).get("output_tokens") or 0)
            elif kind == "content_block_start":
                block = dict(data.get("content_block") or {})
                block["partial_json"] = ""
                blocks[int(data.get("index", 0))] = block
                if block.get("type") == "tool_use" and block.get("name") != out_name:
                    yield StreamEvent(
                        type="tool_call",
                        tool_call=ToolCallDelta(index=int(data.get("index", 0)), id=block.get("id"), name=block.get("name")),
                    )
            elif kind == "content_block_delta":
                index = int(data.get("index", 0))
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta":
                    text.append(delta.get("text", ""))
                    yield StreamEvent(type="text", text=delta.get("text", ""))
                elif delta.get("type") == "input_json_delta":
                    block = blocks.setdefault(index, {"type": "tool_use", "partial_json": ""})
                    block["partial_json"] += delta.get("partial_json", "")
                    if block.get("name") == out_name:  # the structured answer streams as text
                        text.append(delta.get("partial_json", ""))
                        yield StreamEvent(type="text", text=delta.get("partial_json", ""))
                    else:
                        yield StreamEvent(
                            type="tool_call",
                            tool_call=ToolCallDelta(index=index, arguments_delta=delta.get("partial_json", "")),
                        )
            elif kind == "message_delta":
                stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
                output_tokens = int((data.get("usage") or {}).get("output_tokens") or output_tokens)
            elif kind == "message_stop":
                break
        calls = []
        for _index, block in sorted(blocks.items()):
            if block.get("type") != "tool_use":
                continue
            raw_args = block["partial_json"]
            try:
                arguments = json.loads(raw_args) if raw_args else (block.get("input") or {})
            except json.JSONDecodeError:
                raise OutputValidationError(
                    f"the streamed input of tool {block.get('name')!r} is not valid JSON", raw_output=raw_args
                ) from None
            calls.append(ToolCall(id=block.get("id") or f"toolu_{_index}", name=block.get("name", ""), arguments=arguments))
        usage = self._usage(model, input_tokens, output_tokens)
        completion = self._finish(request, model, "".join(text), calls, stop_reason, usage)
        completion.content = "".join(text) or None  # exactly what was streamed
        completion.latency_ms = (time.perf_counter() - start) * 1000
        yield StreamEvent(type="done", completion=completion)

