"""MetaController: route each task to the best agent, over A2A capability cards.

    controller = MetaController(
        agents=[code_agent, data_agent, writing_agent],
        selection_strategy="semantic",     # semantic | round_robin | random | capability
        fallback_strategy="round_robin",   # round_robin | all | fail | default
        enable_load_balancing=True,
    )
    result = controller.route_task("Analyze sales data and create visualization",
                                   context={"data_source": "database"})
    result["selected_agent"], result["score"], result["ranking"]

A MetaController is a router pipeline (:mod:`kaizen_core.orchestration.patterns.router`)
with the MetaController's names: one selection, scoring and fallback implementation. The
task goes to the chosen agent as ``task`` (or its first required text input) and
``context`` goes to it when its signature has a ``context`` input.

Fallback strategies, for a task no agent matches (best score not above ``min_score``) and
for a chosen agent that fails: ``round_robin`` (the next agent in rotation, up to
``max_retries`` more), ``all`` (every agent in ranking order until one succeeds),
``fail`` (raise: :class:`~kaizen_core.orchestration.selection.NoAgentMatchedError`,
EXEC_003, or the agent's error), ``default`` (``default_agent``, else the first agent).
With ``enable_load_balancing`` equal scores are broken by runs in flight, then cost spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kaizen_core._sync import run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.orchestration.patterns.router import RouterPipeline
from kaizen_core.orchestration.pipeline import Pipeline, check_choice

__all__ = ["MetaController", "Pipeline"]  # Pipeline: the original docs import it from here too


class MetaController:
    """Routes tasks to agents; see the module docstring."""

    def __init__(
        self,
        agents: Sequence[BaseAgent],
        selection_strategy: str = "semantic",
        fallback_strategy: str = "round_robin",
        enable_load_balancing: bool = False,
        *,
        default_agent: BaseAgent | None = None,
        max_retries: int = 3,
        min_score: float = 0.0,
        embedding_provider: Any = None,
        **options: Any,
    ) -> None:
        fallback = check_choice("meta_controller", "fallback_strategy", fallback_strategy, ("round_robin", "all", "fail", "default"))
        self.router = RouterPipeline(
            agents,
            routing_strategy=selection_strategy,
            error_handling="fail-fast" if fallback == "fail" else "graceful",
            fallback_agent=default_agent,
            max_retries=max_retries,
            fallback_strategy=fallback,
            enable_load_balancing=enable_load_balancing,
            min_score=min_score,
            embedding_provider=embedding_provider,
            **options,
        )
        self.selection_strategy = self.router.routing_strategy
        self.fallback_strategy = fallback
        self.enable_load_balancing = enable_load_balancing

    @property
    def agents(self) -> list[BaseAgent]:
        return list(self.router.agents)

    async def route_task_async(self, task: str, context: Mapping[str, Any] | None = None, **inputs: Any) -> dict[str, Any]:
        """Route ``task`` and run the chosen agent: its result plus ``selected_agent``, ``score``
        (its score in [0, 1], None for round-robin/random), ``ranking`` and ``scorer``."""
        values = {"task": task, **inputs}
        if context is not None:
            values["context"] = dict(context)
        result = await self.router.run_async(**values)
        result["score"] = result.get("confidence_score")
        return result

    def route_task(self, task: str, context: Mapping[str, Any] | None = None, **inputs: Any) -> dict[str, Any]:
        """Blocking :meth:`route_task_async` (its result refuses to be awaited, like ``agent.run()``'s)."""
        from kaizen_core.agents.results import RunResult

        return RunResult(run_sync(lambda: self.route_task_async(task, context, **inputs)))

    async def rank_async(self, task: str) -> list[dict[str, Any]]:
        """Every agent's score for ``task``, best first, without running any of them."""
        selection = await self.router.selector.select(task)
        ranking: list[dict[str, Any]] = selection["ranking"]
        return ranking

    def rank(self, task: str) -> list[dict[str, Any]]:
        """Blocking :meth:`rank_async`."""
        return run_sync(self.rank_async, task)

    def to_agent(self, name: str | None = None) -> BaseAgent:
        """The controller as an agent (its router pipeline's agent)."""
        return self.router.to_agent(name)

    def __repr__(self) -> str:
        return f"MetaController(agents={len(self.agents)}, selection_strategy={self.selection_strategy!r}, fallback_strategy={self.fallback_strategy!r})"
