"""LlamaCppProvider: GGUF models in-process with llama-cpp-python.

* ``model``: path to a ``.gguf`` file, or None for the bundled SmolLM2-135M-Instruct.
* Structured output is *native*: the output JSON schema becomes a GBNF grammar and
  llama.cpp can only sample tokens that keep the reply schema-valid
  (see :mod:`kaizen_llamacpp.grammar`).
* Tools use the same mechanism: the reply is constrained to
  ``{"tool_calls": [{"name": ..., "arguments": {...}}]}`` or ``{"final_answer": ...}``.
* Every call runs in a worker thread (``anyio.to_thread``), one call at a time per
  shared model instance, so the event loop never blocks.
* Cost is 0.0: local inference has no price.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import anyio
import anyio.to_thread

from kaizen_core.errors import ConfigError, KaizenError, ProviderError
from kaizen_core.providers.base import BaseProvider
from kaizen_core.providers.types import (
    SAMPLING_PARAMS,
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
from kaizen_llamacpp import BUNDLED_MODEL
from kaizen_llamacpp.grammar import DEFAULT_MAX_STRING_CHARS, fit_string_bound, schema_grammar, tool_envelope_schema
from kaizen_llamacpp.model_path import resolve_model_path
from kaizen_llamacpp.models import SharedModel, cached_model, load_model

T = TypeVar("T")

_OPTIONS = {"extra_buffers", "max_tool_calls", "n_ctx", "n_threads", "temperature", "max_tokens", "seed", "max_string_chars", "repeat_penalty"}


@dataclass
class _Plan:
    """How one request is sent: llama messages, grammar, and how to read the reply."""

    messages: list[dict[str, Any]]
    grammar: Any
    mode: str  # "text" | "schema" | "tools"
    answer_is_object: bool = False


class LlamaCppProvider(BaseProvider):
    """In-process llama.cpp provider (offline, no key).

    Options (``provider_config``): ``n_ctx`` (2048), ``n_threads`` (llama.cpp default),
    ``temperature`` (0.0: greedy), ``max_tokens`` (512), ``seed``,
    ``max_string_chars`` (400: bound on free strings in constrained output),
    ``repeat_penalty`` (1.1), ``max_tool_calls`` (1 per reply), ``extra_buffers`` (False: llama.cpp's repacked/AMX weight
    buffers, see :mod:`kaizen_llamacpp.models`), and every provider's ``top_p``, ``top_k``,
    ``frequency_penalty``, ``presence_penalty``. Request params override them per call.
    """

    name: ClassVar[str] = "llamacpp"
    default_model: ClassVar[str] = BUNDLED_MODEL
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def __init__(self, model: str | None = None, **options: Any) -> None:
        options = self.take_sampling_options(options)  # top_p, top_k, penalties: request defaults
        self.reject_unknown_options(
            {k: v for k, v in options.items() if k not in _OPTIONS}, (*sorted(_OPTIONS), *SAMPLING_PARAMS)
        )
        super().__init__(model, **options)
        self.model_path = resolve_model_path(model)
        self.n_ctx: int = int(options.get("n_ctx", 2048))
        self.n_threads: int | None = options.get("n_threads")
        self.temperature: float = float(options.get("temperature", 0.0))
        self.max_tokens: int = int(options.get("max_tokens", 512))
        self.seed: int | None = options.get("seed")
        self.max_string_chars: int = int(options.get("max_string_chars", DEFAULT_MAX_STRING_CHARS))
        self.repeat_penalty: float = float(options.get("repeat_penalty", 1.1))
        self.extra_buffers: bool = bool(options.get("extra_buffers", False))
        self.max_tool_calls: int = int(options.get("max_tool_calls", 1))

    # -- model access ---------------------------------------------------------------
    async def _model(self, *, embedding: bool = False) -> SharedModel:
        shared = cached_model((str(self.model_path), self.n_ctx, embedding))
        if shared is not None:
            return shared
        return await anyio.to_thread.run_sync(
            lambda: load_model(
                self.model_path,
                n_ctx=self.n_ctx,
                embedding=embedding,
                n_threads=self.n_threads,
                extra_buffers=self.extra_buffers,
            )
        )

    @staticmethod
    def _call_guarded(shared: SharedModel, fn: Callable[[Any], T]) -> T:
        """Run ``fn(llama)`` holding the model's guard (blocking: worker thread only)."""
        with shared.guard:
            try:
                return fn(shared.llama)
            except KaizenError:
                raise
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"llama.cpp failed: {exc}") from exc

    # -- request translation ----------------------------------------------------------
    def _plan(self, request: CompletionRequest) -> _Plan:
        use_tools = bool(request.tools) and request.tool_choice != "none"
        may_answer = request.tool_choice in (None, "auto")
        calls = {call.id: call for message in request.messages for call in message.tool_calls}
        nudge = _answer_skeleton(request.output_schema) if use_tools and may_answer else None
        messages = [_to_llama_message(message, calls, nudge=nudge) for message in request.messages]
        if use_tools:
            envelope = tool_envelope_schema(
                request.tools,
                answer_schema=request.output_schema,
                tool_choice=request.tool_choice,
                max_calls=self.max_tool_calls,
            )
            instructions = _tools_instructions(request)
            grammar = schema_grammar(envelope, max_string_chars=self._string_bound(envelope, request))
            return _Plan(_with_system(messages, instructions), grammar, "tools", request.output_schema is not None)
        if request.output_schema is not None:
            instructions = (
                "Reply with one JSON object that matches this JSON schema, and nothing else:\n"
                + json.dumps(request.output_schema, separators=(",", ":"))
            )
            grammar = schema_grammar(request.output_schema, max_string_chars=self._string_bound(request.output_schema, request))
            return _Plan(_with_system(messages, instructions), grammar, "schema", True)
        return _Plan(messages, None, "text")

    def _string_bound(self, schema: dict[str, Any], request: CompletionRequest) -> int:
        return fit_string_bound(schema, request.params.max_tokens or self.max_tokens, self.max_string_chars)

    def _kwargs(self, request: CompletionRequest, plan: _Plan) -> dict[str, Any]:
        params = self.generation_params(request)
        kwargs: dict[str, Any] = {
            "messages": plan.messages,
            "temperature": self.temperature if params.temperature is None else params.temperature,
            "max_tokens": params.max_tokens or self.max_tokens,
            "repeat_penalty": self.repeat_penalty,
        }
        seed = params.seed if params.seed is not None else self.seed
        if seed is not None:
            kwargs["seed"] = seed
        if params.stop:
            kwargs["stop"] = params.stop
        # create_chat_completion's own names; unset ones keep llama.cpp's defaults (top_p 0.95, top_k 40, 0.0)
        for name in SAMPLING_PARAMS:
            if getattr(params, name) is not None:
                kwargs[name] = getattr(params, name)
        if plan.grammar is not None:
            kwargs["grammar"] = plan.grammar
        return kwargs

    def _model_name(self) -> str:
        return BUNDLED_MODEL if self.model in (None, "", BUNDLED_MODEL) else self.model_path.name

    # -- completion -----------------------------------------------------------------
    async def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion; grammar-constrained when a schema or tools are given."""
        started = time.perf_counter()
        plan = self._plan(request)
        kwargs = self._kwargs(request, plan)
        shared = await self._model()
        response = await anyio.to_thread.run_sync(
            lambda: self._call_guarded(shared, lambda llama: llama.create_chat_completion(**kwargs))
        )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return self._finish(
            plan,
            text=choice["message"].get("content") or "",
            finish=choice.get("finish_reason"),
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
                cost_usd=0.0,
            ),
            started=started,
            raw=response,
        )

    def _finish(self, plan: _Plan, *, text: str, finish: str | None, usage: Usage, started: float, raw: Any) -> Completion:
        finish_reason: FinishReason = "length" if finish == "length" else "stop"
        completion = Completion(
            content=text,
            usage=usage,
            finish_reason=finish_reason,
            model=self._model_name(),
            latency_ms=(time.perf_counter() - started) * 1000,
            raw=raw,
        )
        if plan.mode == "text":
            return completion
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            # only possible when max_tokens cut the constrained reply: the agent retries
            return completion
        if plan.mode == "schema":
            completion.parsed = value if isinstance(value, dict) else None
            return completion
        if isinstance(value, dict) and "tool_calls" in value:
            completion.tool_calls = [
                ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=call["name"], arguments=call.get("arguments") or {})
                for call in value["tool_calls"]
            ]
            completion.content = None
            completion.finish_reason = "tool_calls"
            return completion
        answer = value.get("final_answer") if isinstance(value, dict) else None
        if plan.answer_is_object:
            completion.parsed = answer if isinstance(answer, dict) else None
            completion.content = json.dumps(answer)
        else:
            completion.content = answer if isinstance(answer, str) else json.dumps(answer)
        return completion

    # -- streaming ------------------------------------------------------------------
    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Text deltas as tokens are sampled, then ``done`` with the full completion.

        With tools, the constrained envelope is not streamed as text: the tool calls (or
        the final answer) are emitted once decoding ends. Usage is counted with the
        model's tokenizer.
        """
        started = time.perf_counter()
        plan = self._plan(request)
        kwargs = self._kwargs(request, plan)
        shared = await self._model()
        # acquired on the loop thread (polling), so a cancelled wait can never leak the guard
        while not shared.guard.acquire(blocking=False):
            await anyio.sleep(0.005)
        chunks: Iterator[Any] | None = None
        try:
            stream: Iterator[Any] = await anyio.to_thread.run_sync(
                lambda: shared.llama.create_chat_completion(stream=True, **kwargs)
            )
            chunks = stream
            parts: list[str] = []
            finish: str | None = None
            while True:
                chunk = await anyio.to_thread.run_sync(_next_chunk, stream)
                if chunk is None:
                    break
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                delta = choice.get("delta", {}).get("content") or ""
                if delta:
                    parts.append(delta)
                    if plan.mode != "tools":
                        yield StreamEvent(type="text", text=delta)
            text = "".join(parts)
            usage = await anyio.to_thread.run_sync(lambda: _count_usage(shared.llama, text))
        finally:
            if chunks is not None:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            shared.guard.release()
        completion = self._finish(plan, text=text, finish=finish, usage=usage, started=started, raw=None)
        if plan.mode == "tools":
            for index, call in enumerate(completion.tool_calls):
                yield StreamEvent(
                    type="tool_call",
                    tool_call=ToolCallDelta(index=index, id=call.id, name=call.name, arguments_delta=json.dumps(call.arguments)),
                )
            if completion.content:
                yield StreamEvent(type="text", text=completion.content)
        yield StreamEvent(type="done", completion=completion)

    # -- embeddings -----------------------------------------------------------------
    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Mean-pooled, L2-normalised vectors from the model loaded in embedding mode."""
        if model is not None and model != self.model:
            raise ConfigError(
                "the llamacpp provider embeds with its own model only",
                hint="create a LlamaCppProvider with model=<path to the embedding GGUF>",
            )
        if not texts:
            return Embeddings(vectors=[], model=self._model_name(), usage=Usage(cost_usd=0.0))
        shared = await self._model(embedding=True)

        def run(llama: Any) -> tuple[list[list[float]], int]:
            vectors, count = llama.embed(texts, normalize=True, return_count=True)
            return [list(map(float, vector)) for vector in vectors], int(count)

        vectors, tokens = await anyio.to_thread.run_sync(lambda: self._call_guarded(shared, run))
        return Embeddings(vectors=vectors, model=self._model_name(), usage=Usage(input_tokens=tokens, cost_usd=0.0))


def _next_chunk(chunks: Iterator[Any]) -> Any:
    try:
        return next(chunks)
    except StopIteration:
        return None
    except (ValueError, RuntimeError) as exc:
        raise ProviderError(f"llama.cpp failed while streaming: {exc}") from exc


def _count_usage(llama: Any, text: str) -> Usage:
    output = len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
    return Usage(input_tokens=max(int(llama.n_tokens) - output, 0), output_tokens=output, cost_usd=0.0)


def _answer_skeleton(schema: dict[str, Any] | None) -> str:
    """``{"final_answer": {"field": "...", ...}}``: the shape shown to the model after a tool result."""
    properties = (schema or {}).get("properties")
    if isinstance(properties, dict) and properties:
        return json.dumps({"final_answer": {name: "..." for name in properties}})
    return json.dumps({"final_answer": "..."})


def _to_llama_message(message: Message, calls: dict[str, ToolCall], *, nudge: str | None) -> dict[str, Any]:
    """Kaizen message -> llama chat message. Tool traffic is rendered as plain turns
    (the bundled model's chat template has no tool roles); with ``nudge`` (an answer
    skeleton) a tool result tells the model how to give its final answer."""
    if message.role == "tool":
        call = calls.get(message.tool_call_id or "")
        if call is not None:
            label = f"{call.name}({json.dumps(call.arguments, separators=(',', ':'))})"
        else:
            label = message.name or message.tool_call_id or "tool"
        text = f"{label} returned: {message.content or ''}"
        if nudge:
            text += f"\nIf that completes the task, reply with your final answer: {nudge}"
        return {"role": "user", "content": text}
    if message.role == "assistant" and message.tool_calls:
        payload = [{"name": call.name, "arguments": call.arguments} for call in message.tool_calls]
        return {"role": "assistant", "content": json.dumps({"tool_calls": payload})}
    return {"role": message.role, "content": message.content or ""}


def _with_system(messages: list[dict[str, Any]], instructions: str) -> list[dict[str, Any]]:
    if messages and messages[0]["role"] == "system":
        first = {"role": "system", "content": f"{messages[0]['content']}\n\n{instructions}".strip()}
        return [first, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]


def _tools_instructions(request: CompletionRequest) -> str:
    lines = ["You can call these tools:"]
    for tool in request.tools:
        lines.append(f"- {tool.name}: {tool.description} Arguments schema: {json.dumps(tool.parameters, separators=(',', ':'))}")
    lines.append('To call a tool, reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}.')
    if request.tool_choice in (None, "auto"):
        answer = "an object matching " + json.dumps(request.output_schema, separators=(",", ":")) if request.output_schema else "text"
        lines.append(f'When you have the answer, reply {{"final_answer": {answer}}}.')
    return "\n".join(lines)
