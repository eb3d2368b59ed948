"""What a hook receives (:class:`HookContext`) and what it returns (:class:`HookResult`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, Field, model_validator

from kaizen_core.hooks.events import HookEvent

__all__ = ["HookContext", "HookResult", "current_hook_metadata", "first_blocked", "hook_metadata"]


class HookContext(BaseModel):
    """The event being triggered and where it happens.

    One context object is shared by every handler of a single trigger, in run order.

    ``timestamp`` is the wall-clock time of the trigger in seconds since the epoch (a float,
    so a context's fields go into ``json.dumps`` as they are; :attr:`occurred_at` is the same
    instant as an aware ``datetime``). ``duration_ms`` is set on a ``POST_x`` event: the time
    since its matching ``PRE_x`` (or the ``duration_ms`` the caller measured).
    ``metadata`` written by a handler at ``PRE_x`` is visible at the matching ``POST_x``.
    """

    event: HookEvent
    agent_id: str
    run_id: str | None = None
    timestamp: float = Field(default_factory=time.time)
    trace_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    cycle: int | None = None
    duration_ms: float | None = None

    @property
    def event_type(self) -> HookEvent:
        """The original documentation's name for :attr:`event`."""
        return self.event

    @property
    def occurred_at(self) -> datetime:
        """:attr:`timestamp` as an aware UTC ``datetime``."""
        return datetime.fromtimestamp(self.timestamp, UTC)


_NO_METADATA: Mapping[str, Any] = MappingProxyType({})
_HOOK_METADATA: ContextVar[Mapping[str, Any]] = ContextVar("kaizen_hook_metadata", default=_NO_METADATA)


@contextmanager
def hook_metadata(**values: Any) -> Iterator[None]:
    """Add ``values`` (e.g. ``user_id="alice"``) to the metadata of every hook context
    triggered inside the block, in this task and the ones it starts (a context variable:
    the sync ``agent.run()`` carries it too). Nested blocks add to the outer ones; the
    metadata a trigger passes itself wins over these.
    """
    token = _HOOK_METADATA.set({**_HOOK_METADATA.get(), **values})
    try:
        yield
    finally:
        _HOOK_METADATA.reset(token)


def current_hook_metadata() -> Mapping[str, Any]:
    """The values :func:`hook_metadata` blocks set for the current context (empty outside any)."""
    return _HOOK_METADATA.get()


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
