"""ToolRegistry: the tools an agent may call, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kaizen_core.errors import ConfigError, KaizenError
from kaizen_core.tools.tool import Tool, ToolContext, ToolResult, tool

__all__ = ["ToolRegistry"]


class ToolRegistry:
    """A named set of :class:`Tool` objects plus the :class:`ToolContext` they run with."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = (), *, context: ToolContext | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self.context = context or ToolContext()
        for t in tools:
            self.register(t)

    @classmethod
    def from_config(
        cls,
        names: Sequence[str] | str,
        extra: Iterable[Tool | Callable[..., Any] | str] | None = None,
        *,
        context: ToolContext | None = None,
    ) -> ToolRegistry:
        """Build a registry from plugin-registered tool names (``"all"`` for every one).

        Names are loaded through ``kaizen_core.plugins.get_registry()`` (kind ``tool``);
        an unknown name raises the registry's KAIZEN_003 error listing installed tools.
        ``extra`` adds tools given as objects (or more names).
        """
        from kaizen_core.plugins import get_registry

        plugin_registry = get_registry()
        if isinstance(names, str):
            if names != "all":
                raise ConfigError(f"tools must be a list of names or 'all', got {names!r}")
            selected = plugin_registry.names("tool")
        else:
            selected = list(names)
        registry = cls(context=context)
        for name in selected:
            obj = plugin_registry.load("tool", name)
            registry.register(obj, name=name)
        for t in extra or ():
            if isinstance(t, str):  # a name, as in ``tools=["read_file", my_tool]``
                registry.register(plugin_registry.load("tool", t), name=t)
            else:
                registry.register(t)
        return registry

    def register(self, obj: Tool | Callable[..., Any], *, name: str | None = None, replace: bool = False) -> Tool:
        """Add a tool (a :class:`Tool`, or a plain typed function wrapped with :func:`tool`)."""
        if not isinstance(obj, Tool):
            if not callable(obj):
                raise ConfigError(f"cannot register {obj!r} as a tool: not a Tool or a function")
            obj = tool(obj)
        assert isinstance(obj, Tool)
        key = name or obj.name
        if key in self._tools and not replace and self._tools[key] is not obj:
            raise ConfigError(f"a tool named {key!r} is already registered", hint="pick another name or pass replace=True")
        self._tools[key] = obj
        return obj

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Any:
        return iter(self._tools.values())

    def names(self) -> list[str]:
        return sorted(self._tools)

    def discover(self, category: str | None = None) -> list[Tool]:
        """Tools, optionally only those of ``category`` (sorted by name)."""
        return [t for n, t in sorted(self._tools.items()) if category is None or t.category == category]

    def definitions(self) -> list[Any]:
        """Provider-facing :class:`~kaizen_core.providers.ToolDefinition` list."""
        return [t.to_definition() for t in self.discover()]

    async def execute(self, name: str, params: dict[str, Any] | None = None) -> ToolResult:
        """Run tool ``name``. Unknown tool -> an EXEC_001 ToolResult (never raises)."""
        found = self._tools.get(name)
        if found is None:
            available = ", ".join(self.names()) or "none"
            return ToolResult(
                success=False,
                tool_name=name,
                error=f"unknown tool {name!r}; available tools: {available}",
                error_code="EXEC_001",
            )
        return await found.execute(params or {}, context=self.context)

    async def execute_chain(
        self, steps: Sequence[Mapping[str, Any] | tuple[str, dict[str, Any]]], *, stop_on_error: bool = True
    ) -> list[ToolResult]:
        """Run steps in order. Each step is ``{"name": ..., "params": {...}}`` or ``(name, params)``.

        Stops after the first failure unless ``stop_on_error=False``.
        """
        results: list[ToolResult] = []
        for step in steps:
            if isinstance(step, tuple):
                name, params = step
            else:
                if "name" not in step:
                    raise KaizenError("each chain step needs a 'name'", code="EXEC_001")
                name = step["name"]
                params = step.get("params", step.get("arguments", {}))
            result = await self.execute(name, params)
            results.append(result)
            if stop_on_error and not result.success:
                break
        return results
