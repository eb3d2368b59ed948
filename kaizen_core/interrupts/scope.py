"""InterruptScope: the interrupt state of one agent run.

A scope records the first interrupt request of its run (a later IMMEDIATE request
escalates an earlier GRACEFUL one), guards the run's steps (cancelling one that must
stop now) and passes every request on to the scopes nested in it: a sub-agent run
started inside a run, or the runs of one blocking ``agent.run()`` call. A scope
lives exactly as long as its run, so nothing carries over to the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeVar

from kaizen_core._eager import resume, step_eagerly
from kaizen_core.errors import InterruptHandlerError, ShutdownTimeoutError

# Imported here, not on first use: request_interrupt() runs in signal handlers, and a handler
# that imports a module the main thread is importing at that moment finds it half-built.
from kaizen_core.interrupts.models import InterruptContext, InterruptReason
from kaizen_core.interrupts.types import (
    InterruptMode,
    InterruptSignal,
    InterruptSource,
    StepCancelled,
    interrupt_request,
)
from kaizen_core.redaction import redacted_traceback

if TYPE_CHECKING:
    from kaizen_core.interrupts.manager import InterruptManager

__all__ = ["InterruptScope", "current_scope"]

logger = logging.getLogger("kaizen.interrupts")

T = TypeVar("T")
Clock = Callable[[], float]
_Listener = tuple[asyncio.AbstractEventLoop, Callable[[], None]]

_current_task = asyncio.current_task

_CURRENT: ContextVar[InterruptScope | None] = ContextVar("kaizen_interrupt_scope", default=None)


def current_scope() -> InterruptScope | None:
    """The scope of the innermost run (or blocking call) the calling code runs in, or ``None``.

    A long tool can poll ``current_scope().is_interrupted()`` to stop early.
    """
    return _CURRENT.get()


class InterruptScope:
    """The interrupt state of one run. Thread-safe: :meth:`request_interrupt` may be
    called from any thread or from a signal handler.

    ``parent``: requests made on the parent (now or later) reach this scope too, with
    ``metadata["propagated_from_parent"]``; a request made here never reaches the parent.
    ``manager``/``context_fn``: where :meth:`poll` finds the handlers and the context.
    ``clock`` measures the run's age (``started_at``) and the graceful-shutdown window.
    """

    def __init__(
        self,
        graceful_shutdown_timeout: float = 5.0,
        *,
        parent: InterruptScope | None = None,
        manager: InterruptManager | None = None,
        context_fn: Callable[[], InterruptContext] | None = None,
        run_id: str | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.graceful_shutdown_timeout = float(graceful_shutdown_timeout)
        self.manager = manager
        self.context_fn = context_fn
        self.run_id = run_id
        self.clock = clock
        self.started_at = clock()
        self._lock = threading.RLock()  # re-entrant: a signal handler may run while this thread holds it
        self._reason: InterruptReason | None = None
        self._requested_at: float | None = None
        self._children: list[weakref.ref[InterruptScope]] = []
        self._parent: weakref.ref[InterruptScope] | None = None
        self._in_parent: weakref.ref[InterruptScope] | None = None  # this scope's entry in the parent's children
        self._listeners: set[_Listener] = set()  # (loop, callback): told of every change of state
        self._failed_handlers: set[int] = set()  # handlers whose failure this run already logged
        if parent is not None:
            parent._adopt(self)

    # ------------------------------------------------------------------ state
    def request_interrupt(
        self,
        source: InterruptSource | str | None = None,
        mode: InterruptMode | str = InterruptMode.GRACEFUL,
        message: str = "",
        metadata: dict[str, Any] | None = None,
        *,
        signal: InterruptSignal | str | None = None,
        reason: InterruptReason | str | None = None,
    ) -> bool:
        """Ask the run to stop. Returns ``True`` when this call changed the state (first
        request, or escalation of a GRACEFUL interrupt to IMMEDIATE). Reaches nested scopes.

        ``signal=``/``reason=`` are the original's call shape (see
        :func:`~kaizen_core.interrupts.types.interrupt_request`); without a source or
        signal the source is PROGRAMMATIC.
        """
        source, mode, message, extra = interrupt_request(source, mode, message, metadata, signal=signal, reason=reason)
        with self._lock:
            current = self._reason
            if current is None:
                self._reason = InterruptReason(
                    source=source, mode=mode, message=message or f"{source.value} interrupt", metadata=extra
                )
                self._requested_at = self.clock()
            elif current.mode is InterruptMode.GRACEFUL and mode is InterruptMode.IMMEDIATE:
                # Keep the original cause (its signal decides the exit code); record the escalation.
                current.mode = InterruptMode.IMMEDIATE
                current.metadata["escalated"] = True
                current.metadata["escalation_source"] = source.value
                if message:
                    current.metadata["escalation_message"] = message
            else:
                return False
            children = self.children
        self._notify()
        for child in children:
            child.request_interrupt(source, mode, message, {**extra, "propagated_from_parent": True})
        return True

    def is_interrupted(self) -> bool:
        """Whether an interrupt has been requested for this run."""
        return self._reason is not None

    @property
    def reason(self) -> InterruptReason | None:
        """The recorded interrupt, or ``None``."""
        return self._reason

    @property
    def mode(self) -> InterruptMode | None:
        """The mode of the recorded interrupt, or ``None``."""
        reason = self._reason
        return reason.mode if reason is not None else None

    def escalate_if_overdue(self) -> bool:
        """Escalate a GRACEFUL interrupt to IMMEDIATE once ``graceful_shutdown_timeout`` has passed."""
        remaining = self._graceful_remaining()
        reason = self._reason
        if remaining is None or remaining > 0 or reason is None or reason.mode is InterruptMode.IMMEDIATE:
            return False
        message = f"graceful shutdown did not finish within {self.graceful_shutdown_timeout:g}s"
        changed = self.request_interrupt(InterruptSource.SYSTEM, InterruptMode.IMMEDIATE, message)
        if changed:
            logger.warning("%s", ShutdownTimeoutError(f"run {self.run_id}: {message}; cancelling the running step"))
        return changed

    def _graceful_remaining(self) -> float | None:
        requested_at = self._requested_at
        if requested_at is None:
            return None
        return self.graceful_shutdown_timeout - (self.clock() - requested_at)

    async def wait(self, timeout: float | None = None) -> InterruptReason | None:
        """Wait until an interrupt is requested (or ``timeout`` passes); returns the reason."""
        event = asyncio.Event()
        entry: _Listener = (asyncio.get_running_loop(), event.set)
        self._listen(entry)
        try:
            if self._reason is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._unlisten(entry)
        return self._reason

    # ------------------------------------------------------------------ handlers
    def context(self) -> InterruptContext:
        """A fresh :class:`InterruptContext` for the handlers: ``context_fn()`` (or an empty
        one) with the run's timing filled in from this scope's clock when it left it unset."""
        context = self.context_fn() if self.context_fn is not None else InterruptContext()
        if context.run_id is None:
            context.run_id = self.run_id
        if context.started_at is None:
            context.started_at = self.started_at
            context.clock = self.clock
            context.elapsed_s = max(context.elapsed_s, self.clock() - self.started_at)
        return context

    async def poll(self) -> InterruptReason | None:
        """Run the manager's handlers once on a fresh :meth:`context`; the first reason one
        returns is recorded with :meth:`request_interrupt` and returned."""
        manager = self.manager
        if manager is None or not manager.handlers or self._reason is not None:
            return None
        try:
            context = self.context()
        except Exception as exc:
            error = InterruptHandlerError(f"interrupt context function raised {type(exc).__name__}: {exc}")
            logger.error("%s\n%s", error, redacted_traceback(exc))
            return None
        found = await manager.check(context, failed=self._failed_handlers)
        if found is not None:
            self.request_interrupt(found.source, found.mode, found.message, found.metadata)
        return found

    # ------------------------------------------------------------------ nesting
    def _adopt(self, child: InterruptScope) -> None:
        child._parent = weakref.ref(self)
        entry = child._in_parent = weakref.ref(child)
        with self._lock:
            children = self._children
            if len(children) >= 16:  # children dropped without close(): forget the dead ones now and then
                children[:] = [ref for ref in children if ref() is not None]
            children.append(entry)
            current = self._reason
        if current is not None:  # nested in a run that is already stopping: start interrupted
            child.request_interrupt(
                current.source, current.mode, current.message, {**current.metadata, "propagated_from_parent": True}
            )

    @property
    def parent(self) -> InterruptScope | None:
        """The scope this one is nested in, while that one is alive."""
        return self._parent() if self._parent is not None else None

    @property
    def children(self) -> list[InterruptScope]:
        """Scopes nested in this one that are still open."""
        with self._lock:
            return [child for ref in self._children if (child := ref()) is not None]

    def close(self) -> None:
        """Detach from the parent: the run is over."""
        parent = self.parent
        entry, self._in_parent = self._in_parent, None
        if parent is not None and entry is not None:
            with parent._lock:
                parent._children.remove(entry)
        self._parent = None

    def activate(self) -> Any:
        """Make this the :func:`current_scope` of the calling context; returns the token for :meth:`deactivate`."""
        return _CURRENT.set(self)

    @staticmethod
    def deactivate(token: Any) -> None:
        """Undo :meth:`activate`."""
        _CURRENT.reset(token)

    # ------------------------------------------------------------------ listeners
    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for loop, callback in listeners:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(callback)

    def _listen(self, entry: _Listener) -> None:
        with self._lock:
            self._listeners.add(entry)

    def _unlisten(self, entry: _Listener) -> None:
        with self._lock:
            self._listeners.discard(entry)

    # ------------------------------------------------------------------ guard
    async def guard(
        self,
        step: Callable[..., Awaitable[T]] | Awaitable[T],
        *args: Any,
        side_effect_free: bool = False,
        **kwargs: Any,
    ) -> T:
        """Run one step (``await step(*args, **kwargs)``, or an awaitable) under interrupt watch.

        Returns the step's value when it finishes, even if a GRACEFUL interrupt is
        pending. Cancels it and raises :class:`StepCancelled` when an IMMEDIATE interrupt
        is requested, or when a GRACEFUL one has been pending for
        ``graceful_shutdown_timeout`` seconds (it is then escalated to IMMEDIATE).

        ``side_effect_free`` steps (a model call: cancelling it loses nothing but the
        tokens) are cancelled by a GRACEFUL interrupt at once; there is nothing for them
        to finish cleanly.

        The step runs in the calling task; an interrupt cancels that task while it is
        inside the step, and the cancellation comes out as :class:`StepCancelled`.
        Cancelling the caller cancels the step and raises ``CancelledError`` as usual.
        """
        awaitable = step(*args, **kwargs) if callable(step) else step
        loop = asyncio.get_running_loop()
        task = _current_task(loop)
        if task is None:  # not in a task (a bare coroutine driven by hand): give the step one
            return await asyncio.ensure_future(self._guarded(awaitable))
        started = False
        if self._reason is None and type(awaitable) is CoroutineType:
            # Nothing pending: run the step up to its first suspension before watching it. A
            # request cannot act on a step before it suspends (a cancellation is delivered
            # there; a request from a signal handler or another thread reaches the watch
            # through the loop), so a step that finishes without suspending needs no watch.
            finished, value = step_eagerly(awaitable)
            if finished:
                return value  # type: ignore[no-any-return]  # (no cast(): a call on the hot path)
            awaitable, started = resume(awaitable, value), True
        watch = _StepWatch(self, loop, task, side_effect_free)
        cancelling = task.cancelling()
        self._listen(watch.entry)  # before looking at the state, so no request can slip between
        try:
            if started:
                if self._reason is not None:  # came while the step ran: it acts where the step suspended
                    watch.on_request()
            elif self._reason is not None:
                self.escalate_if_overdue()
                reason = self._reason
                if reason is not None and (reason.mode is InterruptMode.IMMEDIATE or side_effect_free):
                    _discard(awaitable)
                    raise StepCancelled(reason)
                if reason is not None:
                    watch.arm()  # a GRACEFUL interrupt is pending: escalate when its grace ends
            result = await awaitable
        except asyncio.CancelledError:
            if watch.cancelled_for is not None and task.uncancel() <= cancelling:
                raise StepCancelled(watch.cancelled_for) from None
            raise  # cancelled from outside (or by an outer guard of the same task)
        finally:
            self._unlisten(watch.entry)
            watch.close()
        if watch.cancelled_for is not None:
            task.uncancel()  # the step finished (or swallowed the cancellation): its value stands
        return result

    async def _guarded(self, awaitable: Awaitable[T]) -> T:
        return await self.guard(awaitable)

    def __repr__(self) -> str:
        state = self._reason.mode.value if self._reason is not None else "running"
        return f"InterruptScope(run_id={self.run_id!r}, {state})"


class _StepWatch:
    """Watches one scope for one guarded step; its methods run on the step's loop.

    Arms a timer that escalates a pending GRACEFUL interrupt when its grace period ends,
    and cancels the step's task once the interrupt is IMMEDIATE.
    """

    __slots__ = ("active", "cancelled_for", "entry", "loop", "scope", "side_effect_free", "task", "timer")

    def __init__(
        self,
        scope: InterruptScope,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
        side_effect_free: bool = False,
    ):
        self.scope = scope
        self.side_effect_free = side_effect_free
        self.loop = loop
        self.task = task
        self.active = True
        self.cancelled_for: InterruptReason | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.entry: _Listener = (loop, self.on_request)

    def on_request(self) -> None:
        if not self.active:
            return
        reason = self.scope._reason
        if reason is None:
            return
        if reason.mode is InterruptMode.IMMEDIATE or self.side_effect_free:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.cancelled_for is None:
                self.cancelled_for = reason
                self.task.cancel()
        elif self.timer is None:
            self.arm()

    def arm(self) -> None:
        """Escalate the pending GRACEFUL interrupt when its grace period ends."""
        remaining = self.scope._graceful_remaining()
        self.timer = self.loop.call_later(max(0.0, remaining or 0.0), self._grace_over)

    def _grace_over(self) -> None:
        self.timer = None
        if not self.active:
            return
        reason = self.scope._reason
        if reason is None or reason.mode is not InterruptMode.GRACEFUL:
            return
        if not self.scope.escalate_if_overdue():  # the clock is not there yet (loop clock early, injected clock)
            self.arm()

    def close(self) -> None:
        self.active = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _discard(awaitable: Awaitable[Any]) -> None:
    """Drop a step that will not run: close a coroutine, cancel a future."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif asyncio.isfuture(awaitable):
        awaitable.cancel()
