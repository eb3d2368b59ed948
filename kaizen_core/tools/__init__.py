"""Tools: typed functions the model may call, their registry and the built-in set.

    from kaizen_core.tools import tool, DangerLevel, ToolRegistry

    @tool(danger_level=DangerLevel.LOW)
    def add(a: int, b: int) -> int:
        "Add two integers."
        return a + b

Built-in tools live in :mod:`kaizen_core.tools.builtin` and are selected by name
(``ToolRegistry.from_config(["read_file", "http_get"])``).
"""

from kaizen_core.tools.registry import ToolRegistry
from kaizen_core.tools.tool import (
    DEFAULT_ALLOWED_COMMANDS,
    DEFAULT_ENV_PASSTHROUGH,
    DangerLevel,
    Tool,
    ToolContext,
    ToolResult,
    tool,
)
from kaizen_core.tools.workspace import resolve_in_workspace

__all__ = [
    "DEFAULT_ALLOWED_COMMANDS",
    "DEFAULT_ENV_PASSTHROUGH",
    "DangerLevel",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "ToolResult",
    "resolve_in_workspace",
    "tool",
]
