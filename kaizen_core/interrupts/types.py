"""Interrupt data types: where an interrupt comes from, how hard it stops, and why.

No ``from __future__ import annotations``: pydantic would evaluate each model field's
annotation string when the class is made (on every agent process's start-up path).
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core._factories import new_dict
from kaizen_core.errors import AgentInterrupted, ConfigError, KaizenError

__all__ = [
    "InterruptContext",
    "InterruptMode",
    "InterruptReason",
    "InterruptSignal",
    "InterruptSource",
    "InterruptType",
    "StepCancelled",
    "interrupt_request",
]


class InterruptSource(str, Enum):  # noqa: UP042 -- str mixin kept for value comparisons
    """Who asked for the interrupt."""

    USER = "user"
    """A person: Ctrl+C (SIGINT), SIGTERM from a process manager."""
    SYSTEM = "system"
    """A limit: timeout, budget, memory/CPU, or a graceful shutdown that ran out of time."""
    PROGRAMMATIC = "programmatic"
    """Code: an API call, a lifecycle hook, a parent agent."""


#: The name the original's autonomy overview uses for :class:`InterruptSource` (``e.reason.interrupt_type``).
InterruptType = InterruptSource


class InterruptSignal(str, Enum):  # noqa: UP042
    """What kind of stop was asked for (the original's six interrupt signals).

    A finer label than :class:`InterruptSource`: each signal implies a source
    (:attr:`source`) and is recorded as ``reason.metadata["interrupt_signal"]`` (see
    :attr:`InterruptReason.interrupt_signal`). ``metadata["signal"]`` stays the name of an
    OS signal (``"SIGINT"``), which decides the exit code.
    """

    USER_REQUESTED = "user_requested"
    """A person asked the run to stop (also SIGINT)."""
    RATE_LIMIT = "rate_limit"
    """A rate limit leaves no room to go on."""
    BUDGET_EXCEEDED = "budget_exceeded"
    """The budget is spent (the budget handler)."""
    TIMEOUT = "timeout"
    """The run took too long (the timeout handler)."""
    SHUTDOWN = "shutdown"
    """The process is being shut down (also SIGTERM)."""
    CUSTOM = "custom"
    """Anything else, raised by code."""

    @property
    def source(self) -> InterruptSource:
        """The :class:`InterruptSource` this signal implies."""
        return _SIGNAL_SOURCES[self]


_SIGNAL_SOURCES = {
    InterruptSignal.USER_REQUESTED: InterruptSource.USER,
    InterruptSignal.SHUTDOWN: InterruptSource.USER,
    InterruptSignal.RATE_LIMIT: InterruptSource.SYSTEM,
    InterruptSignal.BUDGET_EXCEEDED: InterruptSource.SYSTEM,
    InterruptSignal.TIMEOUT: InterruptSource.SYSTEM,
    InterruptSignal.CUSTOM: InterruptSource.PROGRAMMATIC,
}


class InterruptMode(str, Enum):  # noqa: UP042
    """How the run stops."""

    GRACEFUL = "graceful"
    """Finish the current cycle, checkpoint, stop."""
    IMMEDIATE = "immediate"
    """Cancel the current step now, best-effort checkpoint, stop."""


class InterruptReason(BaseModel):
    """Why a run was interrupted. ``metadata`` carries details such as ``signal``,
    ``handler`` or (set by the agent) ``checkpoint_id``."""

    model_config = ConfigDict(defer_build=True)  # built on first use: not on the import path

    source: InterruptSource
    mode: InterruptMode = InterruptMode.GRACEFUL
    message: str = ""
    metadata: dict[str, Any] = Field(default_factory=new_dict)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def interrupt_type(self) -> InterruptSource:
        """Same as :attr:`source` (the original's name, compared with ``InterruptType.SYSTEM``)."""
        return self.source

    @property
    def interrupt_signal(self) -> InterruptSignal | None:
        """The :class:`InterruptSignal` of this interrupt, when one was given or implied."""
        value = self.metadata.get("interrupt_signal")
        try:
            return InterruptSignal(value) if value is not None else None
        except ValueError:
            return None


def interrupt_request(
    source: InterruptSource | str | None = None,
    mode: InterruptMode | str = InterruptMode.GRACEFUL,
    message: str = "",
    metadata: dict[str, Any] | None = None,
    *,
    signal: InterruptSignal | str | None = None,
    reason: InterruptReason | str | None = None,
) -> tuple[InterruptSource, InterruptMode, str, dict[str, Any]]:
    """The arguments of a ``request_interrupt(...)`` call as ``(source, mode, message, metadata)``.

    Both documented call shapes meet here: ``request_interrupt(InterruptSource.USER,
    message="...")`` and ``request_interrupt(signal=InterruptSignal.USER_REQUESTED,
    reason="...")``. ``reason`` is the message (a string) or a whole
    :class:`InterruptReason`; ``signal`` implies the source (unless one is given) and is
    recorded as ``metadata["interrupt_signal"]``; with neither source nor signal the
    source is ``PROGRAMMATIC`` (code asked).
    """
    extra = dict(metadata or {})
    if isinstance(reason, InterruptReason):
        source = source if source is not None else reason.source
        if mode is InterruptMode.GRACEFUL or mode == InterruptMode.GRACEFUL.value:
            mode = reason.mode
        message = message or reason.message
        extra = {**reason.metadata, **extra}
    elif reason is not None:
        if message and message != reason:
            raise ConfigError("pass the interrupt message once: message= and reason= name the same argument")
        message = str(reason)
    if signal is not None:
        try:
            kind = InterruptSignal(signal)
        except ValueError:
            valid = ", ".join(s.name for s in InterruptSignal)
            raise ConfigError(
                f"unknown interrupt signal {signal!r}", hint=f"use one of InterruptSignal.{valid}"
            ) from None
        extra["interrupt_signal"] = kind.value
        source = source if source is not None else kind.source
    try:
        source = InterruptSource(source if source is not None else InterruptSource.PROGRAMMATIC)
        mode = InterruptMode(mode)
    except ValueError as exc:
        raise ConfigError(
            f"invalid interrupt request: {exc}", hint="use InterruptSource / InterruptMode members"
        ) from None
    return source, mode, message, extra


class InterruptContext(BaseModel):
    """A snapshot of a running agent, given to interrupt handlers on every check.

    ``started_at`` is a ``clock()`` value (:func:`time.monotonic` unless the
    InterruptManager was given another clock); handlers that measure time use
    :meth:`current_elapsed`, so that a stale snapshot still yields the true elapsed time.
    """

    model_config = ConfigDict(defer_build=True, arbitrary_types_allowed=True)

    agent_id: str = ""
    run_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    started_at: float | None = None
    elapsed_s: float = 0.0
    cycle: int = 0
    budget_spent_usd: float = 0.0
    error_count: int = 0
    """Tool calls of the run that did not succeed so far (failed, denied, blocked, unknown)."""
    metadata: dict[str, Any] = Field(default_factory=new_dict)
    clock: Callable[[], float] = Field(default=time.monotonic, exclude=True, repr=False)
    """The clock ``started_at`` was read from."""

    # Read-only mapping access, for handlers written as ``context.get("error_count")`` (the
    # original documents the context as a dict): the fields, then the metadata keys.
    def _keys(self) -> list[str]:
        fields = [name for name in type(self).model_fields if name != "clock"]
        return fields + [key for key in self.metadata if key not in fields]

    def get(self, key: str, default: Any = None) -> Any:
        """``context[key]``, or ``default`` when there is no such field or metadata key."""
        try:
            return self[key]
        except KeyError:
            return default

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields and key != "clock":
            if key == "elapsed_s":
                return self.current_elapsed()
            return getattr(self, key)
        return self.metadata[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._keys()

    def keys(self) -> list[str]:
        """The keys :meth:`get` answers for."""
        return self._keys()

    def to_dict(self) -> dict[str, Any]:
        """The context as a plain dict (``{key: context[key]}``)."""
        return {key: self[key] for key in self._keys()}

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
