"""RepeatGuard: notice a model calling the same tool with the same arguments again.

Small models often loop: they call ``get_weather(city="Paris")``, get the answer, and
call it again until ``max_cycles``. The guard remembers each successful call's result
by ``(tool name, canonical JSON of the arguments)``. A repeat of a read-only or
idempotent tool is not run again: the model is given the earlier result and told to
answer. Every repeat is counted; once ``limit`` repeats happened the loop withholds the
tools and asks for the final answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kaizen_core.providers.types import ToolCall

__all__ = ["REPEAT_NOTE", "RepeatGuard"]

REPEAT_NOTE = (
    "You already called {tool} with exactly these arguments; its result is below and will not change. "
    "Do not call it again: use this result and give the final answer."
)


@dataclass
class RepeatGuard:
    """Per-run memory of successful calls (see the module docstring)."""

    limit: int = 2
    results: dict[str, str] = field(default_factory=dict)
    repeats: int = 0

    @staticmethod
    def key(call: ToolCall) -> str:
        return call.name + "\x00" + json.dumps(call.arguments, sort_keys=True, default=str)

    def seen(self, call: ToolCall) -> str | None:
        """The earlier result of an identical successful call (counted as a repeat), or None."""
        previous = self.results.get(self.key(call))
        if previous is not None:
            self.repeats += 1
        return previous

    def remember(self, call: ToolCall, content: str) -> None:
        self.results[self.key(call)] = content

    @property
    def exhausted(self) -> bool:
        """True once the model has repeated itself ``limit`` times (0: never)."""
        return bool(self.limit) and self.repeats >= self.limit
