"""InterruptManager: one per agent run; records the first interrupt request, watches
handlers and signals while the agent runs, and cancels a step that must stop now."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any, TypeVar

from kaizen_core.errors import InterruptHandlerError, ShutdownTimeoutError
from kaizen_core.interrupts.handlers import BaseInterruptHandler
from kaizen_core.interrupts.types import (
    InterruptContext,
    InterruptMode,
    InterruptReason,
    InterruptSource,
    StepCancelled,
)

__all__ = ["InterruptManager", "exit_code_for"]

logger = logging.getLogger("kaizen.interrupts")

T = TypeVar("T")
ShutdownCallback = Callable[[], Any]
_HANDLED_SIGNALS: tuple[int, ...] = (int(signal.SIGINT), int(signal.SIGTERM))

try:  # signal.signal() wraps this with enum conversions that cost ~6 µs a call (4 calls a run)
    from _signal import signal as _set_signal
except ImportError:  # pragma: no cover - other interpreters
    _set_signal = signal.signal


def exit_code_for(reason: InterruptReason | None) -> int | None:
    """The conventional process exit code for an interrupt caused by a signal:
    ``128 + signum`` (130 for SIGINT, 143 for SIGTERM); ``None`` for other interrupts."""
    if reason is None:
        return None
    name = reason.metadata.get("signal")
    if not name:
        return None
    try:
        return 128 + int(signal.Signals[str(name)])
    except KeyError:
        return None


class InterruptManager:
    """Coordinates interrupts for one agent (and, through children, its sub-agents).

    Thread-safe: :meth:`request_interrupt` may be called from any thread or from a
    signal handler. The first request wins; a later IMMEDIATE request escalates an
    earlier GRACEFUL one. A GRACEFUL interrupt not finished within
    ``graceful_shutdown_timeout`` seconds escalates to IMMEDIATE (see :meth:`guard`).
    """

    def __init__(self, graceful_shutdown_timeout: float = 5.0, poll_interval: float = 0.05) -> None:
        self.graceful_shutdown_timeout = float(graceful_shutdown_timeout)
        self.poll_interval = float(poll_interval)
        self._lock = threading.RLock()  # re-entrant: a signal handler may run while the main thread holds it
        self._reason: InterruptReason | None = None
        self._requested_at: float | None = None
        self._handlers: list[BaseInterruptHandler] = []
        self._shutdown_callbacks: list[ShutdownCallback] = []
        self._children: list[weakref.ref[InterruptManager]] = []
        self._parent: weakref.ref[InterruptManager] | None = None
        # (loop, callback) pairs called on their loop after every change of the interrupt state.
        self._listeners: set[_Listener] = set()
        self._monitors: set[_Monitor] = set()

    # ------------------------------------------------------------------ state
    def request_interrupt(
        self,
        source: InterruptSource | str,
        mode: InterruptMode | str = InterruptMode.GRACEFUL,
        message: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Ask the run to stop. Returns ``True`` when this call changed the state (first
        request, or escalation of a GRACEFUL interrupt to IMMEDIATE), else ``False``.
        Propagates to child managers."""
        source = InterruptSource(source)
        mode = InterruptMode(mode)
        extra = dict(metadata or {})
        with self._lock:
            current = self._reason
            if current is None:
                self._reason = InterruptReason(
                    source=source, mode=mode, message=message or f"{source.value} interrupt", metadata=extra
                )
                self._requested_at = time.monotonic()
            elif current.mode is InterruptMode.GRACEFUL and mode is InterruptMode.IMMEDIATE:
                # Keep the original cause (its signal decides the exit code); record the escalation.
                current.mode = InterruptMode.IMMEDIATE
                current.metadata["escalated"] = True
                current.metadata["escalation_source"] = source.value
                if message:
                    current.metadata["escalation_message"] = message
            else:
                return False
            children = [child for ref in self._children if (child := ref()) is not None]
        self._notify()
        for child in children:
            child.request_interrupt(source, mode, message, {**extra, "propagated_from_parent": True})
        return True

    def is_interrupted(self) -> bool:
        """Whether an interrupt has been requested (and not reset)."""
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

    def reset(self) -> None:
        """Clear the interrupt (and per-run handler state) here and in all children, for a new run."""
        with self._lock:
            self._reason = None
            self._requested_at = None
            handlers = list(self._handlers)
            children = [child for ref in self._children if (child := ref()) is not None]
        for handler in handlers:
            handler.reset()
        for child in children:
            child.reset()

    def escalate_if_overdue(self) -> bool:
        """Escalate a GRACEFUL interrupt to IMMEDIATE once ``graceful_shutdown_timeout`` has passed."""
        reason, requested_at = self._reason, self._requested_at
        if reason is None or requested_at is None or reason.mode is InterruptMode.IMMEDIATE:
            return False
        if time.monotonic() - requested_at < self.graceful_shutdown_timeout:
            return False
        return self.request_interrupt(
            InterruptSource.SYSTEM,
            InterruptMode.IMMEDIATE,
            f"graceful shutdown did not finish within {self.graceful_shutdown_timeout:g}s",
        )

    def _graceful_remaining(self) -> float | None:
        requested_at = self._requested_at
        if requested_at is None:
            return None
        return self.graceful_shutdown_timeout - (time.monotonic() - requested_at)

    def _notify(self) -> None:
        for loop, callback in list(self._listeners):
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(callback)

    def _listen(self, entry: _Listener) -> None:
        with self._lock:
            self._listeners.add(entry)

    def _unlisten(self, entry: _Listener) -> None:
        with self._lock:
            self._listeners.discard(entry)

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

    # ------------------------------------------------------------------ children
    def create_child(self) -> InterruptManager:
        """A manager for a sub-agent: interrupting this manager interrupts the child
        (not the other way round). A child created after an interrupt starts interrupted."""
        child = InterruptManager(self.graceful_shutdown_timeout, self.poll_interval)
        child._parent = weakref.ref(self)
        with self._lock:
            self._children = [ref for ref in self._children if ref() is not None]
            self._children.append(weakref.ref(child))
            current = self._reason
        if current is not None:
            child.request_interrupt(
                current.source, current.mode, current.message, {**current.metadata, "propagated_from_parent": True}
            )
        return child

    @property
    def children(self) -> list[InterruptManager]:
        """Live child managers."""
        return [child for ref in self._children if (child := ref()) is not None]

    # ------------------------------------------------------------------ handlers
    def add_handler(self, handler: BaseInterruptHandler) -> None:
        """Add a handler checked on every poll while the agent runs."""
        with self._lock:
            if handler not in self._handlers:
                self._handlers.append(handler)
            monitors = list(self._monitors)
        for monitor in monitors:  # an active monitor() starts polling now
            with contextlib.suppress(RuntimeError):  # loop closed
                monitor.loop.call_soon_threadsafe(monitor.start_poller)

    def remove_handler(self, handler: BaseInterruptHandler) -> None:
        """Remove a handler (no error if absent)."""
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)

    @property
    def handlers(self) -> list[BaseInterruptHandler]:
        """The handlers, in the order they are checked."""
        return list(self._handlers)

    async def check(self, context: InterruptContext) -> InterruptReason | None:
        """Run every handler once. The first reason returned is recorded with
        :meth:`request_interrupt` (so first request still wins) and returned.
        A handler that raises is logged as INTERRUPT_001 and ignored."""
        found: InterruptReason | None = None
        for handler in self.handlers:
            try:
                result = handler.check_interrupt(context)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                error = InterruptHandlerError(f"interrupt handler {handler.name!r} raised {type(exc).__name__}: {exc}")
                logger.error("%s", error, exc_info=exc)
                continue
            if result is not None and found is None:
                found = result
        if found is not None:
            self.request_interrupt(found.source, found.mode, found.message, found.metadata)
        return found

    # ------------------------------------------------------------------ shutdown callbacks
    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Register a sync or async callable run by :meth:`run_shutdown_callbacks`."""
        with self._lock:
            self._shutdown_callbacks.append(callback)

    def remove_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Unregister a shutdown callback (no error if absent)."""
        with self._lock:
            if callback in self._shutdown_callbacks:
                self._shutdown_callbacks.remove(callback)

    async def run_shutdown_callbacks(self) -> list[InterruptHandlerError]:
        """Run the shutdown callbacks in registration order, each bounded by
        ``graceful_shutdown_timeout``. A failing callback is logged as INTERRUPT_001, a
        slow one as INTERRUPT_002 (:class:`ShutdownTimeoutError`); neither stops the others;
        the errors are returned."""
        errors: list[InterruptHandlerError] = []
        for callback in list(self._shutdown_callbacks):
            name = getattr(callback, "__qualname__", repr(callback))
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(_as_coroutine(result), self.graceful_shutdown_timeout)
            except TimeoutError:
                error: InterruptHandlerError = ShutdownTimeoutError(
                    f"shutdown callback {name} did not finish within {self.graceful_shutdown_timeout:g}s"
                )
                logger.error("%s", error)
                errors.append(error)
            except Exception as exc:
                error = InterruptHandlerError(f"shutdown callback {name} raised {type(exc).__name__}: {exc}")
                logger.error("%s", error, exc_info=exc)
                errors.append(error)
        return errors

    # ------------------------------------------------------------------ run-time guard
    def monitor(
        self,
        context_fn: Callable[[], InterruptContext] | None = None,
        install_signals: bool = True,
    ) -> contextlib.AbstractAsyncContextManager[InterruptManager]:
        """Watch the run for the duration of the ``async with`` block.

        * installs SIGINT/SIGTERM handlers (main thread, top-level manager only) and
          restores the previous ones on exit: the first signal requests a USER/GRACEFUL
          interrupt with ``metadata["signal"]``, the second escalates to IMMEDIATE, a
          third SIGINT raises ``KeyboardInterrupt`` as a last resort;
        * polls the handlers every ``poll_interval`` seconds with ``context_fn()`` (a
          background task, started only while the manager has handlers) and escalates an
          overdue GRACEFUL interrupt.
        """
        return _Monitor(self, context_fn, install_signals)

    def _install_signals(self) -> dict[int, Any]:
        if self._parent is not None or threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in _HANDLED_SIGNALS:
            previous[signum] = _set_signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        reason = self._reason
        if reason is None:
            self.request_interrupt(InterruptSource.USER, InterruptMode.GRACEFUL, f"received {name}", {"signal": name})
        elif reason.mode is InterruptMode.GRACEFUL:
            self.request_interrupt(
                InterruptSource.USER, InterruptMode.IMMEDIATE, f"received {name} again", {"signal": name}
            )
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt

    async def _poll(self, context_fn: Callable[[], InterruptContext]) -> None:
        while True:
            if self._reason is None and self._handlers:
                try:
                    context = context_fn()
                except Exception as exc:
                    logger.error(
                        "%s", InterruptHandlerError(f"interrupt context function raised {exc!r}"), exc_info=exc
                    )
                else:
                    await self.check(context)
            self.escalate_if_overdue()
            await asyncio.sleep(self.poll_interval)

    async def guard(self, step: Callable[..., Awaitable[T]] | Awaitable[T], *args: Any, **kwargs: Any) -> T:
        """Run one step (``await step(*args, **kwargs)``, or an awaitable) under interrupt watch.

        Returns the step's value when it finishes, even if a GRACEFUL interrupt is
        pending. Cancels it and raises :class:`StepCancelled` when an IMMEDIATE interrupt
        is requested, or when a GRACEFUL one has been pending for
        ``graceful_shutdown_timeout`` seconds (it is then escalated to IMMEDIATE).

        The step runs in the calling task; an interrupt cancels that task while it is
        inside the step, and the cancellation comes out as :class:`StepCancelled`.
        Cancelling the caller cancels the step and raises ``CancelledError`` as usual.
        """
        awaitable = step(*args, **kwargs) if callable(step) else step
        task = asyncio.current_task()
        if task is None:  # not in a task (a bare coroutine driven by hand): give the step one
            return await asyncio.ensure_future(self._guarded(awaitable))
        watch = _Watch(self, asyncio.get_running_loop(), task)
        entry: _Listener = (watch.loop, watch.on_request)
        cancelling = task.cancelling()
        self._listen(entry)  # before looking at the state, so no request can slip between
        try:
            if self._reason is not None:
                self.escalate_if_overdue()
                reason = self._reason
                if reason is not None and reason.mode is InterruptMode.IMMEDIATE:
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
            self._unlisten(entry)
            watch.close()
        if watch.cancelled_for is not None:
            task.uncancel()  # the step finished (or swallowed the cancellation): its value stands
        return result

    async def _guarded(self, awaitable: Awaitable[T]) -> T:
        return await self.guard(awaitable)


_Listener = tuple[asyncio.AbstractEventLoop, Callable[[], None]]


class _Watch:
    """One guard() or monitor() on one event loop; its methods run on that loop.

    Arms a timer that escalates a pending GRACEFUL interrupt when its grace period ends
    and, for guard() (``task`` set), cancels the task once the interrupt is IMMEDIATE.
    """

    __slots__ = ("active", "cancelled_for", "loop", "manager", "task", "timer")

    def __init__(self, manager: InterruptManager, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None):
        self.manager = manager
        self.loop = loop
        self.task = task
        self.active = True
        self.cancelled_for: InterruptReason | None = None
        self.timer: asyncio.TimerHandle | None = None

    def on_request(self) -> None:
        if not self.active:
            return
        reason = self.manager._reason
        if reason is None:
            return
        if reason.mode is InterruptMode.IMMEDIATE:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.task is not None and self.cancelled_for is None:
                self.cancelled_for = reason
                self.task.cancel()
        elif self.timer is None:
            self.arm()

    def arm(self) -> None:
        """Escalate the pending GRACEFUL interrupt when its grace period ends."""
        remaining = self.manager._graceful_remaining()
        self.timer = self.loop.call_later(max(0.0, remaining or 0.0), self._grace_over)

    def _grace_over(self) -> None:
        self.timer = None
        if not self.active:
            return
        reason = self.manager._reason
        if reason is None or reason.mode is not InterruptMode.GRACEFUL:
            return
        remaining = self.manager._graceful_remaining()
        if remaining is not None and remaining > 0:  # the loop clock may run a hair early
            self.arm()
            return
        self.manager.escalate_if_overdue()  # notifies every watch, which cancels guarded steps

    def close(self) -> None:
        self.active = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _Monitor:
    """The async context manager returned by :meth:`InterruptManager.monitor`."""

    def __init__(
        self,
        manager: InterruptManager,
        context_fn: Callable[[], InterruptContext] | None,
        install_signals: bool,
    ) -> None:
        self.manager = manager
        self.context_fn = context_fn
        self.install_signals = install_signals
        self.poller: asyncio.Task[None] | None = None
        self.previous: dict[int, Any] = {}

    async def __aenter__(self) -> InterruptManager:
        manager = self.manager
        if self.context_fn is None:
            started = time.monotonic()

            def default_context() -> InterruptContext:
                return InterruptContext(started_at=started, elapsed_s=time.monotonic() - started)

            self.context_fn = default_context
        self.loop = asyncio.get_running_loop()
        self.watch = _Watch(manager, self.loop, None)
        self.entry: _Listener = (self.loop, self.watch.on_request)
        self.previous = manager._install_signals() if self.install_signals else {}
        with manager._lock:
            manager._listeners.add(self.entry)
            manager._monitors.add(self)
        if manager._reason is not None:
            self.watch.on_request()
        if manager._handlers:
            self.start_poller()
        return manager

    def start_poller(self) -> None:
        if self.poller is None and self.watch.active:
            assert self.context_fn is not None
            self.poller = self.loop.create_task(self.manager._poll(self.context_fn), name="kaizen-interrupt-poller")

    async def __aexit__(self, *exc_info: object) -> None:
        manager = self.manager
        try:
            with manager._lock:
                manager._listeners.discard(self.entry)
                manager._monitors.discard(self)
            self.watch.close()
            poller, self.poller = self.poller, None
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
        finally:
            for signum, handler in self.previous.items():
                _set_signal(signum, handler)


def _discard(awaitable: Awaitable[Any]) -> None:
    """Drop a step that will not run: close a coroutine, cancel a future."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif asyncio.isfuture(awaitable):
        awaitable.cancel()


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
