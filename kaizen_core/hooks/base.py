"""BaseHook: a class-based lifecycle hook handling one or more events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kaizen_core.hooks.context import HookContext, HookResult
from kaizen_core.hooks.events import HookEvent, HookPriority

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.hooks.manager import HookManager

__all__ = ["BaseHook"]


class BaseHook(ABC):
    """Subclass, list the ``events`` handled, and implement :meth:`handle`.

    ``events``, ``priority``, ``name`` and ``timeout`` may be class attributes or set in
    ``__init__``, either directly (``self.events = [...]``) or through
    ``super().__init__(name=..., events=..., priority=..., timeout=...)``.

    Register with :meth:`kaizen_core.hooks.HookManager.register_hook`. ``name`` (default:
    the class name) keys ``HookManager.stats()`` and ``unregister``; ``timeout`` (seconds,
    None: the manager's default) bounds every call.
    """

    events: list[HookEvent] = []
    priority: HookPriority = HookPriority.NORMAL
    name: str = ""
    timeout: float | None = None

    def __init__(
        self,
        name: str | None = None,
        events: Iterable[HookEvent | str] | None = None,
        priority: HookPriority | int | None = None,
        timeout: float | None = None,
    ) -> None:
        # Only what is given becomes an instance attribute: the class attributes stay the defaults.
        if name is not None:
            self.name = name
        if events is not None:
            self.events = [HookEvent(e) for e in events]
        if priority is not None:
            self.priority = HookPriority(priority)
        if timeout is not None:
            self.timeout = timeout

    @abstractmethod
    async def handle(self, context: HookContext) -> HookResult | dict[str, Any] | None:
        """Handle one event. Return None (success), a dict (success with data) or a HookResult."""

    def attached(self, manager: HookManager) -> None:  # noqa: B027 - optional, so not abstract
        """Called by :meth:`HookManager.register_hook` once this hook is registered on ``manager``.

        Does nothing by default. A hook reporting on the manager itself (a metrics exporter
        timing every handler) subscribes here with :meth:`HookManager.observe_calls`.
        """

    @property
    def hook_name(self) -> str:
        """The registration name: ``name`` or the class name."""
        return self.name or type(self).__name__
