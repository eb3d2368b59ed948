"""Handoff: tiers in order; the next tier takes over when one is not up to the task.

Exactly one agent holds the task at a time. Tier 1 gets the pipeline's inputs; after a
handoff the next agent gets the pipeline's inputs plus, if its signature has a
``context`` input, what the previous holder said and why it handed off
(``{"from", "reason", "outputs" | "error"}``): only the last holder, not the whole chain.

The holder hands off when

* it fails (its error) -> the next tier;
* it sets a boolean ``escalate`` output -> the next tier;
* its ``confidence`` output is below ``confidence_threshold`` (default 0.7) -> the next tier;
* its ``handoff_to`` output names another agent of the pipeline (name or agent_id) -> that
  agent (handing back down is allowed).

Otherwise (or at the last tier) its answer stands; the last tier's failure is raised.

Loops are cut: more than ``max_handoffs`` handoffs (default twice the number of agents),
two agents handing the task back and forth (A, B, A, B), or an agent handing off again
with exactly the outputs it gave before, raise
:class:`~kaizen_core.errors.ConvergenceError` (AGENT_005) with ``e.result`` holding
``path`` and ``escalations``.

Inside a parallel pipeline each branch hands off on its own: branches never hand off to
each other and nothing is merged; the parallel result carries each branch's outcome.

Result: the answering agent's outputs, ``handled_by``, ``tier`` (1-based position),
``path`` (every holder in order), ``escalations`` (``[{"from", "to", "reason",
"confidence"}]``), ``confident`` (False when the last tier answered below the threshold),
``status``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import ConvergenceError, WorkflowBuildError
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, StepOutcome, check_agents, primary_text
from kaizen_core.orchestration.scoring import agent_name

__all__ = ["HandoffPipeline"]


def _confidence(outputs: dict[str, Any]) -> float | None:
    value = outputs.get("confidence")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class HandoffPipeline(Pipeline):
    """``Pipeline.handoff(agents=[tier1, tier2, tier3])``."""

    pattern: ClassVar[str] = "handoff"
    description: ClassVar[str] = "Handoff: tiers in order, escalating when a tier fails or is not confident."
    result_fields: ClassVar[dict[str, Any]] = {
        "handled_by": str,
        "tier": int,
        "path": list,
        "escalations": list,
        "confident": bool,
    }

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        confidence_threshold: float = 0.7,
        max_handoffs: int | None = None,
        **options: Any,
    ) -> None:
        self.agents = check_agents(self.pattern, agents)
        if not 0.0 <= confidence_threshold <= 1.0:
            raise WorkflowBuildError("handoff: confidence_threshold must be in [0, 1]")
        self.confidence_threshold = confidence_threshold
        self.max_handoffs = max_handoffs if max_handoffs is not None else 2 * len(self.agents)
        if self.max_handoffs < 0:
            raise WorkflowBuildError("handoff: max_handoffs must be >= 0")
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return list(self.agents)

    def _named(self, name: Any, current: int) -> int | None:
        if not isinstance(name, str) or not name:
            return None
        for index, agent in enumerate(self.agents):
            if index != current and name in (agent.agent_id, agent_name(agent)):
                return index
        return None

    def _next(self, current: int, outcome: StepOutcome) -> tuple[int | None, str]:
        """Where the task goes after ``outcome`` (None: it stays, the answer stands) and why."""
        last = current + 1 >= len(self.agents)
        if not outcome.ok:
            return (None if last else current + 1), "failed"
        target = self._named(outcome.outputs.get("handoff_to"), current)
        if target is not None:
            return target, "handoff"
        if outcome.outputs.get("escalate") is True and not last:
            return current + 1, "escalate"
        confidence = _confidence(outcome.outputs)
        if confidence is not None and confidence < self.confidence_threshold and not last:
            return current + 1, "low_confidence"
        return None, "answered"

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        text = primary_text(inputs)
        current = 0
        previous: dict[str, Any] | None = None
        path: list[str] = []
        escalations: list[dict[str, Any]] = []
        given: set[tuple[int, str]] = set()
        while True:
            agent = self.agents[current]
            outcome = await run.call(f"hop-{len(path)}", agent, {**inputs, "context": previous}, text=text)
            path.append(outcome.agent)
            target, reason = self._next(current, outcome)
            if target is None:
                if not outcome.ok:
                    outcome.raise_error()
                confidence = _confidence(outcome.outputs)
                return {
                    **outcome.outputs,
                    "handled_by": outcome.agent,
                    "tier": current + 1,
                    "path": path,
                    "escalations": escalations,
                    "confident": confidence is None or confidence >= self.confidence_threshold,
                    "status": "success",
                }
            escalations.append(
                {"from": outcome.agent, "to": agent_name(self.agents[target]), "reason": reason, "confidence": _confidence(outcome.outputs)}
            )
            fingerprint = (current, json.dumps(outcome.outputs, sort_keys=True, default=str))
            why = None
            if len(escalations) > self.max_handoffs:
                why = f"more than {self.max_handoffs} handoffs"
            elif len(path) >= 4 and path[-1] == path[-3] and path[-2] == path[-4] and path[-1] != path[-2]:
                why = f"{path[-2]} and {path[-1]} keep handing the task back and forth"
            elif outcome.ok and fingerprint in given:
                why = f"{outcome.agent} handed off again with the same outputs"
            if why is not None:
                raise ConvergenceError(
                    f"handoff loop: {why} (path: {' -> '.join(path)})",
                    hint="make the agents' handoff_to / escalate decisions converge, or raise max_handoffs",
                    result={"path": path, "escalations": escalations, "status": "failed"},
                )
            given.add(fingerprint)
            previous = {"from": outcome.agent, "reason": reason}
            if outcome.ok:
                previous["outputs"] = outcome.outputs
            else:
                previous["error"] = outcome.error_info
            current = target
