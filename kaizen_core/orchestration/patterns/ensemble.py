"""Ensemble: several perspectives on one task, combined by a synthesizer.

``discovery_mode="a2a"`` picks the ``top_k`` agents whose capability cards match the task
best (the shared scorer; the result says which ran); ``"all"`` uses every agent. The
chosen agents run concurrently (``max_workers`` at a time, ``timeout`` each), each on the
pipeline's inputs only. The synthesizer gets the pipeline's inputs plus ``perspectives``
(and ``results``, ``context``: the same list) of ``{"agent", "score", "outputs"}`` for the
agents that succeeded; its outputs are spread at the top level. A failing perspective is
reported and left out; with none left the synthesizer is not called and ``status`` is
``failed``.

Result: ``selected_agents`` (names, best first), ``ranking``, ``scorer``, ``perspectives``
(every chosen agent: ``agent``, ``score``, ``status``, ``outputs`` or ``error``), the
synthesizer's outputs, ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.patterns.parallel import overall_status
from kaizen_core.orchestration.pipeline import (
    Pipeline,
    PipelineRun,
    check_agent,
    check_agents,
    check_choice,
    primary_text,
)
from kaizen_core.orchestration.scoring import CapabilityScorer, agent_name
from kaizen_core.orchestration.selection import Selector

__all__ = ["EnsemblePipeline"]


class EnsemblePipeline(Pipeline):
    """``Pipeline.ensemble(agents, synthesizer, discovery_mode="a2a", top_k=3)``."""

    pattern: ClassVar[str] = "ensemble"
    description: ClassVar[str] = "Ensemble: the best-matching agents answer and a synthesizer combines their answers."
    result_fields: ClassVar[dict[str, Any]] = {
        "selected_agents": list,
        "ranking": list,
        "scorer": str,
        "perspectives": list,
    }

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        synthesizer: BaseAgent | None = None,
        discovery_mode: str = "a2a",
        top_k: int = 3,
        *,
        max_workers: int | None = 5,
        timeout: float | None = None,
        scorer: CapabilityScorer | None = None,
        embedding_provider: Any = None,
        **options: Any,
    ) -> None:
        self.agents = check_agents(self.pattern, agents)
        self.synthesizer = check_agent(self.pattern, synthesizer, "synthesizer", optional=True)
        self.discovery_mode = check_choice(self.pattern, "discovery_mode", discovery_mode, ("a2a", "all"))
        if top_k < 1:
            raise WorkflowBuildError("ensemble: top_k must be at least 1")
        self.top_k = top_k
        self.max_workers = max_workers
        self.timeout = timeout
        self.selector = Selector(self.agents, "semantic", scorer=scorer, embedding_provider=embedding_provider)
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return [*self.agents, *([self.synthesizer] if self.synthesizer is not None else [])]

    def entry_agents(self) -> list[BaseAgent]:
        return list(self.agents)

    def answer_agents(self) -> list[BaseAgent]:
        return [self.synthesizer] if self.synthesizer is not None else []

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.discovery_mode == "a2a":
            self._require_text(inputs)
        return dict(inputs)

    async def _discover(self, task: str | None) -> dict[str, Any]:
        if self.discovery_mode == "all" or task is None:
            indices = list(range(len(self.agents)))
            return {
                "scorer": None,
                "order": indices,
                "ranking": [
                    {"agent": agent_name(self.agents[i]), "agent_id": self.agents[i].agent_id, "score": None} for i in indices
                ],
            }
        selection = await self.selector.select(task)
        return {**selection, "order": selection["order"][: self.top_k]}

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        task = primary_text(inputs)
        discovery = await run.decide("discover", lambda: self._discover(task))
        scores = {entry["agent_id"]: entry["score"] for entry in discovery["ranking"]}
        chosen = [self.agents[i] for i in discovery["order"]]
        outcomes = await run.call_many(
            [(f"perspective-{i}", self.agents[i], inputs, task) for i in discovery["order"]],
            max_workers=self.max_workers,
            timeout=self.timeout,
        )
        perspectives = [{**o.summary(), "score": scores.get(o.agent_id)} for o in outcomes]
        good = [{"agent": p["agent"], "score": p["score"], "outputs": p["outputs"]} for p in perspectives if p["status"] == "success"]
        result: dict[str, Any] = {
            "selected_agents": [o.agent for o in outcomes],
            "ranking": discovery["ranking"],
            "scorer": discovery["scorer"],
            "perspectives": perspectives,
        }
        if self.synthesizer is not None and good:
            offered = {**inputs, "perspectives": good, "results": good, "context": good}
            synthesis = await run.call("synthesizer", self.synthesizer, offered, text=task)
            if not synthesis.ok:
                synthesis.raise_error()
            result = {**synthesis.outputs, **result}
        result["status"] = overall_status(len(good), len(chosen))
        return result
