"""SimpleQAAgent: one question, one answer (with a confidence), optionally with session memory.

agent = SimpleQAAgent(QAConfig(llm_provider="openai", model="gpt-4", max_turns=10))
result = agent.ask("My name is Alice", session_id="user123")
result["answer"], result["confidence"]
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from kaizen_core.agents.results import RunResult
from kaizen_core.agents.specialized._common import SpecializedAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.signatures import InputField, OutputField, Signature

__all__ = ["QAConfig", "QASignature", "SimpleQAAgent"]


class QAConfig(BaseAgentConfig):
    """Configuration of :class:`SimpleQAAgent`: BaseAgentConfig's fields (``max_turns`` turns
    session memory on, None: off)."""

    temperature: float | None = Field(0.1, ge=0.0, le=2.0)


class QASignature(Signature):
    """Answer the question accurately and concisely, using the context when one is given."""

    question: str = InputField(description="The question to answer")
    context: str = InputField(description="Optional background for the question", default="")
    answer: str = OutputField(description="The answer")
    confidence: float = OutputField(description="Confidence in the answer, from 0 to 1")


class SimpleQAAgent(SpecializedAgent):
    """Question answering: :meth:`ask` returns ``answer`` and ``confidence`` (plus ``_meta``)."""

    config_class: ClassVar[type[BaseAgentConfig]] = QAConfig
    signature_class = QASignature

    def ask(self, question: str, session_id: str | None = None, context: str = "") -> RunResult:
        """Answer ``question``; with ``max_turns`` set, ``session_id`` keeps the conversation."""
        return self.run(question=question, context=context, session_id=session_id)

    async def ask_async(self, question: str, session_id: str | None = None, context: str = "") -> dict[str, Any]:
        """Awaitable :meth:`ask`."""
        return await self.run_async(question=question, context=context, session_id=session_id)
