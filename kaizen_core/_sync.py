"""Run async code from sync callers, on a persistent event loop (no new loop per call).

The sync API (``agent.run()``, ``provider.complete_sync()``, ``agent.close()``, ...) calls
:func:`run_sync`, which picks one of two persistent loops, so clients bound to a loop (the
HTTP connection pools, redis and postgres pools) live across calls instead of being
rebuilt per call; ``agent.close()`` releases them.

* **The main thread's own loop.** Called from the main thread with no event loop running
  in it (a script, the CLI, a REPL), the coroutine runs right there, on a loop the main
  thread keeps: created by its first sync call, reused by every later one, closed at
  interpreter exit (and forgotten by a forked child, which makes its own). No thread
  hop, so a blocking call costs what its coroutine costs.
* **The shared background loop.** Every other caller (another thread, or sync code in a
  thread whose loop is running: Jupyter, a sync call inside a hook or a tool) submits the
  coroutine to one loop running in a daemon thread, started on first use and shared by
  the process, and waits. Sync code running on that background loop itself runs its call
  on a fresh loop in a helper thread (waiting for the shared loop from inside it would hang).

Why not a loop per thread: threads are often short-lived (a thread per request in a
development server, a Streamlit rerun, anyio's idle-expiring workers); a loop each would
rebuild the connection pools for every such thread, the cost the persistent loop exists
to avoid, and leave loops of dead threads to be reaped. The main thread lives as long as
the process, and is the only thread that receives signals. A caller in another thread
pays one cross-thread hop per call (two wake-ups), small next to a model call.

So one process has at most two sync loops (plus the application's own): clients that
are bound to a loop keep one instance per live loop (:class:`PerLoop`), and a loop's
instance is closed on that loop (:func:`close_per_loop`). Asyncio objects made by one
sync call (a queue, an event) belong to the loop it ran on: a main-thread call and a
call from another thread do not share them.

Signals: while a call runs or waits in the main thread, that thread holds the
process-wide signal dispatcher, so SIGINT and SIGTERM reach the call's runs on either
loop. A Ctrl+C that the runs do not take themselves (``enable_interrupts=False``, or one
pressed after they escalated to IMMEDIATE) asks the runs of this call to stop
gracefully and waits for them to checkpoint (their ``AgentInterrupted`` is then raised;
if they finished instead, ``KeyboardInterrupt``); the next one escalates to IMMEDIATE;
with nothing left to stop, the call is cancelled and ``KeyboardInterrupt`` raised (on
the main thread's loop once the coroutine has unwound, on the background loop at once
while the coroutine is cancelled there). On the main thread's loop the call catches SIGINT itself for
this (as :class:`asyncio.Runner` does), so no ``KeyboardInterrupt`` is ever raised in
the middle of a run's code; only a Ctrl+C after the call was cancelled (code that never
yields) raises it in place, as the last resort.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kaizen_core import _threads

if TYPE_CHECKING:
    from kaizen_core.interrupts.scope import InterruptScope
    from kaizen_core.interrupts.signals import SignalDispatcher

__all__ = ["PerLoop", "background_loop", "close_per_loop", "run_sync"]

T = TypeVar("T")
V = TypeVar("V")

logger = logging.getLogger("kaizen.sync")

try:  # the raw functions (signal.signal() adds enum conversions on every call)
    from _signal import getsignal as _get_signal
    from _signal import signal as _set_signal
except ImportError:  # pragma: no cover - other interpreters
    _get_signal, _set_signal = signal.getsignal, signal.signal

_SIGINT = int(signal.SIGINT)


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


class _MainLoop:
    """The main thread's own loop: made by its first sync call, closed at interpreter exit."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.exited = False  # closed at exit: a sync call from a later atexit handler gets a loop of its own
        self._at_exit = False
        self._forgotten: list[asyncio.AbstractEventLoop] = []

    def get(self) -> asyncio.AbstractEventLoop | None:
        """The loop (made now if needed); None once closed at exit."""
        loop = self.loop
        if (loop is None or loop.is_closed()) and not self.exited:  # closed: by code that got hold of it
            loop = self.loop = asyncio.new_event_loop()
            if not self._at_exit:
                self._at_exit = True
                atexit.register(self.close)
        return loop

    def close(self) -> None:
        """Cancel what is left on the loop, finish its async generators and close it (as ``asyncio.run`` does)."""
        loop, self.loop = self.loop, None
        self.exited = True
        if loop is not None and not loop.is_closed() and not loop.is_running():
            _close_loop(loop)

    def after_fork(self) -> None:
        """A forked child makes its own loop. The parent's is kept referenced, never closed here:
        closing it would unregister its descriptors from the epoll instance the child shares
        with the parent."""
        if self.loop is not None:
            self._forgotten.append(self.loop)
        self.loop = None


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


_background = _BackgroundLoop()
_main = _MainLoop()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_background.after_fork)
    os.register_at_fork(after_in_child=_main.after_fork)
#: helper threads of sync calls made on the background loop (which waits for them, blocked)
_helpers: set[threading.Thread] = set()


_Interrupts = tuple["type[InterruptScope]", "Callable[[], InterruptScope | None]", "SignalDispatcher"]
_interrupts: _Interrupts | None = None


def _interrupt_api() -> _Interrupts:
    """``InterruptScope``, ``current_scope`` and the signal dispatcher: imported by the first call
    (not at import: cold start), then kept here, since an import statement costs every call
    a module lookup (about 8k instructions, more than the rest of this module's work on a call)."""
    global _interrupts
    api = _interrupts
    if api is None:
        from kaizen_core.interrupts.scope import InterruptScope, current_scope
        from kaizen_core.interrupts.signals import dispatcher

        api = _interrupts = (InterruptScope, current_scope, dispatcher)
    return api


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's shared background event loop (started on first call)."""
    return _background.get()


def run_sync(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Call ``await fn(*args)`` on a persistent loop and return its result: in the calling
    thread on the main thread's loop, else on the background loop (see the module docstring).

    Runs started inside the call are nested in one interrupt scope (see the module
    docstring for signals and Ctrl+C). Called from a coroutine already running on the
    background loop (sync code inside a hook, say), the call runs on a fresh loop in a
    helper thread instead, since waiting for the shared loop from inside it would hang.
    """
    scope_type, current_scope, _ = _interrupt_api()
    scope = scope_type(parent=current_scope())
    try:
        if threading.get_ident() == _threads.main.ident and asyncio._get_running_loop() is None:
            loop = _main.get()
            if loop is None:  # after the exit close (a later atexit handler): a loop for this call only
                loop = asyncio.new_event_loop()
                try:
                    return _run_here(loop, scope, fn, *args)
                finally:
                    _close_loop(loop)
            return _run_here(loop, scope, fn, *args)
        if threading.current_thread() is _background.thread:
            return _run_in_helper_thread(scope, fn, *args)
        try:
            background = _background.get()
        except RuntimeError:  # no new thread at interpreter shutdown (atexit on Python 3.12): run it here
            return asyncio.run(_call(scope, fn, *args))
        return _wait_for_background(background, scope, fn, *args)
    finally:
        scope.close()


# ---------------------------------------------------------------- in the main thread, on its loop
class _CtrlC:
    """SIGINT during one call on the main thread's loop.

    Wraps the SIGINT handler in place (the signal dispatcher's, or the application's): a
    ``KeyboardInterrupt`` it raises (no run took the signal) is turned into the call's own
    ladder (stop the runs gracefully, then now, then cancel the call) instead of landing
    in whatever code the loop was running.
    """

    __slots__ = ("cancelled", "handler", "loop", "previous", "scope", "stopping", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, scope: InterruptScope) -> None:
        self.loop = loop
        self.scope = scope
        self.task: asyncio.Task[Any] | None = None
        self.stopping = False  # the runs were asked to stop: the call ends in KeyboardInterrupt at the latest
        self.cancelled = False  # the call was cancelled: it ends in KeyboardInterrupt
        self.previous: Callable[[int, FrameType | None], Any] | None = None
        self.handler = self._on_sigint  # one bound method, so the identity check on restore works

    def install(self) -> None:
        previous = _get_signal(_SIGINT)
        if callable(previous):  # SIG_IGN, SIG_DFL or a handler set outside Python: the application's choice stands
            self.previous = previous
            _set_signal(_SIGINT, self.handler)

    def restore(self) -> None:
        if self.previous is not None and _get_signal(_SIGINT) is self.handler:
            _set_signal(_SIGINT, self.previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        assert self.previous is not None
        try:
            self.previous(signum, frame)
        except KeyboardInterrupt:
            self.keyboard_interrupt()

    def keyboard_interrupt(self) -> None:
        if _stop_runs(self.scope):
            self.stopping = True
            return
        task = self.task
        if task is None or task.done() or self.cancelled:
            raise KeyboardInterrupt  # the last resort, in place: the call is not running or does not unwind
        self.cancelled = True
        self.loop.call_soon_threadsafe(_cancel, task)


def _run_here(loop: asyncio.AbstractEventLoop, scope: InterruptScope, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)`` on ``loop`` in the calling (main) thread, with SIGINT handled as documented.

    The call holds the signal dispatcher first and wraps its SIGINT handler, so the
    wrapper also sees the dispatcher's own last-resort ``KeyboardInterrupt``.
    """
    dispatcher = _interrupt_api()[2]
    ctrl_c = _CtrlC(loop, scope)
    held = False
    try:
        held = dispatcher.hold()
        ctrl_c.install()
        # the task runs in a copy of the caller's context variables, as on the background loop
        coro = _call_and_stop(loop, scope, fn, *args)
        try:
            task = ctrl_c.task = loop.create_task(coro)
        except BaseException:
            coro.close()  # never started: no "never awaited" warning
            raise
        try:
            result = _run_to_completion(loop, task)
        except asyncio.CancelledError:
            if ctrl_c.cancelled:
                raise KeyboardInterrupt from None
            raise
        except BaseException:
            if not task.done():  # raised in the loop itself, not by the run: unwind the run before leaving
                ctrl_c.cancelled = True
                _cancel(task)
                with contextlib.suppress(asyncio.CancelledError):
                    _run_to_completion(loop, task)
            raise
        if ctrl_c.stopping or ctrl_c.cancelled:  # the runs finished instead of stopping: the Ctrl+C still counts
            raise KeyboardInterrupt
        return result
    finally:
        ctrl_c.restore()
        if held:
            dispatcher.release()


def _run_to_completion(loop: asyncio.AbstractEventLoop, task: asyncio.Task[T]) -> T:
    """``loop.run_until_complete(task)`` for a task of :func:`_call_and_stop`, in one loop turn
    where it can be.

    ``run_until_complete`` stops the loop from the task's done callback, which the loop runs
    one turn after the task finished. The task stops the loop itself instead, so a run that
    never suspends (the mock) takes one turn, not two; the turn that ``run_until_complete``
    would add runs only when it has work: callbacks made ready meanwhile, such as the task's
    done callbacks (anyio stops its worker threads there), still run before the call returns.
    """
    loop.run_forever()
    if not task.done():  # stopped by something else: as run_until_complete reports it
        raise RuntimeError("Event loop stopped before Future completed.")
    # ``_ready``: the callbacks of asyncio's own loops waiting for the next turn; other loops
    # (uvloop) get that turn always, as run_until_complete gives it
    if getattr(loop, "_ready", True):
        loop.call_soon(loop.stop)
        loop.run_forever()
    return task.result()


def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a task of :func:`_call_and_stop`; one cancelled before its first step never runs
    the code that stops the loop, so its done callback stops it instead."""
    task.cancel()
    task.add_done_callback(_stop_loop)


def _stop_loop(task: asyncio.Task[Any]) -> None:
    task.get_loop().stop()


# ---------------------------------------------------------------- on the background loop
def _wait_for_background(
    loop: asyncio.AbstractEventLoop, scope: InterruptScope, fn: Callable[..., Awaitable[T]], *args: Any
) -> T:
    """Submit the call to the background loop and wait; a KeyboardInterrupt in this thread is the ladder."""
    dispatcher = _interrupt_api()[2]
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

    children = scope.children
    if not children:
        return False
    # The runs may be stopping already without this scope's word (the signal dispatcher asked them).
    reasons = [child.reason for child in children]
    if scope.reason is not None:
        reasons.append(scope.reason)
    if all(reason is not None and reason.mode is InterruptMode.IMMEDIATE for reason in reasons):
        return False
    mode = InterruptMode.GRACEFUL if all(reason is None for reason in reasons) else InterruptMode.IMMEDIATE
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
    _helpers.add(thread)
    try:
        thread.start()
        thread.join()
    finally:
        _helpers.discard(thread)
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


async def _call_and_stop(
    loop: asyncio.AbstractEventLoop, scope: InterruptScope, fn: Callable[..., Awaitable[T]], *args: Any
) -> T:
    """:func:`_call`, then stop ``loop``: that turn ends the main thread's call (:func:`_run_to_completion`).

    (:func:`_call` written out here: a coroutine frame less on every blocking call.)
    """
    token = scope.activate()
    try:
        return await fn(*args)
    finally:
        scope.deactivate(token)
        if loop.is_running():  # not when closed outside the loop: a stop would cut its next run short
            loop.stop()


# ---------------------------------------------------------------- clients bound to a loop
def _gone(key: object) -> bool:
    """Whether a :class:`PerLoop` key is a loop that can never run again (trio tokens are kept one at a time)."""
    return not isinstance(key, asyncio.AbstractEventLoop) or key.is_closed()


class PerLoop(Generic[V]):
    """One value per event loop: a client bound to the loop that made it (an HTTP, redis or
    postgres pool), so callers on several live loops (the main thread's, the background
    loop, an application's) each keep theirs instead of rebuilding it at every switch.

    Values of loops that are closed are dropped whenever one is added, so short-lived
    loops (an application's ``asyncio.run``, one per test) do not pile up.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[object, V] = {}

    def get(self, loop: object) -> V | None:
        """The value of ``loop``, if any."""
        return self._values.get(loop)

    def set(self, loop: object, value: V) -> None:
        """Store ``value`` for ``loop`` (dropping the values of closed loops)."""
        values = self._values
        for key in [key for key in values if key is not loop and _gone(key)]:
            del values[key]
        values[loop] = value

    def pop(self, loop: object) -> V | None:
        """Remove and return the value of ``loop``."""
        return self._values.pop(loop, None)

    def pop_all(self) -> list[tuple[object, V]]:
        """Remove and return every ``(loop, value)``."""
        items = list(self._values.items())
        self._values.clear()
        return items

    def values(self) -> list[V]:
        """The values, for every loop."""
        return list(self._values.values())

    def __len__(self) -> int:
        return len(self._values)


async def close_per_loop(values: PerLoop[V], close: Callable[[V], Awaitable[Any]]) -> None:
    """Empty ``values`` and ``await close(value)`` for each on the loop it belongs to.

    The running loop's value is closed here; the background loop's there (it always
    runs), waited for unless the background loop is itself blocked waiting for this
    call (sync code on it), where the close is left to run once it is free. A value of
    a loop that is closed, or idle in a thread that is not running it (the main thread
    between its calls), cannot be closed from here and is dropped: its connections go
    when that loop is closed.
    """
    try:
        running: object = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    background = _background.loop
    waits: list[asyncio.Future[Any]] = []
    for loop, value in values.pop_all():
        if loop is running:
            await close(value)
        elif loop is background and background is not None and not background.is_closed():
            future = asyncio.run_coroutine_threadsafe(_close_one(close, value), background)
            current = threading.current_thread()
            if current is not _background.thread and current not in _helpers and running is not None:
                waits.append(asyncio.wrap_future(future))
    for wait in waits:
        await wait


async def _close_one(close: Callable[[V], Awaitable[Any]], value: V) -> None:
    try:
        await close(value)
    except Exception as exc:  # nobody may be waiting for this one: say so, then raise for those who are
        logger.warning("closing %r on the background loop failed: %s", value, exc)
        raise
