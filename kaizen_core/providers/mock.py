"""The built-in ``mock`` provider: deterministic, schema-aware and scriptable.

Without a script it answers with a value derived from the output JSON schema, so any
signature gets valid typed outputs. With a script it replays replies in order::

    MockProvider(script=[
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]},
        {"answer": "done", "confidence": 0.9},      # output fields
        "plain text reply",
        {"delay": 0.5, "answer": "slow"},           # simulate a slow model
        {"error": {"status": 503, "message": "overloaded"}},  # provider error
    ])

The reply is chosen by the number of assistant turns already in the conversation,
not by a counter inside the provider, so a run resumed from a checkpoint in a new
process continues the script where it stopped. ``script_order="calls"`` replays the
script in call order instead, for agents whose calls are separate short exchanges
(the planning, PEV and tree-of-thoughts agents' phases). When the script is exhausted the
provider answers from the schema (a final answer, no tool calls).

Sampling options (``top_p``, ``top_k``, ``frequency_penalty``, ``presence_penalty``) are
recorded in :attr:`MockProvider.requests` with the request, as a backend would receive them.

Usage counts tokens as ``ceil(chars / 4)``; cost is ``cost_per_input_token *
input + cost_per_output_token * output`` (default 0.0), so budgets can be tested.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from kaizen_core.errors import ConfigError, ProviderError
from kaizen_core.providers.base import BaseProvider, parse_json_output
from kaizen_core.providers.types import (
    SAMPLING_PARAMS,
    Completion,
    CompletionRequest,
    ToolCall,
    ToolDefinition,
    Usage,
    new_completion,
    new_usage,
)

if TYPE_CHECKING:
    from kaizen_core.providers.stream_types import Embeddings, StreamEvent

_RESERVED = {"delay", "tool_calls", "content", "error", "output"}
EMBEDDING_DIMENSIONS = 64


def tool_calls_reply(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A script reply asking for tool calls: ``tool_calls_reply(("read_file", {"path": "a"}))``."""
    return {"tool_calls": [{"name": name, "arguments": arguments} for name, arguments in calls]}


def count_tokens(text: str) -> int:
    """The mock's token estimate: one token per 4 characters, rounded up."""
    return math.ceil(len(text) / 4) if text else 0


class MockProvider(BaseProvider):
    """Deterministic provider for tests and offline examples."""

    name: ClassVar[str] = "mock"
    default_model: ClassVar[str] = "mock-model"
    structured_output: ClassVar[str] = "native"
    supports_tools: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = True

    def __init__(
        self,
        model: str | None = None,
        *,
        script: list[Any] | None = None,
        cost_per_input_token: float = 0.0,
        cost_per_output_token: float = 0.0,
        delay: float = 0.0,
        script_order: str = "turns",
        **options: Any,
    ) -> None:
        self.reject_unknown_options(
            self.take_sampling_options(options),
            ("script", "cost_per_input_token", "cost_per_output_token", "delay", "script_order", *SAMPLING_PARAMS),
        )
        if script_order not in ("turns", "calls"):
            raise ConfigError(f"mock provider 'script_order' must be 'turns' or 'calls', got {script_order!r}")
        #: "turns": the reply for a request is chosen by its assistant turns (a resumed run goes on);
        #: "calls": replies in the order of the calls (agents whose calls are separate exchanges)
        self.script_order = script_order
        super().__init__(model)
        if script is not None and not isinstance(script, list):
            raise ConfigError("mock provider 'script' must be a list of replies")
        self.script: list[Any] = list(script or [])
        self.cost_per_input_token = cost_per_input_token
        self.cost_per_output_token = cost_per_output_token
        self.delay = delay
        #: every request received, for assertions in tests
        self.requests: list[CompletionRequest] = []
        self._examples = _ExampleCache()

    # --- selection ---------------------------------------------------------------------
    def reply_for(self, request: CompletionRequest) -> Any:
        """The scripted reply for this request, or None when the script is exhausted."""
        if not self.script:
            return None
        if self.script_order == "calls":
            turn = len(self.requests) - 1  # complete() has recorded this request
        else:
            turn = sum(1 for m in request.messages if m.role == "assistant")
        return self.script[turn] if turn < len(self.script) else None

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        # recorded as a backend would receive it: the sampling defaults applied (a copy only when they change it)
        # (no sampling default set, the usual case: nothing to apply, nothing to copy)
        params = self.generation_params(request) if self.sampling_defaults.model_fields_set else request.params
        self.requests.append(request if params is request.params else request.model_copy(update={"params": params}))
        reply = self.reply_for(request)
        delay = self.delay
        if isinstance(reply, dict) and "delay" in reply:
            delay = float(reply["delay"])
        if delay:
            import anyio  # only a scripted delay needs it (cold start)

            await anyio.sleep(delay)
        content, parsed, tool_calls = self._materialize(reply, request)
        usage = self._usage(request, content, tool_calls)
        return new_completion(
            {
                "content": content,
                "parsed": parsed,
                "tool_calls": tool_calls,
                "usage": usage,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "model": request.model or self.model,  # the model asked for, as a real backend reports it
                "latency_ms": (time.perf_counter() - started) * 1000,
                "raw": reply,
            }
        )

    def _materialize(
        self, reply: Any, request: CompletionRequest
    ) -> tuple[str | None, dict[str, Any] | None, list[ToolCall]]:
        if isinstance(reply, dict) and "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {"message": str(reply["error"])}
            status = int(err["status"]) if err.get("status") is not None else None
            raise ProviderError(
                f"mock provider error: {err.get('message', 'scripted failure')}",
                status=status,
                retryable=bool(status in (429, 500, 502, 503, 504)),
            )
        if reply is None or (isinstance(reply, dict) and set(reply) <= {"delay"}):
            forced = _forced_tool(request)
            if forced is not None:
                arguments = example_from_schema(forced.parameters)
                return None, None, [ToolCall(id=_call_id(request, 0), name=forced.name, arguments=arguments)]
            if request.output_schema is None:
                return "mock reply", None, []
            return self._examples.reply(request.output_schema)
        if isinstance(reply, str):
            return reply, parse_json_output(reply) if request.output_schema else None, []
        if not isinstance(reply, dict):
            raise ConfigError(f"mock script replies must be dicts or strings, got {type(reply).__name__}")
        if "tool_calls" in reply:
            calls = [
                ToolCall(
                    id=call.get("id") or _call_id(request, i),
                    name=call["name"],
                    arguments=call.get("arguments", {}),
                )
                for i, call in enumerate(reply["tool_calls"])
            ]
            return reply.get("content"), None, calls
        if "content" in reply:
            text = reply["content"]
            return text, parse_json_output(text) if request.output_schema else None, []
        output = reply.get("output", {k: v for k, v in reply.items() if k not in _RESERVED})
        return json.dumps(output), output, []

    def _usage(self, request: CompletionRequest, content: str | None, calls: list[ToolCall]) -> Usage:
        prompt = "".join([m.content or "" for m in request.messages])
        output = content or ""
        if calls:
            output += "".join(json.dumps(c.arguments) + c.name for c in calls)
        n_in, n_out = count_tokens(prompt), count_tokens(output)
        cost = n_in * self.cost_per_input_token + n_out * self.cost_per_output_token
        return new_usage({"input_tokens": n_in, "output_tokens": n_out, "cost_usd": cost})

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        from kaizen_core.providers.stream_types import StreamEvent, ToolCallDelta  # cold start: on first use

        completion = await self.complete(request)
        for piece in re.findall(r"\S+\s*|\s+", completion.content or ""):
            yield StreamEvent(type="text", text=piece)
        for index, call in enumerate(completion.tool_calls):
            yield StreamEvent(
                type="tool_call",
                tool_call=ToolCallDelta(
                    index=index, id=call.id, name=call.name, arguments_delta=json.dumps(call.arguments)
                ),
            )
        yield StreamEvent(type="done", completion=completion)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """Bag-of-words hashing vectors: texts sharing words are similar (deterministic)."""
        from kaizen_core.providers.stream_types import Embeddings

        vectors = [_hash_vector(t) for t in texts]
        usage = Usage(input_tokens=sum(count_tokens(t) for t in texts), cost_usd=0.0)
        return Embeddings(vectors=vectors, model=model or "mock-embedding", usage=usage)


class _ExampleCache:
    """The schema-derived answers of one provider, built once per distinct output schema.

    :func:`example_from_schema` is a pure function of the schema, so its value and its
    JSON text are kept with a deep copy of the schema they were made from; a request whose
    schema equals a known one gets that text and a fresh copy of the value (sharing no list
    or dict with earlier replies). At most :attr:`size` schemas are kept, the oldest goes first.
    """

    size = 16

    def __init__(self) -> None:
        self._entries: list[tuple[dict[str, Any], str, Any]] = []

    def reply(self, schema: dict[str, Any]) -> tuple[str, Any, list[ToolCall]]:
        """``(content, parsed, [])``: the schema-derived answer to a request with ``schema``."""
        for known, text, value in self._entries:
            if known == schema:
                return text, _fresh(value), []
        value = example_from_schema(schema)
        text = json.dumps(value)
        self._entries = [*self._entries[1 - self.size :], (copy.deepcopy(schema), text, value)]
        return text, _fresh(value), []


def _fresh(value: Any) -> Any:
    """A copy of a JSON value that shares no dict or list with it."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


def _forced_tool(request: CompletionRequest) -> ToolDefinition | None:
    """The tool the request forces (``tool_choice`` = a name, or "required"), if any."""
    if not request.tools or request.tool_choice in (None, "auto", "none"):
        return None
    if request.tool_choice == "required":
        return request.tools[0]
    return next((t for t in request.tools if t.name == request.tool_choice), None)


def _call_id(request: CompletionRequest, index: int) -> str:
    turn = sum(1 for m in request.messages if m.role == "assistant")
    return f"call_{turn}_{index}"


def _hash_vector(text: str) -> list[float]:
    vec = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vec[int.from_bytes(digest, "big") % EMBEDDING_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def example_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, name: str = "value") -> Any:
    """A deterministic value that validates against ``schema`` (the subset pydantic emits)."""
    root = root or schema
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        return example_from_schema(root.get("$defs", {}).get(ref, {}), root, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_from_schema(options[0], root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {key: example_from_schema(sub, root, key) for key, sub in props.items()}
    if kind == "array":
        item = example_from_schema(schema.get("items", {"type": "string"}), root, name)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "string":
        text = f"mock {name}"
        min_len = int(schema.get("minLength", 0))
        return text.ljust(min_len, "x")
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(max(0, low)) if "maximum" not in schema else int(min(max(0, low), schema["maximum"]))
    if kind == "number":
        low = schema.get("minimum", 0.0)
        high = schema.get("maximum", max(1.0, low + 1.0))
        value = 0.5 if low <= 0.5 <= high else (low + high) / 2
        return float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return f"mock {name}"
