"""Lifecycle events and hook priorities."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["HookEvent", "HookPriority"]


class HookEvent(StrEnum):
    """A point in an agent run where lifecycle hooks are triggered.

    Values are the lower-case member names (``HookEvent.PRE_AGENT_LOOP == "pre_agent_loop"``).
    Every ``PRE_x`` has a matching ``POST_x``; :attr:`phase` names the pair (``"agent_loop"``).

    ``PRE_TOOL_USE`` / ``POST_TOOL_USE`` (the original documentation's names) are aliases:
    the same members as ``PRE_TOOL_CALL`` / ``POST_TOOL_CALL``, also by value
    (``HookEvent("pre_tool_use") is HookEvent.PRE_TOOL_CALL``).
    """

    PRE_AGENT_INIT = "pre_agent_init"
    POST_AGENT_INIT = "post_agent_init"
    PRE_AGENT_LOOP = "pre_agent_loop"
    POST_AGENT_LOOP = "post_agent_loop"
    PRE_CYCLE = "pre_cycle"
    POST_CYCLE = "post_cycle"
    PRE_MODEL_CALL = "pre_model_call"
    POST_MODEL_CALL = "post_model_call"
    PRE_TOOL_CALL = "pre_tool_call"
    POST_TOOL_CALL = "post_tool_call"
    PRE_TOOL_USE = "pre_tool_call"  # alias (same member)
    POST_TOOL_USE = "post_tool_call"  # alias (same member)
    PRE_PERMISSION_CHECK = "pre_permission_check"
    POST_PERMISSION_CHECK = "post_permission_check"
    PRE_CHECKPOINT_SAVE = "pre_checkpoint_save"
    POST_CHECKPOINT_SAVE = "post_checkpoint_save"
    PRE_INTERRUPT = "pre_interrupt"
    POST_INTERRUPT = "post_interrupt"
    PRE_MEMORY_SAVE = "pre_memory_save"
    POST_MEMORY_SAVE = "post_memory_save"
    PRE_MEMORY_LOAD = "pre_memory_load"
    POST_MEMORY_LOAD = "post_memory_load"
    PRE_PLAN_GENERATION = "pre_plan_generation"
    POST_PLAN_GENERATION = "post_plan_generation"
    ON_ERROR = "on_error"

    @classmethod
    def _missing_(cls, value: object) -> HookEvent | None:
        # Values of the aliases' own names ("pre_tool_use") and upper-case names resolve too.
        if isinstance(value, str):
            name = value.upper()
            member = cls.__members__.get(name)
            if member is not None:
                return member
        return None

    @property
    def pre(self) -> HookEvent | None:
        """The ``PRE_x`` event of this event's pair (None for ``ON_ERROR``)."""
        phase = self.phase
        return None if phase is None else HookEvent("pre_" + phase)

    @property
    def is_pre(self) -> bool:
        """True for ``PRE_*`` events."""
        return self.value.startswith("pre_")

    @property
    def is_post(self) -> bool:
        """True for ``POST_*`` events."""
        return self.value.startswith("post_")

    @property
    def phase(self) -> str | None:
        """The phase a PRE/POST pair brackets (``"tool_call"``); None for ``ON_ERROR``."""
        prefix, sep, rest = self.value.partition("_")
        return rest if sep and prefix in ("pre", "post") else None


class HookPriority(IntEnum):
    """Order of handlers for one event: lower runs first; equal keeps registration order."""

    CRITICAL = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4
    LOWEST = 5
