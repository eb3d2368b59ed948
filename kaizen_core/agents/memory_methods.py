"""The agent's memory: ``agent.memory`` and its documented alias ``agent._memory``.

    agent = BaseAgent(config=config, signature=signature)
    agent._memory = long_term          # the same attribute as agent.memory
    agent.run(question="What's my communication style?")

Any object implementing :class:`~kaizen_core.memory.agent.AgentMemory` (``arecall`` /
``aremember``) can be attached: every built-in memory does. Before a run the agent asks it
for messages to put before the input (a buffer: the session's last turns; a long-term
memory: the most relevant entries as one system message); after a successful run it
hands it the turn. Assigning anything else is KAIZEN_002, at assignment rather than at
the next run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun
    from kaizen_core.memory.agent import AgentMemory
    from kaizen_core.providers.types import Message
    from kaizen_core.signatures import Signature

__all__ = ["MemoryMethods"]


class MemoryMethods:
    """Mixin of :class:`~kaizen_core.agents.BaseAgent`: one memory attribute and the two calls a run makes."""

    signature: Signature
    _agent_memory: AgentMemory | None = None

    @property
    def memory(self) -> AgentMemory | None:
        """The agent's memory (None: it remembers nothing between runs)."""
        return self._agent_memory

    @memory.setter
    def memory(self, value: Any) -> None:
        if value is not None:
            from kaizen_core.memory.agent import AgentMemory

            if not isinstance(value, AgentMemory):
                raise ConfigError(
                    f"an agent's memory must implement arecall() and aremember(), got {type(value).__name__}",
                    hint="use BufferMemory, PersistentBufferMemory, ShortTermMemory, LongTermMemory or SemanticMemory "
                    "from kaizen_core.memory, or implement kaizen_core.memory.agent.AgentMemory",
                )
        self._agent_memory = value

    #: The original documentation's name (``agent._memory = long_term``): the same attribute.
    _memory = memory

    async def _recall_memory(self, session_id: str | None, inputs: dict[str, Any]) -> list[Message]:
        """What the memory gives the model before this run's input (nothing without a memory)."""
        memory = self._agent_memory
        if memory is None:
            return []
        from kaizen_core.agents.prompting import user_message

        return await memory.arecall(session_id, user_message(self.signature, inputs))

    async def _remember_turn(self, run: AgentRun, outputs: dict[str, Any]) -> None:
        """Hand the finished turn to the memory."""
        memory = self._agent_memory
        if memory is None:
            return
        from kaizen_core.agents.prompting import user_message

        await memory.aremember(run.session_id, user_message(self.signature, run.inputs), json.dumps(outputs, default=str))
