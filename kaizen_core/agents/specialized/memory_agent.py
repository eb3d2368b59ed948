"""MemoryAgent: a conversation that remembers each session's earlier turns.

    agent = MemoryAgent(MemoryConfig(llm_provider="openai", max_turns=20))
    agent.chat("My name is Alice", session_id="user123")
    agent.chat("What's my name?", session_id="user123")["response"]   # knows "Alice"
    agent.chat("What's my name?", session_id="other")                 # a different session: it does not

The memory is the agent's conversation buffer (``max_turns`` turns per session, kept in
process), or a persistent one: ``MemoryAgent(config, memory_backend=ConversationBackend(...))``
or any memory of :mod:`kaizen_core.memory` passed as ``memory=``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from kaizen_core.agents.results import RunResult
from kaizen_core.agents.specialized._common import SpecializedAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.signatures import InputField, OutputField, Signature

__all__ = ["MemoryAgent", "MemoryAgentConfig", "MemoryConfig", "MemorySignature"]


class MemoryAgentConfig(BaseAgentConfig):
    """Configuration of :class:`MemoryAgent`: session memory is on (``max_turns`` 20 by default)."""

    max_turns: int | None = Field(20, gt=0, description="Conversation buffer size per session")


MemoryConfig = MemoryAgentConfig


class MemorySignature(Signature):
    """Continue the conversation: use what the user said in earlier turns of this session."""

    message: str = InputField(description="The user's message")
    response: str = OutputField(description="The reply to the user")


class MemoryAgent(SpecializedAgent):
    """A conversational agent with session memory: :meth:`chat` returns ``response``."""

    config_class: ClassVar[type[BaseAgentConfig]] = MemoryAgentConfig
    signature_class = MemorySignature

    def chat(self, message: str, session_id: str = "default") -> RunResult:
        """Reply to ``message`` in ``session_id``'s conversation (its earlier turns are given to the model)."""
        return self.run(message=message, session_id=session_id)

    async def chat_async(self, message: str, session_id: str = "default") -> dict[str, Any]:
        """Awaitable :meth:`chat`."""
        return await self.run_async(message=message, session_id=session_id)
