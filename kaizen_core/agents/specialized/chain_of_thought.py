"""ChainOfThoughtAgent: step-by-step reasoning in one model call.

agent = ChainOfThoughtAgent(CoTConfig(llm_provider="openai"))
result = agent.solve("A train leaves at 9:00 and travels 120 km at 60 km/h. When does it arrive?")
result["steps"]         # ["Distance 120 km at 60 km/h", "120 / 60 = 2 hours", "9:00 + 2 h = 11:00"]
result["final_answer"]  # "11:00"
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from kaizen_core.agents.results import RunResult
from kaizen_core.agents.specialized._common import SpecializedAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.signatures import InputField, OutputField, Signature

__all__ = ["ChainOfThoughtAgent", "ChainOfThoughtConfig", "ChainOfThoughtSignature", "CoTConfig"]


class ChainOfThoughtConfig(BaseAgentConfig):
    """Configuration of :class:`ChainOfThoughtAgent`."""

    temperature: float | None = Field(0.1, ge=0.0, le=2.0)


CoTConfig = ChainOfThoughtConfig


class ChainOfThoughtSignature(Signature):
    """Solve the problem by reasoning step by step: write each step of the reasoning, then the final answer."""

    problem: str = InputField(description="The problem to solve")
    context: str = InputField(description="Optional background", default="")
    steps: list[str] = OutputField(description="The reasoning steps, in order")
    final_answer: str = OutputField(description="The answer the steps lead to")
    confidence: float = OutputField(description="Confidence in the final answer, from 0 to 1")


class ChainOfThoughtAgent(SpecializedAgent):
    """Step-by-step reasoning: ``steps``, ``final_answer``, ``confidence`` (one call)."""

    config_class: ClassVar[type[BaseAgentConfig]] = ChainOfThoughtConfig
    signature_class = ChainOfThoughtSignature

    def solve(self, problem: str, context: str = "", session_id: str | None = None) -> RunResult:
        """Reason about ``problem`` step by step (same as ``run(problem=..., context=...)``)."""
        return self.run(problem=problem, context=context, session_id=session_id)

    async def solve_async(self, problem: str, context: str = "", session_id: str | None = None) -> dict[str, Any]:
        """Awaitable :meth:`solve`."""
        return await self.run_async(problem=problem, context=context, session_id=session_id)
