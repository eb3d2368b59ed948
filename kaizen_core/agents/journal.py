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

__all__ = ["RunJournal", "retry_storage"]

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

    async def append(self, entry: dict[str, Any]) -> None:
        """Append ``entry``, retrying a storage failure; raises :class:`StorageError` when it lasts."""
        await retry_storage(
            lambda: self.manager.journal_append(self.stream, entry), self.retry_seconds, self.retry_delay
        )

    async def delete(self) -> None:
        """Drop the stream (the run completed; its final checkpoint holds the result)."""
        await self.manager.journal_delete(self.stream)
