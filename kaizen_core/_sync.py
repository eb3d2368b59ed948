"""Run async code from sync callers on one persistent background event loop.

The sync API (``agent.run()``, ``provider.complete_sync()``, ...) submits its coroutine
to a single event loop running in a daemon thread, started on first use and shared by
the whole process. Clients bound to a loop (the HTTP connection pools, redis and
postgres pools) therefore live across calls instead of being rebuilt per call; they
are released by ``agent.close()``. The caller's thread only waits, so this works from
any thread and inside a running event loop (Jupyter) alike.

Signals: the caller's thread, if it is the main thread, holds the process-wide signal
dispatcher while it waits, so SIGINT and SIGTERM reach the runs on the background loop.
A ``KeyboardInterrupt`` raised in the waiting thread (Ctrl+C when the runs do not take
signals themselves) asks the runs of this call to stop gracefully and keeps waiting
for them to checkpoint (their ``AgentInterrupted`` is then raised; if they finished
instead, the ``KeyboardInterrupt``); a second one escalates to IMMEDIATE; with nothing
left to stop, the call is cancelled and the ``KeyboardInterrupt`` raised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from kaizen_core.interrupts.scope import InterruptScope

__all__ = ["background_loop", "run_sync"]

T = TypeVar("T")


class _BackgroundLoop:
    """The shared loop and its daemon thread, started lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        with self._lock:
            if self.loop is None:
                loop = asyncio.new_event_loop()
                started = threading.Event()
                thread = threading.Thread(target=self._run, args=(loop, started), name="kaizen-event-loop", daemon=True)
                try:
                    thread.start()
                except BaseException:
                    loop.close()
                    raise
                started.wait()
                self.thread, self.loop = thread, loop
            return self.loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_forever()

    def after_fork(self) -> None:
        """The thread does not survive fork(): a child process starts its own loop on first use."""
        self._lock = threading.Lock()
        self.loop = None
        self.thread = None


_background = _BackgroundLoop()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_background.after_fork)


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's shared background event loop (started on first call)."""
    return _background.get()


def run_sync(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Call ``await fn(*args)`` on the background loop and return its result.

    Runs started inside the call are nested in one interrupt scope (see the module
    docstring for signals and Ctrl+C). Called from a coroutine already running on the
    background loop (sync code inside a hook, say), the call runs on a fresh loop in a
    helper thread instead, since waiting for the shared loop from inside it would hang.
    """
    from kaizen_core.interrupts.scope import InterruptScope, current_scope
    from kaizen_core.interrupts.signals import dispatcher

    scope = InterruptScope(parent=current_scope())
    try:
        if threading.current_thread() is _background.thread:
            return _run_in_helper_thread(scope, fn, *args)
        try:
            loop = _background.get()
        except RuntimeError:  # no new thread at interpreter shutdown (atexit on Python 3.12): run it here
            return asyncio.run(_call(scope, fn, *args))
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with dispatcher.watching():  # before the coroutine starts; a no-op outside the main thread
            submitted = stopping = False
            while True:
                # One try around submitting and waiting: a KeyboardInterrupt can land anywhere here.
                try:
                    if not submitted:
                        submitted = True
                        _submit(loop, future, _call, scope, fn, *args)
                    result = future.result()
                except KeyboardInterrupt:
                    if not _stop_runs(scope):
                        future.cancel()  # cancels the coroutine on the loop
                        raise
                    stopping = True
                    continue
                if stopping:  # the runs finished instead of stopping: the Ctrl+C still counts
                    raise KeyboardInterrupt
                return result
    finally:
        scope.close()


def _submit(
    loop: asyncio.AbstractEventLoop,
    future: concurrent.futures.Future[T],
    coro_fn: Callable[..., Coroutine[Any, Any, T]],
    *args: Any,
) -> None:
    """Run ``coro_fn(*args)`` as a task on ``loop`` (in a copy of the caller's context
    variables); its outcome goes to ``future``, and cancelling ``future`` (from any
    thread) cancels the task. The coroutine is made on the loop, so none is left
    unawaited if the call is abandoned first."""

    def start() -> None:
        if future.cancelled():
            return
        task = loop.create_task(coro_fn(*args))

        def copy_outcome(done: asyncio.Task[T]) -> None:
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled meanwhile
                if done.cancelled():
                    future.cancel()
                elif (exc := done.exception()) is not None:
                    future.set_exception(exc)
                else:
                    future.set_result(done.result())

        task.add_done_callback(copy_outcome)
        future.add_done_callback(lambda f: f.cancelled() and loop.call_soon_threadsafe(task.cancel))

    loop.call_soon_threadsafe(start, context=contextvars.copy_context())


def _stop_runs(scope: InterruptScope) -> bool:
    """Ask the runs of this call to stop (GRACEFUL, then IMMEDIATE); False when there is nothing to ask."""
    from kaizen_core.interrupts.types import InterruptMode, InterruptSource

    if not scope.children:
        return False
    reason = scope.reason
    if reason is not None and reason.mode is InterruptMode.IMMEDIATE:
        return False
    mode = InterruptMode.GRACEFUL if reason is None else InterruptMode.IMMEDIATE
    return scope.request_interrupt(InterruptSource.USER, mode, "KeyboardInterrupt", {"signal": "SIGINT"})


def _run_in_helper_thread(scope: InterruptScope, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    result: list[T] = []
    error: list[BaseException] = []
    context = contextvars.copy_context()  # a new thread starts with none of the caller's context variables

    def target() -> None:
        try:
            result.append(context.run(asyncio.run, _call(scope, fn, *args)))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="kaizen-run-sync", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


async def _call(scope: InterruptScope, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)`` with ``scope`` as the current interrupt scope."""
    token = scope.activate()
    try:
        return await fn(*args)
    finally:
        scope.deactivate(token)
