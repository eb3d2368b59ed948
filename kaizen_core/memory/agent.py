"""What an agent's memory implements: recall before a run, remember after it.

``agent.memory`` (alias ``agent._memory``) is any object with these two coroutines. The
built-in memories implement them:

* :class:`~kaizen_core.memory.buffer.BufferMemory` and ``PersistentBufferMemory``: the
  last turns of the run's ``session_id`` (nothing for a run without one);
* :class:`~kaizen_core.memory.long_term.ShortTermMemory`, ``LongTermMemory`` and
  ``SemanticMemory``: the entries most relevant to the run's input (keyword search;
  similarity for ``SemanticMemory``), given to the model as one system message, and
  each finished turn stored as an entry tagged ``"conversation"``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kaizen_core.providers.types import Message

__all__ = ["AgentMemory", "recalled_message"]


@runtime_checkable
class AgentMemory(Protocol):
    """The interface :class:`~kaizen_core.agents.BaseAgent` uses (see the module docstring)."""

    async def arecall(self, session_id: str | None, query: str) -> list[Message]:
        """Messages to put before the user's input for a run on ``query`` (the rendered inputs)."""
        ...

    async def aremember(self, session_id: str | None, user_text: str, assistant_text: str) -> None:
        """Record a finished turn."""
        ...


def recalled_message(texts: list[str]) -> list[Message]:
    """One system message listing remembered facts, most relevant first (none when empty)."""
    if not texts:
        return []
    lines = "\n".join(f"- {text}" for text in texts)
    return [Message(role="system", content=f"What you remember that may be relevant (most relevant first):\n{lines}")]
