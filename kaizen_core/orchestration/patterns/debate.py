"""Debate: a proponent and an opponent argue for ``rounds`` rounds; a judge rules once.

Each round the proponent speaks, then the opponent answers. Each side gets the
pipeline's inputs, ``position`` (``"for"`` / ``"against"``), ``round``, and the other
side's latest argument as ``context`` (its outputs) when its signature has that input;
never the whole transcript, so a debate costs O(rounds) tokens, not O(rounds²). The
judge is called exactly once, after the last round, with the pipeline's inputs and the
full transcript as ``transcript``/``context``. A side that fails ends the debate with its
error.

Result: ``rounds`` (``[{"round", "proponent", "opponent"}]``, each side's outputs),
``verdict`` (the judge's outputs; None without a judge), ``winner`` (the judge's ``winner``
output when it has one), the judge's outputs spread at the top level, ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, check_agent, check_agents, primary_text

__all__ = ["DebatePipeline"]


class DebatePipeline(Pipeline):
    """``Pipeline.debate(agents=[proponent, opponent], rounds=3, judge=judge)``."""

    pattern: ClassVar[str] = "debate"
    description: ClassVar[str] = "Debate: a proponent and an opponent argue, then a judge decides."
    result_fields: ClassVar[dict[str, Any]] = {"rounds": list, "verdict": dict, "winner": Any}

    def __init__(self, agents: Sequence[BaseAgent], rounds: int = 3, judge: BaseAgent | None = None, **options: Any) -> None:
        found = check_agents(self.pattern, agents, minimum=2)
        if len(found) != 2:
            raise WorkflowBuildError(f"debate: needs exactly two agents (proponent, opponent), got {len(found)}")
        self.proponent, self.opponent = found
        self.judge = check_agent(self.pattern, judge, "judge", optional=True)
        if rounds < 1:
            raise WorkflowBuildError("debate: rounds must be at least 1")
        self.rounds = rounds
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return [self.proponent, self.opponent, *([self.judge] if self.judge is not None else [])]

    def entry_agents(self) -> list[BaseAgent]:
        return [self.proponent, self.opponent]

    def answer_agents(self) -> list[BaseAgent]:
        return [self.judge] if self.judge is not None else []

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        text = primary_text(inputs)
        transcript: list[dict[str, Any]] = []
        last_opponent: dict[str, Any] | None = None
        for number in range(1, self.rounds + 1):
            pro = await run.call(
                f"round-{number}/proponent",
                self.proponent,
                {**inputs, "position": "for", "round": number, "context": last_opponent},
                text=text,
            )
            if not pro.ok:
                pro.raise_error()
            con = await run.call(
                f"round-{number}/opponent",
                self.opponent,
                {**inputs, "position": "against", "round": number, "context": pro.outputs},
                text=text,
            )
            if not con.ok:
                con.raise_error()
            last_opponent = con.outputs
            transcript.append({"round": number, "proponent": pro.outputs, "opponent": con.outputs})
        result: dict[str, Any] = {"rounds": transcript, "verdict": None, "winner": None}
        if self.judge is not None:
            ruling = await run.call("judge", self.judge, {**inputs, "transcript": transcript, "context": transcript}, text=text)
            if not ruling.ok:
                ruling.raise_error()
            result = {**ruling.outputs, **result, "verdict": ruling.outputs, "winner": ruling.outputs.get("winner")}
        result["status"] = "success"
        return result
