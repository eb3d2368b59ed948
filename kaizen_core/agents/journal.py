"""The tool journal of an autonomous run: what makes a crash resumable without repeating side effects.

Entries are appended to a stream of the checkpoint store (``StateManager.journal_append``),
named ``<agent_id>.<run_id>.tools``:

* ``{"type": "assistant", "cycle": n, "content", "parsed", "tool_calls"}``: the model's
  tool-calling reply, written before any of its tools run;
* ``{"type": "start", "key": "<cycle>/<call id>", "name", "arguments"}``: a call about to run;
* ``{"type": "result", "key", "content", "record"}``: its outcome.

On resume the entries after the checkpoint are loaded (:meth:`RunJournal.load`): replies
are replayed, recorded results reused, and a started call without a result is re-run only
when its tool is idempotent. A completed run's journal is deleted (:meth:`RunJournal.delete`):
its final checkpoint holds the result.

Group commit: entries are staged (:meth:`RunJournal.stage`) and written by
:meth:`RunJournal.flush` in append order with one ``journal_append_many`` (one fsync or
transaction). The agent flushes right before a tool runs (so the reply and the start are
durable before any side effect) and once after the cycle's calls (their results). The
calls of a concurrent batch meet at a :class:`FlushGate`, so the reply and all k starts
are one write: a cycle with k parallel calls costs two durable writes, not 1 + 2k.

Storage outages: :func:`retry_storage` retries a :class:`StorageError` with bounded
backoff within a time budget; what still fails is reported by the caller, not raised.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from kaizen_core.errors import StorageError

__all__ = ["FlushGate", "RunJournal", "retry_storage"]

T = TypeVar("T")


async def retry_storage(
    operation: Callable[[], Awaitable[T]],
    budget: float,
    first_delay: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation``; retry a :class:`StorageError` with doubling pauses (at most 2 s) for ``budget`` seconds."""
    deadline = clock() + budget
    delay = first_delay
    while True:
        try:
            return await operation()
        except StorageError:
            remaining = deadline - clock()
            if remaining <= 0:
                raise
            await anyio.sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)


@dataclass
class RunJournal:
    """One run's journal stream plus what was loaded from it for a resume."""

    manager: Any  # StateManager
    stream: str
    retry_seconds: float = 10.0
    retry_delay: float = 0.1
    assistant: dict[int, dict[str, Any]] = field(default_factory=dict)
    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Staged entries not yet written, in append order.
    pending: list[dict[str, Any]] = field(default_factory=list)
    _flush_lock: anyio.Lock = field(default_factory=anyio.Lock, repr=False)

    @staticmethod
    def stream_name(agent_id: str, run_id: str) -> str:
        return f"{agent_id}.{run_id}.tools"

    @staticmethod
    def key(cycle: int, call_id: str) -> str:
        """The journal key of one call."""
        return f"{cycle}/{call_id}"

    async def load(self, after_cycle: int) -> None:
        """Read the stream: replies of cycles after ``after_cycle``, and every started call and result."""
        for entry in await self.manager.journal_read(self.stream):
            kind = entry.get("type")
            if kind == "assistant" and int(entry["cycle"]) > after_cycle:
                self.assistant[int(entry["cycle"])] = entry
            elif kind == "start":
                self.started[entry["key"]] = entry
            elif kind == "result":
                self.results[entry["key"]] = entry

    def stage(self, entry: dict[str, Any]) -> None:
        """Queue ``entry`` for the next :meth:`flush` (nothing is durable until then)."""
        self.pending.append(entry)

    async def flush(self) -> tuple[list[dict[str, Any]], StorageError | None]:
        """Write every staged entry in one batch append, retrying a storage failure.

        Returns the entries and None, or the entries and the :class:`StorageError` that
        lasted: that batch is dropped (the caller reports it; crash safety is degraded
        until the next checkpoint). Flushes are serialised, so entries reach the store in
        staging order. An uncontended flush takes the lock without the trip through the event
        loop that ``acquire()`` makes (two flushes per cycle).
        """
        lock = self._flush_lock
        try:
            lock.acquire_nowait()
        except anyio.WouldBlock:
            await lock.acquire()
        try:
            batch, self.pending = self.pending, []
            if not batch:
                return batch, None
            try:
                await retry_storage(
                    lambda: self.manager.journal_append_many(self.stream, batch), self.retry_seconds, self.retry_delay
                )
            except StorageError as exc:
                return batch, exc
            return batch, None
        finally:
            lock.release()

    async def delete(self) -> None:
        """Drop the stream (the run completed; its final checkpoint holds the result)."""
        self.pending.clear()
        await self.manager.journal_delete(self.stream)


class FlushGate:
    """Where the concurrent calls of one batch meet, so their starts are one journal write.

    Every call of the batch either calls :meth:`arrive` (it is about to run its tool: it
    waits until all the batch's calls have arrived or left, then one flush writes every
    staged start) or :meth:`leave` (it will not run a tool: replayed, refused, answered
    from memory, failed before the tool). ``flush`` is the agent's flush, which reports a
    storage failure instead of raising it.
    """

    def __init__(self, call_ids: list[str], flush: Callable[[], Awaitable[None]]) -> None:
        self._waiting = set(call_ids)
        self._flush = flush
        self._all_in = anyio.Event()
        self._flushed = anyio.Event()
        self._flushing = False
        if not self._waiting:
            self._all_in.set()

    def leave(self, call_id: str) -> None:
        """``call_id`` will not run a tool (or has arrived already): stop waiting for it."""
        self._waiting.discard(call_id)
        if not self._waiting:
            self._all_in.set()

    async def arrive(self, call_id: str) -> None:
        """``call_id``'s start is staged: return once it (and the batch's others) are flushed."""
        self.leave(call_id)
        await self._all_in.wait()
        if self._flushing:
            await self._flushed.wait()
            return
        self._flushing = True
        try:
            await self._flush()
        finally:
            self._flushed.set()
