"""Blackboard: specialists add to a shared board, chosen by what the controller asks for next.

Each iteration (at most ``max_iterations``):

1. A specialist is selected for the current request (first the task, then the controller's
   request) with the shared selection (``selection_mode``: ``semantic``, ``capability``,
   ``round_robin``, ``random``). The best-ranked specialist not yet asked this same
   request is taken; when every specialist has had it, the run stops (``stop_reason``
   ``"exhausted"``): a controller that keeps asking the same thing cannot loop.
2. The specialist gets the pipeline's inputs, ``request`` (the current request), and the
   board so far as ``blackboard``/``context`` if its signature has such an input.
3. The controller gets the pipeline's inputs, ``blackboard``/``context`` (the board) and
   ``iteration``. A true boolean output among ``done``, ``complete``, ``completed``,
   ``is_complete``, ``finished``, ``solved`` ends the run (``converged``); otherwise its
   string output among ``next_step``, ``next_task``, ``next_request``, ``request``,
   ``needed``, ``query`` is the next request (none: the task again).

Result: the controller's last outputs, ``blackboard`` (``[{"iteration", "specialist",
"request", "score", "status", "outputs" | "error"}]``), ``iterations``, ``converged``,
``stop_reason`` (``done``, ``max_iterations``, ``exhausted``), ``scorer``, ``selection_mode``,
``status``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, check_agent, check_agents, check_choice
from kaizen_core.orchestration.scoring import CapabilityScorer
from kaizen_core.orchestration.selection import STRATEGIES, Selector

__all__ = ["BlackboardPipeline"]

_DONE_FIELDS = ("done", "complete", "completed", "is_complete", "finished", "solved")
_REQUEST_FIELDS = ("next_step", "next_task", "next_request", "request", "needed", "query")


def _done(outputs: Mapping[str, Any]) -> bool:
    return any(outputs.get(k) is True for k in _DONE_FIELDS)


def _next_request(outputs: Mapping[str, Any]) -> str | None:
    return next((str(outputs[k]) for k in _REQUEST_FIELDS if isinstance(outputs.get(k), str) and outputs[k]), None)


class BlackboardPipeline(Pipeline):
    """``Pipeline.blackboard(specialists, controller, selection_mode="semantic", max_iterations=5)``."""

    pattern: ClassVar[str] = "blackboard"
    description: ClassVar[str] = "Blackboard: specialists contribute to a shared board until the controller is satisfied."
    result_fields: ClassVar[dict[str, Any]] = {
        "blackboard": list,
        "iterations": int,
        "converged": bool,
        "stop_reason": str,
        "scorer": str,
        "selection_mode": str,
    }

    def __init__(
        self,
        specialists: Sequence[BaseAgent],
        controller: BaseAgent,
        selection_mode: str = "semantic",
        max_iterations: int = 5,
        *,
        scorer: CapabilityScorer | None = None,
        embedding_provider: Any = None,
        **options: Any,
    ) -> None:
        self.specialists = check_agents(self.pattern, specialists, role="specialists")
        checked = check_agent(self.pattern, controller, "controller")
        assert checked is not None
        self.controller = checked
        self.selection_mode = check_choice(self.pattern, "selection_mode", selection_mode, STRATEGIES)
        if max_iterations < 1:
            raise WorkflowBuildError("blackboard: max_iterations must be at least 1")
        self.max_iterations = max_iterations
        self.selector = Selector(self.specialists, self.selection_mode, scorer=scorer, embedding_provider=embedding_provider)
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        return [self.controller, *self.specialists]

    def answer_agents(self) -> list[BaseAgent]:
        return [self.controller]

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self._require_text(inputs)
        return dict(inputs)

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        task = self._require_text(inputs)
        board: list[dict[str, Any]] = []
        asked: set[tuple[int, str]] = set()
        request, controller_outputs = task, {}
        converged, stop_reason, scorer = False, "max_iterations", None
        for iteration in range(self.max_iterations):
            selection = await run.decide(f"select-{iteration}", functools.partial(self.selector.select, request))
            scorer = selection["scorer"]
            scores = {entry["agent_id"]: entry["score"] for entry in selection["ranking"]}
            pick = next((i for i in selection["order"] if (i, request) not in asked), None)
            if pick is None:
                stop_reason = "exhausted"
                break
            asked.add((pick, request))
            specialist = self.specialists[pick]
            offered = {**inputs, "request": request, "blackboard": board or None, "context": board or None}
            outcome = await run.call(f"specialist-{iteration}", specialist, offered, text=request)
            entry = {"iteration": iteration, "specialist": outcome.agent, "request": request, "score": scores.get(specialist.agent_id)}
            entry.update({k: v for k, v in outcome.summary().items() if k not in ("agent", "agent_id")})
            board.append(entry)
            review = await run.call(
                f"controller-{iteration}",
                self.controller,
                {**inputs, "blackboard": board, "context": board, "iteration": iteration},
                text=task,
            )
            if not review.ok:
                review.raise_error()
            controller_outputs = review.outputs
            if _done(controller_outputs):
                converged, stop_reason = True, "done"
                break
            request = _next_request(controller_outputs) or task
        return {
            **controller_outputs,
            "blackboard": board,
            "iterations": len(board),
            "converged": converged,
            "stop_reason": stop_reason,
            "scorer": scorer,
            "selection_mode": self.selection_mode,
            "status": "success",
        }
