"""Router: send the task to the one agent that matches it best.

The task text (``task=``, or the first string input) is scored against every agent's
capability card (:mod:`kaizen_core.orchestration.selection`); the chosen agent gets the
pipeline's inputs (mapped onto its signature) and nothing else.

* ``routing_strategy``: ``semantic`` (embeddings, BM25 without a provider), ``capability``
  (BM25), ``round-robin``, ``random``.
* No match (best score not above ``min_score``, e.g. no shared word under BM25): the
  deterministic fallback is ``fallback_agent``, else the first agent given.
* ``error_handling="graceful"``: when the chosen agent fails, ``fallback_agent`` and then
  the next-ranked agents are tried, up to ``max_retries`` more attempts; if all fail the
  result has ``status="failed"`` and ``error``. ``"fail-fast"``: the agent's error is raised
  (a task nothing matches still goes to the deterministic fallback).
* ``fallback_strategy`` (what MetaController sets; default ``"default"``): ``default`` (as
  above), ``round_robin`` (no match or failure: the next agent in rotation), ``all``
  (every agent in ranking order until one succeeds), ``fail`` (no match raises
  :class:`~kaizen_core.orchestration.selection.NoAgentMatchedError`, EXEC_003; a failure
  raises the agent's error).

Result: the answering agent's outputs, ``selected_agent`` (its name: class name for
specialized agents, else ``agent_id``), ``selected_agent_id``, ``confidence_score`` (its
score in [0, 1]; None for round-robin/random and for a fallback agent outside the
ranking), ``ranking`` (every agent's score, best first), ``scorer`` (``semantic``,
``lexical`` or None), ``routing_strategy``, ``matched``, ``attempts``
(``[{"agent", "status", "error"}]``) and ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.pipeline import (
    Pipeline,
    PipelineRun,
    StepOutcome,
    check_agent,
    check_agents,
    check_choice,
)
from kaizen_core.orchestration.scoring import CapabilityScorer, agent_name
from kaizen_core.orchestration.selection import STRATEGIES, NoAgentMatchedError, Selector

__all__ = ["FALLBACK_STRATEGIES", "RouterPipeline"]

FALLBACK_STRATEGIES = ("default", "round_robin", "all", "fail")
_FALLBACK = -1  # plan entry: the fallback agent


class RouterPipeline(Pipeline):
    """``Pipeline.router(agents, routing_strategy="semantic", error_handling="graceful", fallback_agent=None, max_retries=3)``."""

    pattern: ClassVar[str] = "router"
    description: ClassVar[str] = "Router: sends the task to the agent whose capability matches it best."
    result_fields: ClassVar[dict[str, Any]] = {
        "selected_agent": str,
        "selected_agent_id": str,
        "confidence_score": float,
        "ranking": list,
        "scorer": str,
        "routing_strategy": str,
        "matched": bool,
        "attempts": list,
        "error": dict,
    }

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        routing_strategy: str = "semantic",
        error_handling: str = "graceful",
        fallback_agent: BaseAgent | None = None,
        max_retries: int = 3,
        *,
        fallback_strategy: str | None = None,
        enable_load_balancing: bool = False,
        min_score: float = 0.0,
        scorer: CapabilityScorer | None = None,
        embedding_provider: Any = None,
        seed: int | None = None,
        **options: Any,
    ) -> None:
        self.agents = check_agents(self.pattern, agents)
        self.routing_strategy = check_choice(self.pattern, "routing_strategy", routing_strategy, STRATEGIES)
        self.error_handling = check_choice(self.pattern, "error_handling", error_handling, ("graceful", "fail_fast"))
        self.fallback_agent = check_agent(self.pattern, fallback_agent, "fallback_agent", optional=True)
        if max_retries < 0:
            raise WorkflowBuildError("router: max_retries must be >= 0")
        self.max_retries = max_retries
        self.fallback_strategy = check_choice(
            self.pattern, "fallback_strategy", fallback_strategy or "default", FALLBACK_STRATEGIES
        )
        self.selector = Selector(
            self.agents,
            self.routing_strategy,
            scorer=scorer,
            embedding_provider=embedding_provider,
            min_score=min_score,
            enable_load_balancing=enable_load_balancing,
            seed=seed,
        )
        self._fallback_rotation = 0
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        extra = [self.fallback_agent] if self.fallback_agent is not None and self.fallback_agent not in self.agents else []
        return [*self.agents, *extra]

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self._require_text(inputs)
        return dict(inputs)

    # --- the plan -------------------------------------------------------------------------
    async def _plan(self, task: str) -> dict[str, Any]:
        selection = await self.selector.select(task)
        order: list[int] = selection["order"]
        strategy = self.fallback_strategy
        fallback = _FALLBACK if self.fallback_agent is not None else None
        if not selection["matched"] and strategy == "fail":
            raise NoAgentMatchedError(
                f"router: no agent matches the task (best score {selection['ranking'][0]['score']}, "
                f"needed more than {self.selector.min_score})",
                hint="describe the agents (agent.capability = '...'), lower min_score, or use another fallback_strategy",
                ranking=selection["ranking"],
            )
        if not selection["matched"] and strategy == "round_robin":
            primary = self._fallback_rotation % len(self.agents)
            self._fallback_rotation += 1
        elif not selection["matched"] and strategy == "default" and fallback is not None:
            primary = fallback
        else:
            primary = order[0]
        if self.error_handling == "fail_fast" or strategy == "fail":
            plan = [primary]
        elif strategy == "all":
            plan = [primary, *(i for i in order if i != primary)]
        elif strategy == "round_robin":
            start = primary if primary != _FALLBACK else order[0]
            plan = [primary, *self.selector.next_in_rotation(start)][: 1 + self.max_retries]
        else:
            rest = [fallback] if fallback is not None and primary != fallback else []
            plan = [primary, *rest, *(i for i in order if i != primary)][: 1 + self.max_retries]
        return {**selection, "plan": plan}

    def _agent_for(self, ref: int) -> BaseAgent:
        if ref == _FALLBACK:
            assert self.fallback_agent is not None
            return self.fallback_agent
        return self.agents[ref]

    # --- running -----------------------------------------------------------------------------
    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        task = self._require_text(inputs)
        plan = await run.decide("route", lambda: self._plan(task))
        scores = {entry["agent_id"]: entry["score"] for entry in plan["ranking"]}
        attempts: list[dict[str, Any]] = []
        outcome: StepOutcome | None = None
        for number, ref in enumerate(plan["plan"]):
            agent = self._agent_for(ref)
            outcome = await self._attempt(run, number, ref, agent, inputs, task)
            attempts.append({"agent": outcome.agent, "status": outcome.status, "error": outcome.error_info})
            if outcome.ok:
                break
            if self.error_handling == "fail_fast" or self.fallback_strategy == "fail":
                outcome.raise_error()
        assert outcome is not None
        result: dict[str, Any] = {
            **(outcome.outputs if outcome.ok else {}),
            "selected_agent": outcome.agent,
            "selected_agent_id": outcome.agent_id,
            "confidence_score": scores.get(outcome.agent_id),
            "ranking": plan["ranking"],
            "scorer": plan["scorer"],
            "routing_strategy": self.routing_strategy,
            "matched": plan["matched"],
            "attempts": attempts,
            "status": "success" if outcome.ok else "failed",
        }
        if not outcome.ok:
            result["error"] = outcome.error_info
        return result

    async def _attempt(
        self, run: PipelineRun, number: int, ref: int, agent: BaseAgent, inputs: dict[str, Any], task: str
    ) -> StepOutcome:
        if ref == _FALLBACK:
            return await run.call(f"attempt-{number}", agent, inputs, text=task)
        self.selector.started(ref)
        cost = 0.0
        try:
            outcome = await run.call(f"attempt-{number}", agent, inputs, text=task)
            cost = float(outcome.meta.get("cost") or 0.0)
            return outcome
        finally:
            self.selector.finished(ref, cost)

    def __repr__(self) -> str:
        names = ", ".join(agent_name(a) for a in self.agents)
        return f"RouterPipeline(name={self.name!r}, agents=[{names}], routing_strategy={self.routing_strategy!r})"
