"""Interrupt data types: where an interrupt comes from, how hard it stops, and why.

The two models, :class:`InterruptReason` and :class:`InterruptContext`, live in
:mod:`kaizen_core.interrupts.models` (``from kaizen_core.interrupts.types import
InterruptReason`` works as ever, lazily): importing this module alone does not build them.
They load with :mod:`kaizen_core.interrupts.scope`, i.e. with the first run that watches
interrupts, because a signal handler must never import or build a model.
"""

import sys
from enum import Enum
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import AgentInterrupted, ConfigError, KaizenError
from kaizen_core.lazy import lazy_exports

if TYPE_CHECKING:
    from kaizen_core.interrupts.models import InterruptContext, InterruptReason

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

__getattr__, __dir__ = lazy_exports(
    globals(), dict.fromkeys(("InterruptContext", "InterruptReason"), "kaizen_core.interrupts.models")
)


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


def interrupt_request(
    source: InterruptSource | str | None = None,
    mode: InterruptMode | str = InterruptMode.GRACEFUL,
    message: str = "",
    metadata: dict[str, Any] | None = None,
    *,
    signal: InterruptSignal | str | None = None,
    reason: "InterruptReason | str | None" = None,
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
    models = sys.modules.get("kaizen_core.interrupts.models")  # no InterruptReason exists before it loads
    if models is not None and isinstance(reason, models.InterruptReason):
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


class StepCancelled(KaizenError):
    """Raised by :meth:`InterruptScope.guard` when it cancelled the running step.

    Internal to the agent loop: the agent catches it, checkpoints and raises
    :class:`kaizen_core.errors.AgentInterrupted` (whose code it shares). ``reason`` is
    the interrupt that caused it.
    """

    code = AgentInterrupted.code

    def __init__(self, reason: "InterruptReason") -> None:
        super().__init__(f"step cancelled by {reason.mode.value} interrupt: {reason.message}")
        self.reason = reason
