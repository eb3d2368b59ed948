"""What a hook receives (:class:`HookContext`) and what it returns (:class:`HookResult`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from kaizen_core.hooks.events import HookEvent

__all__ = ["HookContext", "HookResult", "first_blocked"]


def _now() -> datetime:
    return datetime.now(UTC)


class HookContext(BaseModel):
    """The event being triggered and where it happens.

    One context object is shared by every handler of a single trigger, in run order.
    """

    event: HookEvent
    agent_id: str
    run_id: str | None = None
    timestamp: datetime = Field(default_factory=_now)
    trace_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    cycle: int | None = None


class HookResult(BaseModel):
    """The outcome of one handler.

    ``success=False`` requires ``error``. ``blocked=True`` (see :meth:`block`) asks the
    agent to skip the guarded action (a tool call, a checkpoint save) for ``reason``.
    ``error_code`` is ``HOOK_003`` (raised) or ``HOOK_002`` (timed out) when the manager
    produced the failure. ``duration_ms`` and ``hook_name`` are filled in by the manager.
    """

    success: bool
    data: Any = None
    error: str | None = None
    error_code: str | None = None
    duration_ms: float = 0.0
    hook_name: str = ""
    blocked: bool = False
    reason: str | None = None

    @model_validator(mode="after")
    def _failure_needs_error(self) -> HookResult:
        if not self.success and not self.error:
            raise ValueError("a failed HookResult needs an error message (error=...)")
        return self

    @classmethod
    def block(cls, reason: str, data: Any = None) -> HookResult:
        """A result asking the agent to skip the guarded action, saying why."""
        return cls(success=True, blocked=True, reason=reason, data=data)


def first_blocked(results: Iterable[HookResult]) -> HookResult | None:
    """The first result that blocks the guarded action, or None."""
    for result in results:
        if result.blocked:
            return result
    return None
