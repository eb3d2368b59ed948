"""BaseHook: a class-based lifecycle hook handling one or more events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from kaizen_core.hooks.context import HookContext, HookResult
from kaizen_core.hooks.events import HookEvent, HookPriority

__all__ = ["BaseHook"]


class BaseHook(ABC):
    """Subclass, list the ``events`` handled, and implement :meth:`handle`.

    Register with :meth:`kaizen_core.hooks.HookManager.register_hook`. ``name`` (default:
    the class name) keys ``HookManager.stats()`` and ``unregister``; ``timeout`` (seconds,
    None: the manager's default) bounds every call.
    """

    events: ClassVar[list[HookEvent]] = []
    priority: HookPriority = HookPriority.NORMAL
    name: str = ""
    timeout: float | None = None

    @abstractmethod
    async def handle(self, context: HookContext) -> HookResult | dict[str, Any] | None:
        """Handle one event. Return None (success), a dict (success with data) or a HookResult."""

    @property
    def hook_name(self) -> str:
        """The registration name: ``name`` or the class name."""
        return self.name or type(self).__name__
