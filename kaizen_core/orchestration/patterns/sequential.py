"""Sequential: each agent works on what the previous one produced.

Agent 1 gets the pipeline's inputs. Agent k gets the pipeline's inputs overlaid with
agent k-1's outputs (same names win), and agent k-1's first text output as its task
text. Nothing older is passed on. A failing agent ends the pipeline with its error.

Result: the last agent's outputs, ``intermediate_results`` (``[{"agent", "outputs"}]``
per agent, in order) and ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, check_agents, first_text, primary_text

__all__ = ["SequentialPipeline"]


class SequentialPipeline(Pipeline):
    """``Pipeline.sequential(agents=[a, b, c])``."""

    pattern: ClassVar[str] = "sequential"
    description: ClassVar[str] = "Sequential pipeline: each agent works on the previous agent's outputs."
    result_fields: ClassVar[dict[str, Any]] = {"intermediate_results": list}

    def __init__(self, agents: Sequence[BaseAgent], **options: Any) -> None:
        self.agents = check_agents(self.pattern, agents)
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return list(self.agents)

    def entry_agents(self) -> list[BaseAgent]:
        return self.agents[:1]

    def answer_agents(self) -> list[BaseAgent]:
        return self.agents[-1:]

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        offered: dict[str, Any] = dict(inputs)
        text = primary_text(inputs)
        steps: list[dict[str, Any]] = []
        outputs: dict[str, Any] = {}
        for index, agent in enumerate(self.agents):
            outcome = await run.call(f"step-{index}", agent, offered, text=text)
            if not outcome.ok:
                outcome.raise_error()
            outputs = outcome.outputs
            steps.append({"agent": outcome.agent, "outputs": outputs})
            offered = {**inputs, **outputs}
            text = first_text(outputs) or text
        return {**outputs, "intermediate_results": steps, "status": "success"}
