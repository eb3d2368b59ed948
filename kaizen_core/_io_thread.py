"""IOThread: one worker thread per owner that runs its blocking calls, in submission order.

The owners are the backends whose blocking I/O is a sequence of small calls on one resource:
the file and sqlite checkpoint stores (:mod:`kaizen_core.state`), the sqlite and file memory
tiers (:mod:`kaizen_core.memory.warm`, :mod:`kaizen_core.memory.file`) and the audit hook's
trail writer (:class:`kaizen_core.hooks.builtin.AuditHook`). Each owns one IOThread and stops
it when it is closed. (Tool functions are not run here: parallel tool calls must run in
parallel, and a cancelled one is abandoned, so they keep anyio's worker pool.)

Why not ``anyio.to_thread.run_sync``: each call there hands the function to a pooled worker
through anyio's own queue and cancel-scope machinery (65-75 µs of CPU per hop on a quiet
machine, measured); a journal append or checkpoint write is a small syscall plus
an fsync, so that hop was a large part of it. A dedicated thread fed by a
:class:`queue.SimpleQueue` and answering with ``loop.call_soon_threadsafe`` costs a third.
The thread also keeps nothing of a call once it is answered (anyio's worker keeps its last
job, and so its result, until the next one arrives).

Guarantees (the ones ``to_thread`` gave its owners, plus ordering):

* Calls run one at a time, in the order they were submitted, whichever event loop (or
  thread) submitted them: a call submitted after another sees its effects.
* A call that has been submitted runs whole, even if the task awaiting it is cancelled:
  the task's cancellation takes effect at once, the call completes in the thread (so a
  write is never half-applied by a cancellation, and a later call of the same owner runs
  after it). Its result is dropped; an exception it raised is logged, since nobody awaits it.
* The awaiting task gets the call's return value, or its exception unchanged.
* Several event loops may submit (the sync API's main-thread loop and its background loop,
  :mod:`kaizen_core._sync`): each call's answer is delivered to the loop that submitted it.
* The thread starts on the first call; :meth:`IOThread.stop` ends it after the calls already
  submitted (a later call starts a new one, :meth:`IOThread.drain` does not); a forked child
  starts its own (the parent's thread does not exist there); an IOThread dropped without
  ``stop()`` ends its thread.
  Interpreter exit does not stop it: ``atexit`` handlers may still make calls.

The thread is a daemon: a call still running when the interpreter exits (only possible for
one whose awaiting task was cancelled or abandoned) may be cut short, as a pooled worker's is.
Asyncio only (Kaizen runs on asyncio).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["IOThread"]

T = TypeVar("T")
logger = logging.getLogger(__name__)

_STOP = None  # the queue item that ends the thread
#: (function, arguments, the caller's loop, its future); loop and future are None for a posted call.
_Item = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop | None, "asyncio.Future[Any] | None"]


def _deliver(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    """Resolve ``future`` on its loop; a cancelled caller's failure is logged, not lost."""
    if future.cancelled():
        if error is not None:
            logger.warning("a blocking call whose caller was cancelled failed: %r", error, exc_info=error)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _work(items: queue.SimpleQueue[_Item | None]) -> None:
    """The thread's body. Holds the queue only, not the IOThread (so that can be collected)."""
    while True:
        item = items.get()
        if item is _STOP:
            return
        fn, args, loop, future = item
        error: BaseException | None = None
        value: Any = None
        try:
            value = fn(*args)
        except BaseException as exc:  # handed to the caller unchanged
            error = exc
        del item, fn, args  # do not keep the call's arguments alive while waiting for the next
        if loop is None or future is None:  # posted (IOThread.post): nobody awaits it
            if error is not None:
                logger.warning("a posted blocking call failed: %r", error, exc_info=error)
            del error, value
            continue
        try:
            loop.call_soon_threadsafe(_deliver, future, error, value)
        except RuntimeError:  # the loop was closed meanwhile: nobody awaits the answer
            if error is not None:
                logger.warning("a blocking call whose event loop closed failed: %r", error, exc_info=error)
        del loop, future, error, value


def _nothing() -> None:
    """The call :meth:`IOThread.drain` waits on: it runs after every call submitted before it."""


_instances: weakref.WeakSet[IOThread] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's threads: its IOThreads start their own.

    The lock is replaced too: another parent thread may have held it at the fork.
    """
    for io in list(_instances):
        io._lock = threading.Lock()
        if io._stopper is not None:
            io._stopper.detach()  # the parent's queue: nothing reads it here
        io._queue = io._stopper = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class IOThread:
    """A lazily started worker thread running blocking calls one at a time (see the module doc)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Item | None] | None = None
        self._stopper: weakref.finalize[Any, Any] | None = None
        _instances.add(self)

    def _items(self) -> queue.SimpleQueue[_Item | None]:
        """The running thread's queue (lock held), starting the thread if there is none."""
        if self._queue is None:
            items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
            threading.Thread(target=_work, args=(items,), name=self.name, daemon=True).start()
            self._queue = items
            # Dropped without stop(): end the thread once the calls already queued are done.
            self._stopper = weakref.finalize(self, items.put, _STOP)
            # Not at interpreter exit: atexit handlers registered earlier run after the
            # finalizers' own and may still make calls (a memory buffer's last flush).
            self._stopper.atexit = False
        return self._queue

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the thread, after the calls submitted before; return its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:  # so that no call lands behind a concurrent stop()'s end marker
            self._items().put((fn, args, loop, future))
        return await future

    async def drain(self) -> None:
        """Wait until the calls submitted so far have run; at once if the thread is not running.

        Unlike ``run`` of a no-op, it never starts a thread: closing an owner twice leaves no
        thread behind (the thread ``stop()`` ends may still be finishing its last calls).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._queue is None:
                return
            self._queue.put((_nothing, (), loop, future))
        await future

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in the thread after the calls submitted before, without waiting for it.

        For upkeep that must follow a call but need not delay its caller (the sqlite store's
        WAL checkpoint after a commit): the caller gets its answer first. Later calls run after
        it, like after any call. Its result is dropped; an exception it raises is logged.
        Callable from any thread, the IOThread's own included (a call may post its follow-up).
        """
        with self._lock:
            self._items().put((fn, args, None, None))

    def stop(self) -> None:
        """End the thread once the calls already submitted have run (without waiting for them).

        A call submitted later starts a new thread.
        """
        with self._lock:
            stopper, self._stopper, self._queue = self._stopper, None, None
            if stopper is not None:
                stopper()
