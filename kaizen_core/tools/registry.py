"""ToolRegistry: the tools an agent may call, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kaizen_core.errors import ConfigError, InputValidationError
from kaizen_core.tools.tool import DangerLevel, Tool, ToolContext, ToolResult, tool

__all__ = ["BUILTIN_CATEGORIES", "CATEGORY_ALIASES", "ToolRegistry", "chain_step", "normalize_category"]

#: The categories of the built-in tools, named as the original documentation groups them.
BUILTIN_CATEGORIES: tuple[str, ...] = ("file", "http", "bash", "web")

#: Other spellings accepted by ``discover(category=...)`` (the plural and "shell" were this
#: project's names before the documented ones were adopted).
CATEGORY_ALIASES: dict[str, str] = {"files": "file", "shell": "bash"}


def normalize_category(category: str) -> str:
    """The canonical name of ``category`` (``"files"`` -> ``"file"``, ``"shell"`` -> ``"bash"``)."""
    return CATEGORY_ALIASES.get(category, category)


def chain_step(step: Mapping[str, Any] | tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """One step of a tool chain as ``(name, params)``.

    A step is ``{"tool_name": ..., "params": {...}}`` (the documented form), ``{"name": ...}``
    (``"arguments"`` for ``"params"`` works too) or a ``(name, params)`` tuple. A step
    without a tool name raises EXEC_001.
    """
    if isinstance(step, tuple):
        name, params = step
        return name, dict(params or {})
    if not isinstance(step, Mapping):
        raise InputValidationError(f"a chain step must be a dict or a (name, params) tuple, got {step!r}"[:300])
    name = step.get("tool_name", step.get("name"))
    if not isinstance(name, str) or not name:
        raise InputValidationError(
            f"chain step {dict(step)!r} names no tool"[:300], hint='write {"tool_name": "read_file", "params": {...}}'
        )
    params = step.get("params", step.get("arguments"))
    return name, dict(params or {})


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
        extra: Iterable[Tool | Callable[..., Any] | str] | str | None = None,
        *,
        context: ToolContext | None = None,
    ) -> ToolRegistry:
        """Build a registry from plugin-registered tool names (``"all"`` for every one).

        Names are loaded through ``kaizen_core.plugins.get_registry()`` (kind ``tool``);
        an unknown name raises the registry's KAIZEN_003 error listing installed tools.
        ``extra`` adds tools given as objects, or more names; ``"all"`` there, alone or in
        the list, also means every registered tool (``BaseAgent(..., tools="all")``).
        """
        from kaizen_core.plugins import get_registry

        plugin_registry = get_registry()
        if isinstance(names, str):
            if names != "all":
                raise ConfigError(f"tools must be a list of names or 'all', got {names!r}")
            names = ["all"]
        if isinstance(extra, str):  # one name (or "all"), never its characters
            extra = [extra]
        items: list[Tool | Callable[..., Any] | str] = [*names, *(extra or ())]
        registry = cls(context=context)
        for item in items:
            if item == "all":
                for name in plugin_registry.names("tool"):
                    if name not in registry:  # "all" next to names it also covers
                        registry.register(plugin_registry.load("tool", name), name=name)
            elif isinstance(item, str):  # a name, as in ``tools=["read_file", my_tool]``
                if item not in registry:
                    registry.register(plugin_registry.load("tool", item), name=item)
            else:
                registry.register(item)
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
            raise ConfigError(
                f"a tool named {key!r} is already registered", hint="pick another name or pass replace=True"
            )
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

    def discover(
        self,
        category: str | None = None,
        *,
        danger_level: DangerLevel | str | None = None,
        keyword: str | None = None,
    ) -> list[Tool]:
        """Tools, sorted by name, optionally filtered.

        ``category``: ``"file"``, ``"http"``, ``"bash"``, ``"web"`` for the built-ins (the
        spellings of :data:`CATEGORY_ALIASES` work too) or a custom tool's own category;
        ``danger_level``: at most this level (``"safe"`` lists only SAFE tools);
        ``keyword``: in the name or description (case-insensitive).
        """
        wanted = normalize_category(category) if category is not None else None
        ceiling = DangerLevel(danger_level) if danger_level is not None else None
        needle = keyword.lower() if keyword else None
        return [
            t
            for _, t in sorted(self._tools.items())
            if (wanted is None or normalize_category(t.category) == wanted)
            and (ceiling is None or t.danger_level <= ceiling)
            and (needle is None or needle in t.name.lower() or needle in t.description.lower())
        ]

    def definitions(self) -> list[Any]:
        """Provider-facing :class:`~kaizen_core.providers.ToolDefinition` list."""
        return [t.to_definition() for t in self.discover()]

    async def execute(self, name: str, params: dict[str, Any] | None = None) -> ToolResult:
        """Run tool ``name``. Unknown tool -> an EXEC_001 ToolResult (never raises).

        This is the registry's raw path: no permission check, no hooks. Agents call their
        tools through ``agent.execute_tool`` / the tool loop, which pass the permission gate.
        """
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
        """Run steps in order (see :func:`chain_step` for their forms), without any permission check.

        Stops after the first failure unless ``stop_on_error=False``. An agent's tools are
        run through the agent instead (``await agent.execute_tool_chain(steps)``), which
        passes every step through its permission gate.
        """
        results: list[ToolResult] = []
        for step in steps:
            name, params = chain_step(step)
            result = await self.execute(name, params)
            results.append(result)
            if stop_on_error and not result.success:
                break
        return results
