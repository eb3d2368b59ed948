"""Anthropic Messages API over httpx.

Structured output: a forced tool whose ``input_schema`` is the output schema
(``tool_choice: {"type": "tool", "name": ...}``); its input is the answer. When the
request also offers real tools, the output tool is added to them and
``tool_choice`` becomes ``any``: the model either calls a real tool or answers
through the output tool.

The translation lives in two places: :meth:`AnthropicProvider.build_body` (request)
and :meth:`AnthropicProvider._finish` with the block readers of ``complete`` and
``stream`` (response). Which parameters go to which model is :func:`accepts_temperature`;
the README's "Parameters" table documents it.
"""

from __future__ import annotations

import json
import logging
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

__all__ = ["AnthropicProvider", "accepts_temperature", "output_tool_name"]

log = logging.getLogger(__name__)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
#: key of this provider's entries in ``provider_data`` (messages, completions)
PROVIDER_DATA_KEY = "anthropic"
_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TRUNCATED = ("max_tokens", "model_context_window_exceeded")
#: the fields of each thinking block type, as the API wants them back (ThinkingBlockParam, RedactedThinkingBlockParam)
_THINKING_FIELDS = {"thinking": ("type", "thinking", "signature"), "redacted_thinking": ("type", "data")}

# A Claude model id, also inside Bedrock/Vertex ids ("us.anthropic.claude-opus-4-7-v1:0", "claude-opus-4-7@2026..."):
# old naming claude-<major>[-<minor>]-<family> (Claude 3.x), new naming claude-<family>[-<major>[-<minor>]].
# A minor version has one or two digits; an 8-digit date is not one.
_CLAUDE_ID = re.compile(
    r"claude-(?:(?P<legacy>\d+(?:-\d)?)-(?:opus|sonnet|haiku)"
    r"|(?P<family>opus|sonnet|haiku|fable|mythos)(?:-(?P<major>\d{1,2})(?:-(?P<minor>\d{1,2}))?)?)(?=$|[-@:.])"
)


def accepts_temperature(model: str) -> bool:
    """Whether the Messages API takes ``temperature`` (and the other sampling parameters, ``top_p``, ``top_k``) for ``model``.

    Claude 3.x and the 4.x models up to Opus 4.6 / Sonnet 4.6 / Haiku 4.5 take it. Opus 4.7
    and later, the 5 generation (Sonnet, Haiku, Opus), Fable and Mythos answer 400 to a
    non-default sampling parameter (Anthropic's migration guide; the SDK's
    ``MessageCreateParams`` no longer defines one). A model id that is not a Claude id
    (an Anthropic-compatible server) gets the setting passed through.
    """
    match = _CLAUDE_ID.search(model)
    if match is None:
        return True
    if match["legacy"]:
        return True
    family = match["family"]
    version = (int(match["major"] or 0), int(match["minor"] or 0))
    if family in ("fable", "mythos"):
        return False
    if family == "opus":
        return version < (4, 7)
    return version < (5, 0)


def output_tool_name(schema_name: str) -> str:
    """Tool name used for structured output (Anthropic tool names: ``[a-zA-Z0-9_-]{1,64}``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema_name)[:64] or "output"


def _thinking_param(block: dict[str, Any]) -> dict[str, Any] | None:
    """A response thinking block as the request wants it back (unchanged fields, nothing else)."""
    fields = _THINKING_FIELDS.get(str(block.get("type")))
    return {k: block[k] for k in fields if k in block} if fields else None


class AnthropicProvider(HTTPProvider):
    """Claude through the Messages API.

    Options: the :class:`~kaizen_core.providers.http.HTTPProvider` keywords (``api_key``,
    env ``ANTHROPIC_API_KEY``, sent as ``x-api-key``; ``base_url``, env
    ``ANTHROPIC_BASE_URL``; ``timeout``, ``max_retries``, ``max_retry_after``, ``headers``,
    ``transport``) plus ``max_tokens`` (default 1024; the API requires one).

    Thinking blocks (with their signatures) of a reply are kept in
    ``Completion.provider_data["anthropic"]["thinking"]`` and replayed, unchanged and
    first, in that assistant turn when the tool loop sends it back, as the API requires.
    """

    name: ClassVar[str] = "anthropic"
    default_model: ClassVar[str] = "claude-haiku-4-5"
    default_base_url: ClassVar[str] = ANTHROPIC_BASE_URL
    base_url_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    extra_options: ClassVar[tuple[str, ...]] = ("max_tokens",)
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = False

    def __init__(self, model: str | None = None, *, max_tokens: int = DEFAULT_MAX_TOKENS, **options: Any) -> None:
        self.max_tokens = max_tokens
        self._sampling_dropped: set[str] = set()  # models whose dropped sampling params were logged
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
                block: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": msg.tool_call_id or "",
                    "content": msg.content or "",
                }
                if msg.is_error:
                    block["is_error"] = True
                if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                    out[-1]["content"].append(block)  # results of parallel calls go in one user turn
                else:
                    out.append({"role": "user", "content": [block]})
                continue
            if msg.role == "assistant":
                thinking = ((msg.provider_data or {}).get(PROVIDER_DATA_KEY) or {}).get("thinking") or []
                blocks = [p for p in (_thinking_param(b) for b in thinking) if p is not None]
                if msg.content:
                    blocks.append({"type": "text", "text": msg.content})
                blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in msg.tool_calls]
                if not blocks:
                    continue  # an empty assistant turn is refused; the API merges the user turns around it
                if len(blocks) == 1 and blocks[0]["type"] == "text":
                    out.append({"role": "assistant", "content": msg.content})
                else:
                    out.append({"role": "assistant", "content": blocks})
                continue
            out.append({"role": msg.role, "content": msg.content or ""})
        return ("\n\n".join(system) if system else None), out

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body of a Messages API call for ``request``."""
        system, messages = self._messages(request.messages)
        params = self.generation_params(request)
        model = request.model or self.model
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": params.max_tokens or self.max_tokens,
            "messages": messages,
        }
        if system:
            body["system"] = system
        # temperature or top_p, not both (the API's rule; the Claude 4.x models answer 400 to both)
        top_p = params.top_p if params.temperature is None else None
        sampling = {"temperature": params.temperature, "top_p": top_p, "top_k": params.top_k}
        sampling = {k: v for k, v in sampling.items() if v is not None}
        dropped = [k for k in ("frequency_penalty", "presence_penalty") if getattr(params, k) is not None]
        dropped += ["top_p"] if top_p is None and params.top_p is not None else []
        if accepts_temperature(model):
            body.update(sampling)
        else:
            dropped += list(sampling)
        if dropped and model not in self._sampling_dropped:
            self._sampling_dropped.add(model)
            log.info("%s: %s not sent (see the kaizen-anthropic README)", model, ", ".join(dropped))
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
    def _usage(self, model: str, raw: dict[str, Any]) -> Usage:
        """Usage from the API's counts: its ``input_tokens`` exclude the cache reads and writes, ours include them."""
        read = int(raw.get("cache_read_input_tokens") or 0)
        written = int(raw.get("cache_creation_input_tokens") or 0)
        usage = Usage(
            input_tokens=int(raw.get("input_tokens") or 0) + read + written,
            output_tokens=int(raw.get("output_tokens") or 0),
            cached_input_tokens=read,
            cache_write_tokens=written,
        )
        usage.cost_usd = cost_usd(PRICES, model, usage)
        return usage

    def _finish(
        self,
        request: CompletionRequest,
        model: str,
        text: str,
        calls: list[ToolCall],
        thinking: list[dict[str, Any]],
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
                if not calls and finish == "tool_calls":
                    finish = "stop"  # the answer tool was the only call: a final answer, not a tool turn
        return Completion(
            content=content,
            parsed=parsed,
            tool_calls=calls,
            usage=usage,
            finish_reason=finish,
            model=model,
            provider_data={PROVIDER_DATA_KEY: {"thinking": thinking}} if thinking else None,
            raw=raw,
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
        thinking = [p for p in (_thinking_param(b) for b in blocks) if p is not None]
        model = data.get("model") or request.model or self.model
        usage = self._usage(model, data.get("usage") or {})
        completion = self._finish(request, model, text, calls, thinking, data.get("stop_reason"), usage, raw=data)
        completion.latency_ms = (time.perf_counter() - start) * 1000
        return completion

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Stream text and ``input_json_delta`` tool deltas (SSE), then ``done`` with usage.

        Thinking deltas are not streamed as text; the finished thinking blocks are kept
        for the replay like in :meth:`complete`. A tool input cut off by ``max_tokens``
        (or the context window) is dropped and the completion's finish reason is ``length``.
        """
        start = time.perf_counter()
        body = self.build_body(request)
        body["stream"] = True
        model = request.model or self.model
        text: list[str] = []
        blocks: dict[int, dict[str, Any]] = {}
        raw_usage: dict[str, Any] = {}
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
                raw_usage.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
            elif kind == "content_block_start":
                index = int(data.get("index", 0))
                block = dict(data.get("content_block") or {})
                block["partial_json"] = ""
                blocks[index] = block
                if block.get("type") == "tool_use" and block.get("name") != out_name:
                    yield StreamEvent(
                        type="tool_call",
                        tool_call=ToolCallDelta(index=index, id=block.get("id"), name=block.get("name")),
                    )
            elif kind == "content_block_delta":
                index = int(data.get("index", 0))
                delta = data.get("delta") or {}
                delta_kind = delta.get("type")
                if delta_kind == "text_delta":
                    text.append(delta.get("text", ""))
                    yield StreamEvent(type="text", text=delta.get("text", ""))
                elif delta_kind == "thinking_delta":
                    block = blocks.setdefault(index, {"type": "thinking", "thinking": "", "signature": ""})
                    block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
                elif delta_kind == "signature_delta":
                    block = blocks.setdefault(index, {"type": "thinking", "thinking": "", "signature": ""})
                    block["signature"] = block.get("signature", "") + delta.get("signature", "")
                elif delta_kind == "input_json_delta":
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
                raw_usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            elif kind == "message_stop":
                break
        calls = []
        thinking = []
        for index, block in sorted(blocks.items()):
            param = _thinking_param(block)
            if param is not None:
                thinking.append(param)
            if block.get("type") != "tool_use":
                continue
            raw_args = block["partial_json"]
            try:
                arguments = json.loads(raw_args) if raw_args else (block.get("input") or {})
            except json.JSONDecodeError:
                if stop_reason in _TRUNCATED:
                    continue  # cut off mid-input: nothing to run; finish_reason says "length"
                raise OutputValidationError(
                    f"the streamed input of tool {block.get('name')!r} is not valid JSON", raw_output=raw_args
                ) from None
            calls.append(ToolCall(id=block.get("id") or f"toolu_{index}", name=block.get("name", ""), arguments=arguments))
        usage = self._usage(model, raw_usage)
        completion = self._finish(request, model, "".join(text), calls, thinking, stop_reason, usage)
        completion.content = "".join(text) or None  # exactly what was streamed
        completion.latency_ms = (time.perf_counter() - start) * 1000
        yield StreamEvent(type="done", completion=completion)
