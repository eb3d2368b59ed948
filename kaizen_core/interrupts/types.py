"""Interrupt data types: where an interrupt comes from, how hard it stops, and why."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core.errors import AgentInterrupted, KaizenError

__all__ = [
    "InterruptContext",
    "InterruptMode",
    "InterruptReason",
    "InterruptSource",
    "StepCancelled",
]


class InterruptSource(str, Enum):  # noqa: UP042 -- str mixin kept for value comparisons
    """Who asked for the interrupt."""

    USER = "user"
    """A person: Ctrl+C (SIGINT), SIGTERM from a process manager."""
    SYSTEM = "system"
    """A limit: timeout, budget, memory/CPU, or a graceful shutdown that ran out of time."""
    PROGRAMMATIC = "programmatic"
    """Code: an API call, a lifecycle hook, a parent agent."""


class InterruptMode(str, Enum):  # noqa: UP042
    """How the run stops."""

    GRACEFUL = "graceful"
    """Finish the current cycle, checkpoint, stop."""
    IMMEDIATE = "immediate"
    """Cancel the current step now, best-effort checkpoint, stop."""


class InterruptReason(BaseModel):
    """Why a run was interrupted. ``metadata`` carries details such as ``signal``,
    ``handler`` or (set by the agent) ``checkpoint_id``."""

    source: InterruptSource
    mode: InterruptMode = InterruptMode.GRACEFUL
    message: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))


class InterruptContext(BaseModel):
    """A snapshot of a running agent, given to interrupt handlers on every check.

    ``started_at`` is a ``clock()`` value (:func:`time.monotonic` unless the
    InterruptManager was given another clock); handlers that measure time use
    :meth:`current_elapsed`, so that a stale snapshot still yields the true elapsed time.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent_id: str = ""
    run_id: str | None = None
    started_at: float | None = None
    elapsed_s: float = 0.0
    cycle: int = 0
    budget_spent_usd: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)
    clock: Callable[[], float] = Field(default=time.monotonic, exclude=True, repr=False)
    """The clock ``started_at`` was read from."""

    def current_elapsed(self) -> float:
        """Seconds since ``started_at`` (now), or ``elapsed_s`` when no start is known."""
        if self.started_at is None:
            return self.elapsed_s
        return max(self.elapsed_s, self.clock() - self.started_at)


class StepCancelled(KaizenError):
    """Raised by :meth:`InterruptScope.guard` when it cancelled the running step.

    Internal to the agent loop: the agent catches it, checkpoints and raises
    :class:`kaizen_core.errors.AgentInterrupted` (whose code it shares). ``reason`` is
    the interrupt that caused it.
    """

    code = AgentInterrupted.code

    def __init__(self, reason: InterruptReason) -> None:
        super().__init__(f"step cancelled by {reason.mode.value} interrupt: {reason.message}")
        self.reason = reason
