"""ToTAgent: generate several alternative reasoning paths, score them, execute the best.

    agent = ToTAgent(ToTAgentConfig(num_paths=5, temperature=0.9, evaluation_criteria="quality",
                                    parallel_execution=True))
    result = agent.run(task="Strategic decision: choose go-to-market strategy")
    result["paths"]          # [{"path": 1, "approach": ..., "reasoning": [...], "score": 0.8, "evaluation": ...}, ...]
    result["scores"]         # [0.8, 0.6, ...]
    result["selected_path"]  # the best path (highest score; the first of equals)
    result["final_result"]

Calls inside the one run: ``num_paths`` GENERATE calls (at the config's ``temperature``,
high for diversity), ``num_paths`` EVALUATE calls (each path scored from 0 to 1 against
``evaluation_criteria``), one EXECUTE call for the selected path. With
``parallel_execution`` the generate and the evaluate calls each run concurrently, as
branches that do not see each other (the budget is shared and checked before every call);
without it they run in turn, and each new path is asked to differ from the ones before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kaizen_core.agents.specialized._common import SpecializedAgent, ask_branches, ask_phase, start_conversation
from kaizen_core.config import BaseAgentConfig
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun

__all__ = ["ToTAgent", "ToTAgentConfig", "ToTConfig", "ToTSignature", "ToTStrategy"]


class ToTAgentConfig(BaseAgentConfig):
    """Configuration of :class:`ToTAgent`."""

    num_paths: int = Field(3, gt=0, le=20, description="Alternative paths to generate")
    temperature: float | None = Field(0.9, ge=0.0, le=2.0, description="High for diverse paths")
    evaluation_criteria: str = Field("quality", description="What the paths are scored on")
    parallel_execution: bool = True


ToTConfig = ToTAgentConfig


class ToTSignature(Signature):
    """Explore several different approaches to the task, judge each one, and carry out the best."""

    task: str = InputField(description="The task or decision")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    paths: list[dict[str, Any]] = OutputField(description="The alternatives: path, approach, reasoning, score")
    scores: list[float] = OutputField(description="The score of each path")
    selected_path: dict[str, Any] = OutputField(description="The best path")
    final_result: str = OutputField(description="The result of executing the best path")


class _Generate(Signature):
    """Propose one distinct approach to the task and reason it through in a few steps.
    It must differ from the approaches listed as already proposed."""

    task: str = InputField(description="The task")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    path_number: int = InputField(description="Which alternative this is")
    already_proposed: list[str] = InputField(description="Approaches proposed so far", default=[])
    approach: str = OutputField(description="The approach, in one sentence")
    reasoning: list[str] = OutputField(description="The reasoning steps of this approach")


class _Evaluate(Signature):
    """Score the approach for the task on the given criteria, from 0 (useless) to 1 (excellent)."""

    task: str = InputField(description="The task")
    approach: str = InputField(description="The approach to score")
    reasoning: list[str] = InputField(description="Its reasoning")
    criteria: str = InputField(description="What to score it on")
    score: float = OutputField(description="The score, from 0 to 1")
    evaluation: str = OutputField(description="Why, briefly")


class _Execute(Signature):
    """Carry out the chosen approach and give the complete result of the task."""

    task: str = InputField(description="The task")
    approach: str = InputField(description="The chosen approach")
    reasoning: list[str] = InputField(description="Its reasoning")
    result: str = OutputField(description="The result")


class ToTStrategy:
    """GENERATE x N -> EVALUATE x N -> SELECT -> EXECUTE, inside one run."""

    name = "tree_of_thoughts"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        cfg: ToTAgentConfig = run.config  # type: ignore[assignment]
        start_conversation(run, ToTSignature.instructions())
        task, context = run.inputs["task"], run.inputs.get("context") or {}
        if cfg.parallel_execution:
            generate = [{"task": task, "context": context, "path_number": n} for n in range(1, cfg.num_paths + 1)]
            made = await ask_branches(run, _Generate, generate, parallel=True)
        else:
            made = []
            for n in range(1, cfg.num_paths + 1):
                proposed = [m["approach"] for m in made]
                made.append(
                    await ask_phase(
                        run, _Generate, task=task, context=context, path_number=n, already_proposed=proposed
                    )
                )
        run.raise_if_interrupted()
        evaluate = [
            {"task": task, "approach": m["approach"], "reasoning": m["reasoning"], "criteria": cfg.evaluation_criteria}
            for m in made
        ]
        judged = await ask_branches(run, _Evaluate, evaluate, parallel=cfg.parallel_execution)
        paths = [
            {
                "path": n,
                "approach": m["approach"],
                "reasoning": m["reasoning"],
                "score": min(1.0, max(0.0, float(j["score"]))),
                "evaluation": j["evaluation"],
            }
            for n, (m, j) in enumerate(zip(made, judged, strict=True), start=1)
        ]
        best = max(paths, key=lambda p: p["score"])  # max keeps the first of equal scores
        run.raise_if_interrupted()
        done = await ask_phase(run, _Execute, task=task, approach=best["approach"], reasoning=best["reasoning"])
        return {
            "paths": paths,
            "scores": [p["score"] for p in paths],
            "selected_path": best,
            "final_result": done["result"],
        }


class ToTAgent(SpecializedAgent):
    """Tree of thoughts: ``paths``, ``scores``, ``selected_path``, ``final_result``."""

    config_class: ClassVar[type[BaseAgentConfig]] = ToTAgentConfig
    signature_class = ToTSignature

    def default_strategy(self) -> ToTStrategy:
        return ToTStrategy()
