"""Parallel: every agent gets the same inputs and runs concurrently.

At most ``max_workers`` children run at any moment (the others wait for a slot, in the
order given); each has ``timeout`` seconds (None: no limit). A child past its timeout is
asked to stop gracefully (it leaves its checkpoint when it has a store), reported in
``timed_out`` and its slot freed; the others' results are kept. A failing child is
reported with its error; it never cancels its siblings.

Children share nothing but the pipeline's inputs (no child sees another's output). The
``aggregator`` sees every successful output: a function ``(outputs: list[dict]) -> Any``
(sync or async), whose return value is ``aggregated``, or an agent, given ``results``
(the list of outputs) and the pipeline's inputs, whose outputs are ``aggregated`` and
also spread at the top level.

Result: ``results`` (per agent in the order given: ``agent``, ``agent_id``, ``status``
``success``/``failed``/``timeout``/``interrupted``, ``outputs`` or ``error``),
``timed_out`` and ``failed`` (agent names), ``succeeded`` (count), ``aggregated``, and
``status``: ``success`` (all succeeded), ``partial`` or ``failed`` (none did).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, check_agents, primary_text

__all__ = ["ParallelPipeline", "overall_status"]


def overall_status(succeeded: int, total: int) -> str:
    """``success`` when all succeeded, ``partial`` when some did, ``failed`` when none did."""
    return "success" if succeeded == total else "partial" if succeeded else "failed"


class ParallelPipeline(Pipeline):
    """``Pipeline.parallel(agents=[...], aggregator=None, max_workers=5, timeout=30)``."""

    pattern: ClassVar[str] = "parallel"
    description: ClassVar[str] = "Parallel pipeline: every agent works on the same inputs concurrently."
    result_fields: ClassVar[dict[str, Any]] = {
        "results": list,
        "timed_out": list,
        "failed": list,
        "succeeded": int,
        "aggregated": Any,
    }

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        aggregator: Any = None,
        max_workers: int = 5,
        timeout: float | None = 30,
        **options: Any,
    ) -> None:
        self.agents = check_agents(self.pattern, agents)
        if aggregator is not None and not isinstance(aggregator, BaseAgent) and not callable(aggregator):
            raise WorkflowBuildError("parallel: aggregator must be an agent or a function of the list of outputs")
        if max_workers < 1:
            raise WorkflowBuildError("parallel: max_workers must be at least 1")
        if timeout is not None and timeout <= 0:
            raise WorkflowBuildError("parallel: timeout must be positive (or None for no limit)")
        self.aggregator = aggregator
        self.max_workers = max_workers
        self.timeout = timeout
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        extra = [self.aggregator] if isinstance(self.aggregator, BaseAgent) else []
        return [*self.agents, *extra]

    def entry_agents(self) -> list[BaseAgent]:
        return list(self.agents)

    def answer_agents(self) -> list[BaseAgent]:
        return [self.aggregator] if isinstance(self.aggregator, BaseAgent) else []

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        text = primary_text(inputs)
        outcomes = await run.call_many(
            [(f"agent-{i}", agent, inputs, text) for i, agent in enumerate(self.agents)],
            max_workers=self.max_workers,
            timeout=self.timeout,
        )
        succeeded = [o for o in outcomes if o.ok]
        result: dict[str, Any] = {
            "results": [o.summary() for o in outcomes],
            "timed_out": [o.agent for o in outcomes if o.status == "timeout"],
            "failed": [o.agent for o in outcomes if o.status in ("failed", "interrupted")],
            "succeeded": len(succeeded),
            "aggregated": None,
        }
        outputs = [o.outputs for o in succeeded]
        if isinstance(self.aggregator, BaseAgent):
            aggregate = await run.call("aggregator", self.aggregator, {**inputs, "results": outputs}, text=text)
            if not aggregate.ok:
                aggregate.raise_error()
            result = {**aggregate.outputs, **result, "aggregated": aggregate.outputs}
        elif self.aggregator is not None and outputs:
            value = self.aggregator(outputs)
            result["aggregated"] = await value if inspect.isawaitable(value) else value
        result["status"] = overall_status(len(succeeded), len(outcomes))
        return result
