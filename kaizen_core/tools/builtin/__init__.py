"""The core's built-in tools (file, http, bash, web), registered in kaizen_core.builtins.

``register_builtin_tools(registry)`` adds the twelve of them to a registry (the v0.5 way of
giving an agent the built-ins; ``BaseAgent(..., tools="all")`` does the same and adds the
tools of installed plugins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kaizen_core.tools.registry import ToolRegistry

__all__ = ["BUILTIN_TOOL_NAMES", "register_builtin_tools"]

#: The twelve built-in tools: file (5), http (4), bash (1), web (2).
BUILTIN_TOOL_NAMES: tuple[str, ...] = (
    "read_file",
    "write_file",
    "delete_file",
    "list_directory",
    "file_exists",
    "http_get",
    "http_post",
    "http_put",
    "http_delete",
    "bash_command",
    "fetch_url",
    "extract_links",
)


def register_builtin_tools(registry: ToolRegistry) -> ToolRegistry:
    """Add the built-in tools to ``registry`` (loaded by name through the plugin registry); returns it."""
    from kaizen_core.plugins import get_registry

    plugins = get_registry()
    for name in BUILTIN_TOOL_NAMES:
        if name not in registry:
            registry.register(plugins.load("tool", name), name=name)
    return registry
