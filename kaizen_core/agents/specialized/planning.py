"""PlanningAgent: plan, validate the plan before anything runs, execute it step by step.

    agent = PlanningAgent(PlanningConfig(max_plan_steps=5, validation_mode="strict", enable_replanning=True))
    result = agent.run(task="Create research report", context={"length": "2000 words"})
    result["plan"]               # [{"step": 1, "action": "...", "description": "...", "inputs": ...}, ...]
    result["validation_result"]  # {"valid": True, "issues": [], "warnings": []}
    result["execution_results"]  # [{"step": 1, "status": "completed", "output": "..."}, ...]
    result["final_result"]       # the synthesized result

Phases, all model calls of the one run (``_meta`` sums them; the budget is checked before
each): PLAN (1 call), VALIDATE (structural checks, then 1 call judging feasibility;
``validation_mode="off"`` skips both), EXECUTE (1 call per step), SYNTHESIZE (1 call).

Validation modes: ``strict`` rejects an invalid plan and replans with the issues shown
(``enable_replanning``, at most ``max_replanning_attempts`` times), and raises AGENT_005
when no valid plan comes out; ``warn`` records the issues as warnings and executes;
``off`` executes without validating.

``plan`` is a list of step dicts (api-reference); it also answers ``plan["steps"]`` with
itself, the form advanced-patterns Pattern 1 iterates (``step["description"]``, ``step.get("inputs")``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, SupportsIndex, overload

from pydantic import BaseModel, Field

from kaizen_core.agents.specialized._common import SpecializedAgent, ask_phase, start_conversation
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import ConvergenceError
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun

__all__ = ["Plan", "PlanningAgent", "PlanningConfig", "PlanningSignature", "PlanningStrategy"]


class PlanningConfig(BaseAgentConfig):
    """Configuration of :class:`PlanningAgent`."""

    max_plan_steps: int = Field(5, gt=0, description="Most steps a plan may have")
    validation_mode: Literal["strict", "warn", "off"] = "strict"
    enable_replanning: bool = True
    max_replanning_attempts: int = Field(3, ge=0)
    plan_format: Literal["structured", "narrative"] = "structured"
    temperature: float | None = Field(0.2, ge=0.0, le=2.0)


class PlanningSignature(Signature):
    """Plan the task as a short list of concrete steps, check the plan, execute it step by step and report the result."""

    task: str = InputField(description="The task to plan and execute")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    plan: list[dict[str, Any]] = OutputField(description="The steps: step, action, description, inputs")
    validation_result: dict[str, Any] = OutputField(description="valid, issues, warnings")
    execution_results: list[dict[str, Any]] = OutputField(description="Per step: step, status, output")
    final_result: str = OutputField(description="The result of the task")


class PlanStep(BaseModel):
    action: str = Field(description="What the step does, as an imperative sentence")
    inputs: str | None = Field(None, description="What the step needs, if anything")


class _MakePlan(Signature):
    """Break the task into a few concrete, ordered steps. Use at most max_steps steps."""

    task: str = InputField(description="The task")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    max_steps: int = InputField(description="Most steps allowed")
    style: str = InputField(description="How to write the steps")
    issues: list[str] = InputField(description="Problems of an earlier plan to avoid", default=[])
    steps: list[PlanStep] = OutputField(description="The steps, in order")


class _CheckPlan(Signature):
    """Check whether the plan can accomplish the task before it is executed. List real problems only."""

    task: str = InputField(description="The task")
    plan: list[str] = InputField(description="The planned steps")
    feasible: bool = OutputField(description="Whether the plan accomplishes the task")
    issues: list[str] = OutputField(description="Problems that make the plan fail (empty if none)")


class _RunStep(Signature):
    """Carry out this step of the plan. Use the results of the earlier steps."""

    task: str = InputField(description="The overall task")
    step: str = InputField(description="The step to carry out now")
    previous_results: list[str] = InputField(description="Outputs of the earlier steps", default=[])
    result: str = OutputField(description="The result of this step")


class _Synthesize(Signature):
    """Combine the step results into the final result of the task."""

    task: str = InputField(description="The task")
    step_results: list[str] = InputField(description="The outputs of the steps, in order")
    final_result: str = OutputField(description="The final result")


class Plan(list[dict[str, Any]]):
    """A list of step dicts that also answers ``plan["steps"]`` (itself), as advanced-patterns uses it."""

    @overload
    def __getitem__(self, key: SupportsIndex) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, key: slice) -> list[dict[str, Any]]: ...
    @overload
    def __getitem__(self, key: str) -> list[dict[str, Any]]: ...
    def __getitem__(self, key: Any) -> Any:
        if key == "steps":
            return self
        return super().__getitem__(key)


def check_structure(steps: list[dict[str, Any]], max_steps: int) -> list[str]:
    """The plan's structural problems: empty, too long, a step without an action, repeated steps."""
    issues = []
    if not steps:
        issues.append("the plan has no steps")
    if len(steps) > max_steps:
        issues.append(f"the plan has {len(steps)} steps; at most {max_steps} are allowed")
    actions = [str(s.get("action", "")).strip() for s in steps]
    if any(not a for a in actions):
        issues.append("a step has no action")
    if len({a.lower() for a in actions if a}) < len([a for a in actions if a]):
        issues.append("the plan repeats a step")
    return issues


class PlanningStrategy:
    """PLAN -> VALIDATE (-> replan) -> EXECUTE -> SYNTHESIZE, inside one run."""

    name = "planning"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        cfg: PlanningConfig = run.config  # type: ignore[assignment]
        start_conversation(run, PlanningSignature.instructions())
        task, context = run.inputs["task"], run.inputs.get("context") or {}
        style = (
            "one short imperative sentence per step"
            if cfg.plan_format == "structured"
            else "a descriptive sentence or two per step, saying why it is needed"
        )
        issues: list[str] = []
        replans = 0
        while True:
            made = await ask_phase(
                run, _MakePlan, task=task, context=context, max_steps=cfg.max_plan_steps, style=style, issues=issues
            )
            steps = [
                {"step": i, "action": s.action, "description": s.action, "inputs": s.inputs}
                for i, s in enumerate(made["steps"], start=1)
            ]
            validation = await self._validate(run, cfg, task, steps)
            run.extra["planning"] = {"plan": steps, "validation_result": validation, "replans": replans}
            if validation["valid"] or cfg.validation_mode != "strict":
                break
            issues = validation["issues"]
            if not cfg.enable_replanning or replans >= cfg.max_replanning_attempts:
                raise ConvergenceError(
                    f"no valid plan after {replans + 1} attempt(s): {'; '.join(issues)}",
                    hint="raise max_plan_steps or max_replanning_attempts, or use validation_mode='warn'",
                    details={"plan": steps, "validation_result": validation},
                )
            replans += 1
        results: list[dict[str, Any]] = []
        for step in steps[: cfg.max_plan_steps]:
            done = await ask_phase(
                run, _RunStep, task=task, step=step["action"], previous_results=[r["output"] for r in results]
            )
            results.append(
                {"step": step["step"], "action": step["action"], "status": "completed", "output": done["result"]}
            )
            run.raise_if_interrupted()
        final = await ask_phase(run, _Synthesize, task=task, step_results=[r["output"] for r in results])
        return {
            "plan": steps,
            "validation_result": validation,
            "execution_results": results,
            "final_result": final["final_result"],
            "replanning_attempts": replans,
        }

    async def _validate(
        self, run: AgentRun, cfg: PlanningConfig, task: str, steps: list[dict[str, Any]]
    ) -> dict[str, Any]:
        if cfg.validation_mode == "off":
            return {"valid": True, "issues": [], "warnings": [], "mode": "off"}
        problems = check_structure(steps, cfg.max_plan_steps)
        if not problems:
            checked = await ask_phase(run, _CheckPlan, task=task, plan=[s["action"] for s in steps])
            problems = list(checked["issues"]) if not checked["feasible"] else []
            if not checked["feasible"] and not problems:
                problems = ["the plan does not accomplish the task"]
        if cfg.validation_mode == "warn":
            return {"valid": True, "issues": [], "warnings": problems, "mode": "warn"}
        return {"valid": not problems, "issues": problems, "warnings": [], "mode": "strict"}


class PlanningAgent(SpecializedAgent):
    """Plan -> Validate -> Execute: ``plan``, ``validation_result``, ``execution_results``, ``final_result``."""

    config_class: ClassVar[type[BaseAgentConfig]] = PlanningConfig
    signature_class = PlanningSignature

    def default_strategy(self) -> PlanningStrategy:
        return PlanningStrategy()

    async def run_async(self, session_id: str | None = None, **inputs: Any) -> dict[str, Any]:
        result = await super().run_async(session_id=session_id, **inputs)
        result["plan"] = Plan(result["plan"])
        return result
