"""Supervisor-worker: the supervisor splits the task, each subtask goes to the best worker.

1. The supervisor agent (optional) runs on the pipeline's inputs. Its subtasks are its
   first list output among ``subtasks``, ``tasks``, ``plan``, ``steps`` (else its first list
   output); items are strings or dicts (their ``description``, ``task`` or ``name``). No
   supervisor, or no list, means one subtask: the task itself. At most ``max_subtasks``
   (default 10) are run; the rest are reported in ``dropped_subtasks``.
2. Each subtask is assigned with the shared selection (``selection_mode="semantic"``: the
   capability scorer, ``"round_robin"``: rotation; ``"capability"`` and ``"random"`` too)
   and run, one after the other. A worker gets the subtask as its task text, the pipeline's
   inputs by name, and, if its signature has a ``context`` input, the results of the
   earlier subtasks of this run. With a ``shared_pool`` (any mutable mapping) every result
   is also stored there under ``subtask-<n>``. A failing worker is reported; the others go on.
3. The coordinator (optional) gets the task and ``results`` (the list of subtask entries);
   its outputs are spread at the top level and are ``final_result``; without one
   ``final_result`` is the list of the workers' outputs.

Result: ``subtasks`` (``[{"subtask", "worker", "score", "status", "outputs" | "error"}]``),
``results`` (successful outputs), ``final_result``, ``dropped_subtasks``, ``scorer``,
``selection_mode`` and ``status`` (success / partial / failed).

:class:`SupervisorWorkerPattern` is the documented class form:
``pattern.supervisor.select_worker_for_task(task, available_workers, return_score=True)``
and ``pattern.execute_task(task)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, ClassVar

from kaizen_core._sync import run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.errors import WorkflowBuildError
from kaizen_core.orchestration.patterns.parallel import overall_status
from kaizen_core.orchestration.pipeline import Pipeline, PipelineRun, check_agent, check_agents, check_choice
from kaizen_core.orchestration.scoring import CapabilityScorer
from kaizen_core.orchestration.selection import STRATEGIES, Selector

__all__ = ["Supervisor", "SupervisorWorkerPattern", "SupervisorWorkerPipeline", "extract_subtasks"]

_SUBTASK_FIELDS = ("subtasks", "tasks", "plan", "steps")


def extract_subtasks(outputs: Mapping[str, Any]) -> list[str]:
    """The subtasks in a supervisor's outputs (see the module docstring); [] when there are none."""
    items = next((outputs[k] for k in _SUBTASK_FIELDS if isinstance(outputs.get(k), list)), None)
    if items is None:
        items = next((v for v in outputs.values() if isinstance(v, list)), [])
    found: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            text = next((item[k] for k in ("description", "task", "name") if item.get(k)), None)
            found.append(str(text) if text is not None else str(dict(item)))
        elif item is not None and str(item).strip():
            found.append(str(item))
    return found


class Supervisor:
    """``pattern.supervisor``: the supervisor agent (``.agent``) and worker selection."""

    def __init__(self, pattern: SupervisorWorkerPipeline) -> None:
        self._pattern = pattern
        self.agent = pattern.supervisor_agent
        self._others: dict[tuple[int, ...], Selector] = {}

    async def select_worker_for_task_async(
        self,
        task: str,
        available_workers: Sequence[BaseAgent] | None = None,
        return_score: bool = False,
    ) -> Any:
        """The worker for ``task`` among ``available_workers`` (default: the pattern's workers);
        with ``return_score`` ``{"worker": agent, "score": float}`` (score None for round-robin/random)."""
        pattern = self._pattern
        if available_workers is None:
            selector = pattern.selector
        else:
            workers = check_agents(pattern.pattern, available_workers, role="available_workers")
            key = tuple(id(w) for w in workers)
            selector = self._others.get(key) or self._others.setdefault(
                key, Selector(workers, pattern.selection_mode, scorer=pattern.selector.scorer)
            )
        selection = await selector.select(task)
        index = selection["order"][0]
        worker = selector.agents[index]
        if return_score:
            return {"worker": worker, "score": selection["ranking"][0]["score"]}
        return worker

    def select_worker_for_task(
        self,
        task: str,
        available_workers: Sequence[BaseAgent] | None = None,
        return_score: bool = False,
    ) -> Any:
        """Blocking :meth:`select_worker_for_task_async`."""
        return run_sync(lambda: self.select_worker_for_task_async(task, available_workers, return_score))

    def __getattr__(self, name: str) -> Any:
        # The supervisor agent's own API (run, signature, agent_id...) stays reachable.
        if name.startswith("_") or self.agent is None:
            raise AttributeError(name)
        return getattr(self.agent, name)


class SupervisorWorkerPipeline(Pipeline):
    """``Pipeline.supervisor_worker(supervisor, workers, selection_mode="semantic")``."""

    pattern: ClassVar[str] = "supervisor_worker"
    description: ClassVar[str] = "Supervisor-worker: subtasks go to the workers whose capabilities match them."
    result_fields: ClassVar[dict[str, Any]] = {
        "subtasks": list,
        "results": list,
        "final_result": Any,
        "dropped_subtasks": list,
        "scorer": str,
        "selection_mode": str,
    }

    def __init__(
        self,
        supervisor: BaseAgent | None,
        workers: Sequence[BaseAgent],
        selection_mode: str = "semantic",
        coordinator: BaseAgent | None = None,
        shared_pool: MutableMapping[str, Any] | None = None,
        *,
        max_subtasks: int = 10,
        scorer: CapabilityScorer | None = None,
        embedding_provider: Any = None,
        **options: Any,
    ) -> None:
        self.supervisor_agent = check_agent(self.pattern, supervisor, "supervisor", optional=True)
        self.workers = check_agents(self.pattern, workers, role="workers")
        self.selection_mode = check_choice(self.pattern, "selection_mode", selection_mode, STRATEGIES)
        self.coordinator = check_agent(self.pattern, coordinator, "coordinator", optional=True)
        if shared_pool is not None and not isinstance(shared_pool, MutableMapping):
            raise WorkflowBuildError("supervisor_worker: shared_pool must be a mutable mapping (a dict)")
        if max_subtasks < 1:
            raise WorkflowBuildError("supervisor_worker: max_subtasks must be at least 1")
        self.shared_pool = shared_pool
        self.max_subtasks = max_subtasks
        self.selector = Selector(self.workers, self.selection_mode, scorer=scorer, embedding_provider=embedding_provider)
        self.supervisor = Supervisor(self)
        super().__init__(**options)

    def agents_in_order(self) -> list[BaseAgent]:
        roles = [a for a in (self.supervisor_agent, self.coordinator) if a is not None]
        return [*roles, *self.workers]

    def entry_agents(self) -> list[BaseAgent]:
        return [self.supervisor_agent] if self.supervisor_agent is not None else list(self.workers)

    def answer_agents(self) -> list[BaseAgent]:
        return [self.coordinator] if self.coordinator is not None else []

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self._require_text(inputs)
        return dict(inputs)

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        task = self._require_text(inputs)
        subtasks = [task]
        if self.supervisor_agent is not None:
            plan = await run.call("supervisor", self.supervisor_agent, inputs, text=task)
            if not plan.ok:
                plan.raise_error()
            subtasks = extract_subtasks(plan.outputs) or [task]
        dropped = subtasks[self.max_subtasks :]
        entries: list[dict[str, Any]] = []
        scorer = None
        for number, subtask in enumerate(subtasks[: self.max_subtasks]):
            choice = await run.decide(f"assign-{number}", functools.partial(self.selector.select, subtask))
            scorer = choice["scorer"]
            worker = self.workers[choice["order"][0]]
            earlier = [e for e in entries if e["status"] == "success"]
            offered = {**inputs, "task": subtask, "context": earlier or None}
            outcome = await run.call(f"subtask-{number}", worker, offered, text=subtask)
            entry = {"subtask": subtask, "worker": outcome.agent, "score": choice["ranking"][0]["score"], **outcome.summary()}
            entry.pop("agent", None)
            entries.append(entry)
            if outcome.ok and self.shared_pool is not None:
                self.shared_pool[f"subtask-{number}"] = {"subtask": subtask, "worker": outcome.agent, "outputs": outcome.outputs}
        results = [e["outputs"] for e in entries if e["status"] == "success"]
        result: dict[str, Any] = {
            "subtasks": entries,
            "results": results,
            "final_result": results,
            "dropped_subtasks": dropped,
            "scorer": scorer,
            "selection_mode": self.selection_mode,
        }
        if self.coordinator is not None:
            summary = await run.call("coordinator", self.coordinator, {**inputs, "results": entries, "context": entries}, text=task)
            if not summary.ok:
                summary.raise_error()
            result = {**summary.outputs, **result, "final_result": summary.outputs}
        result["status"] = overall_status(len(results), len(entries))
        return result

    # --- the documented class API -------------------------------------------------------------
    async def execute_task_async(self, task: str, **inputs: Any) -> dict[str, Any]:
        """Run the pattern on ``task``."""
        return await self.run_async(task=task, **inputs)

    def execute_task(self, task: str, **inputs: Any) -> dict[str, Any]:
        """Blocking :meth:`execute_task_async`."""
        return self.run(task=task, **inputs)


class SupervisorWorkerPattern(SupervisorWorkerPipeline):
    """``SupervisorWorkerPattern(supervisor, workers, coordinator=None, shared_pool=None)`` (the documented class)."""

    def __init__(
        self,
        supervisor: BaseAgent | None,
        workers: Sequence[BaseAgent],
        coordinator: BaseAgent | None = None,
        shared_pool: MutableMapping[str, Any] | None = None,
        selection_mode: str = "semantic",
        **options: Any,
    ) -> None:
        super().__init__(supervisor, workers, selection_mode, coordinator, shared_pool, **options)
