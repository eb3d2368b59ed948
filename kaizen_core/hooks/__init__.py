"""Lifecycle hooks: handlers run at PRE/POST events of an agent run.

    from kaizen_core.hooks import HookManager, HookEvent, HookPriority, HookResult

    hooks = HookManager()
    hooks.register(HookEvent.PRE_TOOL_CALL, lambda ctx: HookResult.block("no tools today"))
    results = await hooks.trigger(HookEvent.PRE_TOOL_CALL, agent_id="a1")

Every agent has one: ``agent.hook_manager`` (also ``agent._hook_manager``), created on
first use. ``with hook_metadata(user_id="alice"):`` adds values to every context.

Built-in hooks (:mod:`kaizen_core.hooks.builtin`) are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.hooks.base import BaseHook
from kaizen_core.hooks.context import HookContext, HookResult, first_blocked, hook_metadata
from kaizen_core.hooks.events import HookEvent, HookPriority
from kaizen_core.hooks.manager import Handler, HookManager
from kaizen_core.lazy import lazy_exports

__all__ = [
    "AuditHook",
    "BaseHook",
    "CostTrackingHook",
    "Handler",
    "HookContext",
    "HookEvent",
    "HookManager",
    "HookPriority",
    "HookResult",
    "JsonLogsHook",
    "LoggingHook",
    "MetricsHook",
    "PerformanceProfilerHook",
    "TracingHook",
    "first_blocked",
    "hook_metadata",
]

_BUILTIN = (
    "AuditHook",
    "CostTrackingHook",
    "JsonLogsHook",
    "LoggingHook",
    "MetricsHook",
    "PerformanceProfilerHook",
    "TracingHook",
)

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.hooks.builtin import (
        AuditHook,
        CostTrackingHook,
        JsonLogsHook,
        LoggingHook,
        MetricsHook,
        PerformanceProfilerHook,
        TracingHook,
    )

__getattr__, __dir__ = lazy_exports(globals(), dict.fromkeys(_BUILTIN, "kaizen_core.hooks.builtin"))
