"""PEVAgent: plan, execute, verify, refine until verified (or out of iterations).

    agent = PEVAgent(PEVAgentConfig(max_iterations=5, verification_strictness="medium",
                                    enable_error_recovery=True, early_stop_threshold=0.9))
    result = agent.run(task="Generate Python code with passing tests")
    result["refinements"]   # [{"iteration": 1, "issue": "...", "fix": "..."}, ...]
    result["verification"]  # {"passed": True, "confidence": 0.92, "issues_found": [...], "issues_fixed": 2}
    result["final_result"]

Each iteration is one EXECUTE call (the first follows the PLAN call, later ones refine the
previous result with the verifier's issues) and one VERIFY call, inside the one run. The
verifier rates its confidence and lists issues with a severity; which severities block
depends on ``verification_strictness``: ``high`` (also ``strict``) every issue, ``medium``
critical and major ones, ``low`` (also ``lenient``) critical ones only. The loop stops when
nothing blocks and the confidence reaches ``early_stop_threshold`` (``min_confidence_threshold``
in the api-reference), else after ``max_iterations``; ``verification["passed"]`` says which.

``enable_error_recovery``: an iteration whose model reply never validates (AGENT_006) is
recorded as a refinement and the loop goes on from the last good result; without it the
error ends the run. Budget and interrupts always end the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from kaizen_core.agents.specialized._common import SpecializedAgent, ask_phase, start_conversation
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import OutputValidationError
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun

__all__ = ["PEVAgent", "PEVAgentConfig", "PEVConfig", "PEVSignature", "PEVStrategy"]

_STRICTNESS = {"strict": "high", "lenient": "low"}
_BLOCKING = {"high": {"critical", "major", "minor"}, "medium": {"critical", "major"}, "low": {"critical"}}


class PEVAgentConfig(BaseAgentConfig):
    """Configuration of :class:`PEVAgent` (``PEVConfig`` is the same class)."""

    #: documented spellings read as these fields
    aliases: ClassVar[dict[str, str]] = {"min_confidence_threshold": "early_stop_threshold"}

    max_iterations: int = Field(5, gt=0, description="Most execute/verify iterations")
    verification_strictness: Literal["low", "medium", "high"] = "medium"
    enable_error_recovery: bool = True
    early_stop_threshold: float = Field(0.9, ge=0.0, le=1.0, description="Stop once verified with this confidence")
    temperature: float | None = Field(0.2, ge=0.0, le=2.0)

    @model_validator(mode="before")
    @classmethod
    def _documented_spellings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "min_confidence_threshold" in data:
                data.setdefault("early_stop_threshold", data.pop("min_confidence_threshold"))
            level = data.get("verification_strictness")
            if isinstance(level, str):
                data["verification_strictness"] = _STRICTNESS.get(level, level)
        return data


PEVConfig = PEVAgentConfig


class PEVSignature(Signature):
    """Plan the task, execute the plan, verify the result critically and refine it until it is right."""

    task: str = InputField(description="The task")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    plan: list[str] = OutputField(description="The plan the result was produced from")
    refinements: list[dict[str, Any]] = OutputField(description="Per refinement: iteration, issue, fix")
    verification: dict[str, Any] = OutputField(description="passed, confidence, issues_found, issues_fixed")
    final_result: str = OutputField(description="The verified result")


class Issue(BaseModel):
    issue: str = Field(description="What is wrong")
    severity: Literal["critical", "major", "minor"] = Field(description="How much it matters")


class _Plan(Signature):
    """Write a short plan for the task: the steps to produce the result."""

    task: str = InputField(description="The task")
    context: dict[str, Any] = InputField(description="Constraints and background", default={})
    plan: list[str] = OutputField(description="The steps")


class _Execute(Signature):
    """Produce the complete result of the task by following the plan."""

    task: str = InputField(description="The task")
    plan: list[str] = InputField(description="The plan")
    result: str = OutputField(description="The complete result")


class _Verify(Signature):
    """Verify the result against the task. List every problem with its severity; rate your confidence that the
    result is correct and complete."""

    task: str = InputField(description="The task")
    result: str = InputField(description="The result to verify")
    issues: list[Issue] = OutputField(description="Problems found (empty if none)")
    confidence: float = OutputField(description="Confidence that the result is correct, from 0 to 1")


class _Refine(Signature):
    """Fix the issues in the result. Return the whole corrected result and say what you changed."""

    task: str = InputField(description="The task")
    result: str = InputField(description="The current result")
    issues: list[str] = InputField(description="The problems to fix")
    result_fixed: str = OutputField(description="The complete corrected result")
    fix: str = OutputField(description="What was changed")


class PEVStrategy:
    """PLAN -> (EXECUTE | REFINE) -> VERIFY, repeated, inside one run."""

    name = "pev"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        cfg: PEVAgentConfig = run.config  # type: ignore[assignment]
        start_conversation(run, PEVSignature.instructions())
        task, context = run.inputs["task"], run.inputs.get("context") or {}
        plan = (await ask_phase(run, _Plan, task=task, context=context))["plan"]
        blocking_levels = _BLOCKING[cfg.verification_strictness]
        refinements: list[dict[str, Any]] = []
        result: str | None = None
        issues: list[Issue] = []
        confidence = 0.0
        passed = False
        issues_fixed = 0
        for iteration in range(1, cfg.max_iterations + 1):
            blocking = [i.issue for i in issues if i.severity in blocking_levels]
            try:
                if result is None:
                    result = (await ask_phase(run, _Execute, task=task, plan=plan))["result"]
                else:
                    refined = await ask_phase(run, _Refine, task=task, result=result, issues=blocking)
                    result = refined["result_fixed"]
                    refinements.append({"iteration": iteration, "issue": "; ".join(blocking), "fix": refined["fix"]})
                    issues_fixed += len(blocking)
                verified = await ask_phase(run, _Verify, task=task, result=result)
            except OutputValidationError as exc:
                if not cfg.enable_error_recovery:
                    raise
                refinements.append({"iteration": iteration, "issue": exc.message, "fix": None, "error_code": exc.code})
                run.invalid_outputs = 0  # a fresh retry allowance for the next iteration
                continue
            issues, confidence = verified["issues"], float(verified["confidence"])
            passed = not any(i.severity in blocking_levels for i in issues)
            run.raise_if_interrupted()
            if passed and confidence >= cfg.early_stop_threshold:
                break
        return {
            "plan": plan,
            "refinements": refinements,
            "verification": {
                "passed": passed,
                "confidence": confidence,
                "issues_found": [i.issue for i in issues],
                "issues_fixed": issues_fixed,
                "strictness": cfg.verification_strictness,
            },
            "final_result": result or "",
        }


class PEVAgent(SpecializedAgent):
    """Plan -> Execute -> Verify -> Refine: ``refinements``, ``verification``, ``final_result``."""

    config_class: ClassVar[type[BaseAgentConfig]] = PEVAgentConfig
    signature_class = PEVSignature

    def default_strategy(self) -> PEVStrategy:
        return PEVStrategy()
