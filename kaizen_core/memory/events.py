"""Fire PRE/POST_MEMORY_SAVE and PRE/POST_MEMORY_LOAD through an optional HookManager.

:mod:`kaizen_core.hooks` is imported only when a hook manager is given and has
handlers for the event, so memory without hooks pays nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fire"]


async def fire(hook_manager: Any, event_name: str, *, agent_id: str, metadata: dict[str, Any]) -> list[Any]:
    """Trigger ``HookEvent.<event_name>`` (e.g. ``"PRE_MEMORY_SAVE"``) when anyone listens."""
    if hook_manager is None:
        return []
    from kaizen_core.hooks import HookEvent

    event = HookEvent[event_name]
    if not hook_manager.has_handlers(event):
        return []
    results: list[Any] = await hook_manager.trigger(event, agent_id=agent_id, metadata=metadata)
    return results
