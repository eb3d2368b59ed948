"""The data every provider speaks: one request type in, one completion type out.

No ``from __future__ import annotations`` here: pydantic would evaluate every field's
annotation string when each model is made (a cold start pays for that once per field).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core._factories import new_dict, new_list
from kaizen_core.lazy import lazy_exports

if TYPE_CHECKING:
    pass

# The streaming and embedding types live in stream_types (a plain run makes none of them) and
# are still imported from here.
__getattr__, __dir__ = lazy_exports(
    globals(), dict.fromkeys(("Embeddings", "StreamEvent", "ToolCallDelta"), "kaizen_core.providers.stream_types")
)

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A tool invocation requested by the model.

    ``provider_data`` holds what a provider must echo with this call on later turns
    (Gemini's ``thoughtSignature``), keyed by provider name: opaque to everyone else,
    kept through the agent loop, its journal and checkpoints.
    """

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=new_dict)
    provider_data: dict[str, Any] | None = None


class Message(BaseModel):
    """One chat message. ``tool`` messages answer the call named by ``tool_call_id``.

    ``is_error`` marks a tool message that reports a failed call (its content is then
    ``{"error": ..., "error_code": ...}``). ``provider_data``: what a provider must
    replay with this assistant turn (Anthropic's signed thinking blocks), keyed by
    provider name, copied from :attr:`Completion.provider_data`.
    """

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=new_list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    provider_data: dict[str, Any] | None = None


class ToolDefinition(BaseModel):
    """A tool offered to the model: name, description and JSON schema of its parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


#: The nucleus/top-k sampling and penalty parameters, also accepted as provider options
#: (``provider_config``) where they are defaults for every request of the provider.
SAMPLING_PARAMS = ("top_p", "top_k", "frequency_penalty", "presence_penalty")


class GenerationParams(BaseModel):
    """Sampling and transport parameters. ``None`` means the backend's default.

    ``top_p`` (0..1), ``top_k`` (>= 1), ``frequency_penalty`` and ``presence_penalty``
    (-2..2) are sent under each backend's own names where its API has them and dropped
    where it has not (each provider's README lists which).
    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=1)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)


# Default factories are plain functions, not the model classes: pydantic inspects a factory's
# signature, and a model class's signature is built from all its fields (~0.4M instructions
# of every cold start for the two below).
def _default_params() -> GenerationParams:
    return GenerationParams()


class CompletionRequest(BaseModel):
    """Everything a provider needs for one call.

    ``output_schema``: JSON schema the reply must satisfy (structured output), or None
    for free text. ``tool_choice``: ``"auto"`` (default when tools are given),
    ``"required"``, ``"none"`` or a tool name to force.
    """

    messages: list[Message]
    output_schema: dict[str, Any] | None = None
    schema_name: str = "output"
    tools: list[ToolDefinition] = Field(default_factory=new_list)
    tool_choice: str | None = None
    params: GenerationParams = Field(default_factory=_default_params)
    model: str | None = None


class Usage(BaseModel):
    """Token counts and cost. ``cost_usd`` is None when the price is unknown (never a guess).

    ``input_tokens`` counts every prompt token, cached ones included.
    ``cached_input_tokens`` (read from the provider's prompt cache) and
    ``cache_write_tokens`` (written to it) are the parts of ``input_tokens`` that a price
    table may price differently (see :mod:`kaizen_core.providers.pricing`).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: "Usage") -> "Usage":
        cost = (
            None
            if self.cost_usd is None and other.cost_usd is None
            else (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        )
        return new_usage(
            {
                "input_tokens": self.input_tokens + other.input_tokens,
                "output_tokens": self.output_tokens + other.output_tokens,
                "cached_input_tokens": self.cached_input_tokens + other.cached_input_tokens,
                "cache_write_tokens": self.cache_write_tokens + other.cache_write_tokens,
                "cost_usd": cost,
            }
        )


def _default_usage() -> Usage:
    return Usage()


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "unknown"]


class Completion(BaseModel):
    """A provider's answer. ``parsed`` is the JSON object when an output schema was asked for.

    ``provider_data``: what the provider needs replayed with this turn when it goes back
    into the conversation (see :attr:`Message.provider_data`); the agent loop copies it
    onto the assistant message.
    """

    content: str | None = None
    parsed: dict[str, Any] | None = None
    tool_calls: list[ToolCall] = Field(default_factory=new_list)
    usage: Usage = Field(default_factory=_default_usage)
    finish_reason: FinishReason = "stop"
    model: str = ""
    latency_ms: float = 0.0
    provider_data: dict[str, Any] | None = None
    raw: Any = Field(default=None, exclude=True, repr=False)


# ``Model(**fields)`` without BaseModel.__init__'s Python frame around the model's own validator
# (the same validation, and the same instance type): the run path makes several messages,
# usages and completions per run, and that frame is a fifth of each. Called with a dict.
new_message = cast("Callable[[dict[str, Any]], Message]", Message.__pydantic_validator__.validate_python)
new_usage = cast("Callable[[dict[str, Any]], Usage]", Usage.__pydantic_validator__.validate_python)
new_request = cast(
    "Callable[[dict[str, Any]], CompletionRequest]", CompletionRequest.__pydantic_validator__.validate_python
)
new_completion = cast("Callable[[dict[str, Any]], Completion]", Completion.__pydantic_validator__.validate_python)
