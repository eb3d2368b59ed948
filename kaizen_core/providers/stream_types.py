"""The streaming and embedding types of the provider protocol (:mod:`kaizen_core.providers.types`
exports them too). A module of their own, loaded on first use: a plain run streams and embeds
nothing, so its start-up does not make these classes.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core.providers.types import Completion, Usage, _default_usage

__all__ = ["Embeddings", "StreamEvent", "ToolCallDelta"]


class ToolCallDelta(BaseModel):
    """A piece of a streamed tool call; ``index`` groups the pieces of one call."""

    model_config = ConfigDict(defer_build=True)  # built on first use

    index: int = 0
    id: str | None = None
    name: str | None = None
    arguments_delta: str = ""


class StreamEvent(BaseModel):
    """One streaming event: a text delta, a tool-call delta, or the final completion."""

    model_config = ConfigDict(defer_build=True)  # built on first use

    type: Literal["text", "tool_call", "done"]
    text: str = ""
    tool_call: ToolCallDelta | None = None
    completion: Completion | None = None


class Embeddings(BaseModel):
    """Vectors for a batch of texts, in order."""

    model_config = ConfigDict(defer_build=True)  # built on first use

    vectors: list[list[float]]
    model: str = ""
    usage: Usage = Field(default_factory=_default_usage)

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0
