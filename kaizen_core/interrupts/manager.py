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
from collections.abc import AsyncIterator, Awaitable, Callable
from types import FrameType
from typing import Any, TypeVar

from kaizen_core.errors import InterruptHandlerError
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
_HANDLED_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


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
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

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
        for loop, event in list(self._waiters):
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(event.set)

    @contextlib.contextmanager
    def _waiter(self) -> Any:
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(entry)
        try:
            yield event
        finally:
            with self._lock:
                self._waiters.discard(entry)

    async def wait(self, timeout: float | None = None) -> InterruptReason | None:
        """Wait until an interrupt is requested (or ``timeout`` passes); returns the reason."""
        with self._waiter() as event:
            if self._reason is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
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
        A handler that raises is logged as INTERRUPT_002 and ignored."""
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
        ``graceful_shutdown_timeout``. A failing or slow callback is logged as
        INTERRUPT_002 and does not stop the others; the errors are returned."""
        errors: list[InterruptHandlerError] = []
        for callback in list(self._shutdown_callbacks):
            name = getattr(callback, "__qualname__", repr(callback))
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(_as_coroutine(result), self.graceful_shutdown_timeout)
            except TimeoutError:
                error = InterruptHandlerError(
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
    @contextlib.asynccontextmanager
    async def monitor(
        self,
        context_fn: Callable[[], InterruptContext] | None = None,
        install_signals: bool = True,
    ) -> AsyncIterator[InterruptManager]:
        """Watch the run for the duration of the block.

        * installs SIGINT/SIGTERM handlers (main thread, top-level manager only) and
          restores the previous ones on exit: the first signal requests a USER/GRACEFUL
          interrupt with ``metadata["signal"]``, the second escalates to IMMEDIATE, a
          third SIGINT raises ``KeyboardInterrupt`` as a last resort;
        * polls the handlers every ``poll_interval`` seconds with ``context_fn()`` and
          escalates an overdue GRACEFUL interrupt.
        """
        started = time.monotonic()

        def default_context() -> InterruptContext:
            return InterruptContext(started_at=started, elapsed_s=time.monotonic() - started)

        get_context = context_fn or default_context
        previous = self._install_signals() if install_signals else {}
        poller = asyncio.create_task(self._poll(get_context), name="kaizen-interrupt-poller")
        try:
            yield self
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _install_signals(self) -> dict[signal.Signals, Any]:
        if self._parent is not None or threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[signal.Signals, Any] = {}
        for signum in _HANDLED_SIGNALS:
            previous[signum] = signal.signal(signum, self._on_signal)
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
        with self._waiter() as event:
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
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), self._next_wait())

    def _next_wait(self) -> float:
        wait = self.poll_interval
        reason, remaining = self._reason, self._graceful_remaining()
        if reason is not None and reason.mode is InterruptMode.GRACEFUL and remaining is not None:
            wait = max(0.0, min(wait, remaining))
        return wait

    async def guard(self, step: Callable[..., Awaitable[T]] | Awaitable[T], *args: Any, **kwargs: Any) -> T:
        """Run one step (``await step(*args, **kwargs)``, or an awaitable) under interrupt watch.

        Returns the step's value when it finishes, even if a GRACEFUL interrupt is
        pending. Cancels it and raises :class:`StepCancelled` when an IMMEDIATE interrupt
        is requested, or when a GRACEFUL one has been pending for
        ``graceful_shutdown_timeout`` seconds (it is then escalated to IMMEDIATE).
        """
        awaitable = step(*args, **kwargs) if callable(step) else step
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        try:
            with self._waiter() as event:
                while True:
                    if task.done():
                        return task.result()
                    self.escalate_if_overdue()
                    reason = self._reason
                    if reason is not None and reason.mode is InterruptMode.IMMEDIATE:
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
                        if task.cancelled():
                            raise StepCancelled(reason)
                        return task.result()  # finished (or failed) before the cancel landed
                    remaining = self._graceful_remaining() if reason is not None else None
                    event.clear()
                    waiter = asyncio.ensure_future(event.wait())
                    try:
                        await asyncio.wait({task, waiter}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        waiter.cancel()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
