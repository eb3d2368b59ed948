"""The poller: checks a run's interrupt handlers every ``poll_interval`` seconds."""

from __future__ import annotations

import asyncio
import contextlib

from kaizen_core.interrupts.scope import InterruptScope

__all__ = ["Poller"]


class Poller:
    """A background task on the run's loop calling :meth:`InterruptScope.poll` every
    ``interval`` seconds until the run is interrupted or the poller is stopped.

    It exists only while the scope's manager has handlers: the run's monitor makes it
    when the run starts with handlers, or when a handler is added during the run (from
    any thread, through the run's loop); :meth:`start` is a no-op without handlers.
    """

    def __init__(self, scope: InterruptScope, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.scope = scope
        self.loop = loop
        self.interval = interval
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def start(self) -> None:
        """Start polling (on the loop's thread) if there is anything to poll."""
        manager = self.scope.manager
        if self.task is None and not self.stopped and manager is not None and manager.handlers:
            self.task = self.loop.create_task(self._run(), name="kaizen-interrupt-poller")

    async def stop(self) -> None:
        """Stop polling and wait for the task to end."""
        self.stopped = True
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        scope = self.scope
        while scope.reason is None:
            await scope.poll()
            await asyncio.sleep(self.interval)
