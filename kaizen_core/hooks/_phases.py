"""Pairs PRE_x / POST_x events into phase durations (shared by built-in hooks)."""

from __future__ import annotations

import time

from kaizen_core.hooks.context import HookContext
from kaizen_core.hooks.events import HookEvent

PAIRED_EVENTS: list[HookEvent] = [e for e in HookEvent if e.phase is not None]
_MAX_OPEN = 1000  # per (agent, run, phase): bounds memory when POST events never come


class PhaseTimer:
    """Measures PRE_x -> POST_x durations, keyed by (agent_id, run_id, phase); nesting is LIFO.

    A POST event whose metadata carries ``duration_ms`` uses that figure instead.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[str, str | None, str], list[float]] = {}

    def observe(self, context: HookContext) -> tuple[str, float] | None:
        """Record ``context``; return ``(phase, duration_ms)`` when it closes a phase."""
        event = context.event
        phase = event.phase
        if phase is None:
            return None
        key = (context.agent_id, context.run_id, phase)
        if event.is_pre:
            stack = self._open.setdefault(key, [])
            if len(stack) >= _MAX_OPEN:
                del stack[0]
            stack.append(time.perf_counter())
            return None
        open_starts = self._open.get(key)
        start = open_starts.pop() if open_starts else None
        if open_starts is not None and not open_starts:
            del self._open[key]
        if event is HookEvent.POST_AGENT_LOOP:
            self._drop_run(context.agent_id, context.run_id)
        given = context.metadata.get("duration_ms")
        if isinstance(given, int | float) and not isinstance(given, bool):
            return phase, float(given)
        if start is None:
            return None
        return phase, (time.perf_counter() - start) * 1000.0

    def _drop_run(self, agent_id: str, run_id: str | None) -> None:
        for key in [k for k in self._open if k[0] == agent_id and k[1] == run_id]:
            del self._open[key]
