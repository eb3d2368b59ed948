"""LLM provider protocol, message types, selection and the built-in mock provider.

Names load their module on first use (PEP 562): importing one submodule (``types``, for a
message) does not make every type here.
"""

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports

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

_LAZY = {
    "BaseProvider": "kaizen_core.providers.base",
    "parse_json_output": "kaizen_core.providers.base",
    "Embeddings": "kaizen_core.providers.stream_types",
    "StreamEvent": "kaizen_core.providers.stream_types",
    "ToolCallDelta": "kaizen_core.providers.stream_types",
    **dict.fromkeys(
        ("Completion", "CompletionRequest", "GenerationParams", "Message", "ToolCall", "ToolDefinition", "Usage"),
        "kaizen_core.providers.types",
    ),
}

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.providers.base import BaseProvider, parse_json_output
    from kaizen_core.providers.stream_types import Embeddings, StreamEvent, ToolCallDelta
    from kaizen_core.providers.types import (
        Completion,
        CompletionRequest,
        GenerationParams,
        Message,
        ToolCall,
        ToolDefinition,
        Usage,
    )

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
