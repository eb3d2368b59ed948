"""LLM provider protocol, message types, selection and the built-in mock provider."""

from kaizen_core.providers.base import BaseProvider, parse_json_output
from kaizen_core.providers.types import (
    Completion,
    CompletionRequest,
    Embeddings,
    GenerationParams,
    Message,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
)

__all__ = [
    "BaseProvider",
    "Completion",
    "CompletionRequest",
    "Embeddings",
    "GenerationParams",
    "Message",
    "StreamEvent",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "Usage",
    "parse_json_output",
]
