"""InterruptManager: the interrupt settings, handlers and shutdown callbacks of one agent,
and the registry of its active runs.

Interrupt *state* belongs to a run (:class:`~kaizen_core.interrupts.scope.InterruptScope`):
:meth:`InterruptManager.monitor` opens a fresh scope for each run, so a run stopped by
a timeout leaves nothing behind for the next one, and two overlapping runs of one
agent stop independently. Signals go through the process-wide
:data:`~kaizen_core.interrupts.signals.dispatcher`; handlers are polled by a
:class:`~kaizen_core.interrupts.poller.Poller` per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kaizen_core.errors import AgentInterrupted, InterruptHandlerError, ShutdownTimeoutError
from kaizen_core.interrupts.poller import Poller
from kaizen_core.interrupts.scope import _CURRENT, Clock, InterruptScope
from kaizen_core.interrupts.signals import dispatcher
from kaizen_core.interrupts.types import (
    InterruptMode,
    InterruptSignal,
    InterruptSource,
    interrupt_request,
)
from kaizen_core.redaction import redacted_traceback

if TYPE_CHECKING:  # the handlers load with the first one added (cold start)
    from kaizen_core.interrupts.handlers import BaseInterruptHandler
    from kaizen_core.interrupts.models import InterruptContext, InterruptReason

__all__ = ["InterruptManager"]

logger = logging.getLogger("kaizen.interrupts")

ShutdownCallback = Callable[[], Any]


class InterruptManager:
    """One per agent (``agent.interrupt_manager``); thread-safe.

    * handlers added here (also while runs are going) are polled for every run;
    * :meth:`request_interrupt` stops every run of the agent active at that moment
      (to stop one run, use its scope: ``manager.scope_for(run_id)``, or
      :func:`~kaizen_core.interrupts.current_scope` from inside it);
    * ``clock`` (default :func:`time.monotonic`) times the runs and their graceful
      shutdown windows, so tests can inject one.
    """

    def __init__(
        self,
        graceful_shutdown_timeout: float = 5.0,
        poll_interval: float = 0.05,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.graceful_shutdown_timeout = float(graceful_shutdown_timeout)
        self.poll_interval = float(poll_interval)
        self.clock = clock
        self._lock = threading.RLock()  # re-entrant: request_interrupt may come from a signal handler
        self._handlers: list[BaseInterruptHandler] = []
        self._shutdown_callbacks: list[ShutdownCallback] = []
        self._monitors: list[_Monitor] = []

    # ------------------------------------------------------------------ runs
    def monitor(
        self,
        context_fn: Callable[[], InterruptContext] | None = None,
        *,
        signals: bool = True,
        run_id: str | None = None,
    ) -> _Monitor:
        """Watch one run for the duration of the ``async with`` block, which yields the
        run's fresh :class:`InterruptScope`:

        * the scope is nested in :func:`current_scope` (a run started inside another
          run, or inside a blocking ``agent.run()`` call, hears its interrupts) and is
          the current scope inside the block;
        * with ``signals``, the scope subscribes to the process-wide signal dispatcher
          (handlers installed from the main thread only);
        * while the manager has handlers (also ones added inside the block), a poller
          checks them every ``poll_interval`` seconds with ``context_fn()``; the handlers
          are ``reset()`` first when no other run of this manager is active;
        * a GRACEFUL interrupt still pending after ``graceful_shutdown_timeout`` is
          escalated to IMMEDIATE by the step guard (:meth:`InterruptScope.guard`).
        """
        return _Monitor(self, context_fn, signals, run_id)

    @property
    def runs(self) -> list[InterruptScope]:
        """The scopes of the active runs, oldest first."""
        with self._lock:
            return [monitor.scope for monitor in self._monitors if monitor.scope is not None]

    def scope_for(self, run_id: str) -> InterruptScope | None:
        """The scope of the active run ``run_id``, or ``None``."""
        # Called several times per model call: no list of every run, just the first match.
        with self._lock:
            for monitor in self._monitors:
                scope = monitor.scope
                if scope is not None and scope.run_id == run_id:
                    return scope
        return None

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
        """Interrupt every run of this agent that is active now (runs started later are
        not affected). Returns whether any run's state changed.

        Also takes the original's call shape, ``request_interrupt(signal=InterruptSignal.USER_REQUESTED,
        reason="Awaiting approval")`` (see :func:`~kaizen_core.interrupts.types.interrupt_request`);
        without a source or signal the source is PROGRAMMATIC. With no active run nothing
        happens (logged at INFO): an interrupt belongs to a run, and one left pending would
        stop the next run for a reason that no longer holds.
        """
        args = interrupt_request(source, mode, message, metadata, signal=signal, reason=reason)
        runs = self.runs
        if not runs:
            logger.info("interrupt request ignored: no run of this agent is active (%s)", args[2] or args[0].value)
            return False
        changed = False
        for scope in runs:
            changed |= scope.request_interrupt(*args)
        return changed

    def is_interrupted(self) -> bool:
        """Whether an active run has been asked to stop."""
        return any(scope.is_interrupted() for scope in self.runs)

    @property
    def reason(self) -> InterruptReason | None:
        """The interrupt of the oldest interrupted active run, or ``None``."""
        return next((scope.reason for scope in self.runs if scope.reason is not None), None)

    @property
    def mode(self) -> InterruptMode | None:
        """The mode of :attr:`reason`, or ``None``."""
        reason = self.reason
        return reason.mode if reason is not None else None

    # ------------------------------------------------------------------ handlers
    def add_handler(self, handler: BaseInterruptHandler) -> None:
        """Add a handler checked for every run (active runs start polling it now)."""
        with self._lock:
            if handler not in self._handlers:
                self._handlers.append(handler)
            monitors = list(self._monitors)
        for monitor in monitors:
            monitor.start_polling_threadsafe()

    def remove_handler(self, handler: BaseInterruptHandler) -> None:
        """Remove a handler (no error if absent)."""
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)

    @property
    def handlers(self) -> list[BaseInterruptHandler]:
        """The handlers, in the order they are checked."""
        return list(self._handlers)

    async def check(self, context: InterruptContext, *, failed: set[int] | None = None) -> InterruptReason | None:
        """Run every handler once on ``context`` and return the first reason one gave
        (recording it is the caller's business: :meth:`InterruptScope.poll` does).

        A handler may return an :class:`InterruptReason`, ``None``/``False`` (go on),
        ``True`` or a message string (stop, with a SYSTEM/GRACEFUL reason naming the
        handler) or a dict of InterruptReason fields. A handler that raises, or returns
        anything else, is logged as :class:`InterruptHandlerError` (INTERRUPT_001) and
        skipped. ``failed``: ids of handlers whose failure the caller already reported
        (one run's scope passes its own set): they are logged at DEBUG level, so a handler
        that fails on every poll is reported once per run, not every ``poll_interval``.
        """
        found: InterruptReason | None = None
        for handler in self.handlers:
            name = getattr(handler, "name", None) or type(handler).__name__
            try:
                result = handler.check_interrupt(context)
                if inspect.isawaitable(result):
                    result = await result
                reason = _as_reason(handler, name, result)
            except Exception as exc:
                error = InterruptHandlerError(
                    f"interrupt handler {name!r} raised {type(exc).__name__}: {exc}",
                    hint="fix the handler's check_interrupt(context); the run goes on without it",
                )
                if failed is None or id(handler) not in failed:
                    logger.error("%s\n%s", error, redacted_traceback(exc))
                    if failed is not None:
                        failed.add(id(handler))
                else:
                    logger.debug("%s", error)
                continue
            if reason is not None and found is None:
                found = reason
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
        ``graceful_shutdown_timeout``. A failing callback is logged as
        :class:`InterruptHandlerError`, a slow one as :class:`ShutdownTimeoutError`;
        neither stops the others. The errors are returned."""
        errors: list[InterruptHandlerError] = []
        for callback in list(self._shutdown_callbacks):
            name = getattr(callback, "__qualname__", repr(callback))
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(_as_coroutine(result), self.graceful_shutdown_timeout)
            except TimeoutError:
                error: InterruptHandlerError = ShutdownTimeoutError(
                    f"shutdown callback {name} did not finish within {self.graceful_shutdown_timeout:g}s",
                    hint="raise graceful_shutdown_timeout or make the callback faster",
                )
                logger.error("%s", error)
                errors.append(error)
            except Exception as exc:
                error = InterruptHandlerError(f"shutdown callback {name} raised {type(exc).__name__}: {exc}")
                logger.error("%s\n%s", error, redacted_traceback(exc))
                errors.append(error)
        return errors


class _Monitor:
    """What :meth:`InterruptManager.monitor` returns: the watch over one run.

    Used as an async context manager, or (by the agent, once per run, where each extra
    coroutine frame shows) through :meth:`enter`, :meth:`stop_polling` and :meth:`leave`
    directly. Entering does its few steps in place (no ExitStack, no generator context
    manager); leaving undoes them in reverse order, each in a ``finally``.
    """

    __slots__ = (
        "_closed",
        "_held",
        "_left",
        "_loop",
        "_token",
        "context_fn",
        "manager",
        "poller",
        "run_id",
        "scope",
        "signals",
    )

    def __init__(
        self,
        manager: InterruptManager,
        context_fn: Callable[[], InterruptContext] | None,
        signals: bool,
        run_id: str | None,
    ) -> None:
        self.manager = manager
        self.context_fn = context_fn
        self.signals = signals
        self.run_id = run_id
        self.scope: InterruptScope | None = None
        #: Made when the manager has a handler to poll (at the start, or when one is added).
        self.poller: Poller | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._left = False
        self._token: Any = None
        self._held = False

    async def __aenter__(self) -> InterruptScope:
        return self.enter()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if self.poller is not None:
                await self.stop_polling()
        finally:
            self.leave(exc)

    def enter(self) -> InterruptScope:
        """Open the run's scope and start watching it (on the run's loop); see :meth:`InterruptManager.monitor`."""
        manager = self.manager
        loop = asyncio.get_running_loop()
        scope = self.scope = InterruptScope(
            manager.graceful_shutdown_timeout,
            parent=_CURRENT.get(),
            manager=manager,
            context_fn=self.context_fn,
            run_id=self.run_id,
            clock=manager.clock,
        )
        self._token = _CURRENT.set(scope)
        try:
            if self.signals:
                dispatcher.subscribe(scope)
                self._held = dispatcher.hold()
            with manager._lock:
                first = not manager._monitors
                manager._monitors.append(self)
                self._loop = loop  # also says the monitor is registered
                handlers = list(manager._handlers) if first and manager._handlers else ()
            if handlers:
                for handler in handlers:  # only with no other run active: never wipe the state of a run still going
                    handler.reset()
                self._start_polling()
            elif manager._handlers:  # added meanwhile, or another run is active
                self._start_polling()
        except BaseException:
            self.leave(None)
            raise
        return scope

    async def stop_polling(self) -> None:
        """Stop the run's poller, if it has one; no poller starts after this."""
        self._closed = True
        poller = self.poller
        if poller is not None:
            await poller.stop()

    def leave(self, exc: BaseException | None) -> None:
        """End the watch (after :meth:`stop_polling` when there is a poller), undoing :meth:`enter`
        in reverse order. ``exc``: what ends the run (None on success): a signal the run took
        but did not answer by stopping is passed on now (:meth:`_unanswered_signal`)."""
        if self._left:  # a second leave (a manual __aexit__ after the agent's): nothing to undo or pass on
            return
        self._left = True
        self._closed = True  # no poller starts from now on
        manager = self.manager
        scope = self.scope
        try:
            with manager._lock:
                if self._loop is not None:  # registered (enter may have failed before it was)
                    manager._monitors.remove(self)
                    self._loop = None
        finally:
            try:
                if self.signals and scope is not None:
                    try:
                        if self._held:
                            self._held = False
                            dispatcher.release()
                    finally:
                        dispatcher.unsubscribe(scope)
            finally:
                token, self._token = self._token, None
                if token is not None:
                    _CURRENT.reset(token)
                if scope is not None:
                    scope.close()
        if scope is not None and scope._reason is not None:
            signum = self._unanswered_signal(exc)
            if signum is not None:
                dispatcher.pass_on(signum)

    def _start_polling(self) -> None:
        """Poll the manager's handlers for this run (on the run's loop), unless the run is over."""
        if self._closed or self.scope is None or self._loop is None:
            return
        if self.poller is None:
            self.poller = Poller(self.scope, self._loop, self.manager.poll_interval)
        self.poller.start()

    def start_polling_threadsafe(self) -> None:
        """:meth:`_start_polling` from any thread (a handler was added while the run goes on)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop closed: the run is over
                loop.call_soon_threadsafe(self._start_polling)

    def _unanswered_signal(self, exc: BaseException | None) -> int | None:
        """A signal this run took but did not answer by stopping (it finished its last step
        within the grace period): it must not be lost, so it is passed on once the run is over."""
        scope = self.scope
        reason = scope.reason if scope is not None else None
        if not self.signals or reason is None or isinstance(exc, AgentInterrupted):
            return None
        name = reason.metadata.get("signal")
        if not name or reason.metadata.get("propagated_from_parent"):
            return None  # a nested run: its parent answers for it
        return int(signal.Signals[str(name)])


def _as_reason(handler: Any, name: str, result: Any) -> InterruptReason | None:
    """A handler's answer as an InterruptReason (``metadata["handler"]`` set), or None to go on."""
    from kaizen_core.interrupts.models import InterruptReason  # on first use (cold start)

    if result is None or result is False:
        return None
    if isinstance(result, InterruptReason):
        if "handler" in result.metadata:
            return result
        return result.model_copy(update={"metadata": {"handler": name, **result.metadata}})
    if result is True or isinstance(result, str):
        message = result if isinstance(result, str) and result else f"interrupt handler {name!r} asked to stop"
        return InterruptReason(
            source=InterruptSource.SYSTEM,
            mode=getattr(handler, "mode", InterruptMode.GRACEFUL),
            message=message,
            metadata={"handler": name},
        )
    if isinstance(result, dict):
        try:
            reason = InterruptReason.model_validate({"source": InterruptSource.SYSTEM, **result})
        except ValidationError as exc:
            raise TypeError(f"returned a dict that is not an InterruptReason ({exc.error_count()} errors)") from None
        return _as_reason(handler, name, reason)
    raise TypeError(f"returned {type(result).__name__}; return an InterruptReason to stop the run or None to go on")


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable
