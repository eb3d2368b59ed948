"""The interrupt models: :class:`InterruptReason` (why a run stopped) and :class:`InterruptContext`
(what interrupt handlers look at).

Exported lazily by :mod:`kaizen_core.interrupts.types` and :mod:`kaizen_core.interrupts`, and
imported by :mod:`kaizen_core.interrupts.scope` at its own import: ``request_interrupt`` runs in
signal handlers, which must find the classes complete (``InterruptReason`` is built at import,
not deferred). No ``from __future__ import annotations``: pydantic would evaluate every field's
annotation string when each class is made.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kaizen_core._factories import new_dict
from kaizen_core.interrupts.types import InterruptMode, InterruptSignal, InterruptSource

__all__ = ["InterruptContext", "InterruptReason"]


class InterruptReason(BaseModel):
    """Why a run was interrupted. ``metadata`` carries details such as ``signal``,
    ``handler`` or (set by the agent) ``checkpoint_id``."""

    # Built at import, not deferred: the first one is often made in a signal handler, which
    # must not build a schema (or import pydantic's modules) between two bytecodes of the run.

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
