"""CodeGenerationAgent: code and its tests for a task; optionally runs the tests.

    agent = CodeGenerationAgent(CodeConfig(llm_provider="openai"))
    result = agent.generate("Write a function that reverses a string")
    result["code"], result["tests"], result["explanation"]

Running the tests is off by default and takes three explicit opt-ins, because it runs
model-written code:

    agent = CodeGenerationAgent(CodeConfig(
        execute_tests=True,
        allowed_commands=["python"],                 # python is not on bash_command's default allowlist
        permission_rules=[{"pattern": "bash_command", "permission_type": "allow"}],  # or approve via a control protocol
    ))
    result["test_results"]   # {"passed": bool, "exit_code": 0, "output": "...", "command": "..."}

The code and tests are written to ``solution.py`` / ``test_solution.py`` (names by
``language``) in a fresh directory of the workspace (``workspace_root``, default the
current directory), and ``test_command`` runs there through ``bash_command``: the
agent's permission gate (a HIGH tool: denied unless a rule or an approval allows it),
no shell, a scrubbed environment, the workspace confinement and the timeout. This is a
policy on the command line, not an operating-system sandbox (docs/tools.md): the tests
themselves can do whatever the interpreter can.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kaizen_core.agents.results import RunResult
from kaizen_core.agents.specialized._common import SpecializedAgent, ask_phase, start_conversation
from kaizen_core.config import BaseAgentConfig
from kaizen_core.providers.types import ToolCall
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun

__all__ = ["CodeConfig", "CodeGenerationAgent", "CodeGenerationSignature", "CodeGenerationStrategy"]

_EXTENSIONS = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "rust": "rs", "bash": "sh"}


class CodeConfig(BaseAgentConfig):
    """Configuration of :class:`CodeGenerationAgent`."""

    language: str = "python"
    execute_tests: bool = Field(False, description="Run the generated tests (see the module docstring)")
    test_command: str = Field("python -m pytest -q test_solution.py", description="Run in the tests' directory")
    allowed_commands: list[str] = Field(
        default_factory=list, description="Programs added to bash_command's allowlist for the test run"
    )
    test_timeout: float = Field(60.0, gt=0, description="Seconds the test run may take")
    temperature: float | None = Field(0.2, ge=0.0, le=2.0)


class CodeGenerationSignature(Signature):
    """Write correct, readable code for the task, with unit tests."""

    task: str = InputField(description="Coding task description")
    language: str = InputField(description="Programming language", default="")
    code: str = OutputField(description="Generated code")
    tests: str = OutputField(description="Unit tests")
    explanation: str = OutputField(description="How the code works")


class _Write(Signature):
    """Write the code for the task and unit tests for it. The tests import the code from the module named solution."""

    task: str = InputField(description="The task")
    language: str = InputField(description="The programming language")
    code: str = OutputField(description="The complete code")
    tests: str = OutputField(description="The complete unit tests")
    explanation: str = OutputField(description="How the code works, briefly")


class CodeGenerationStrategy:
    """WRITE (one call) -> optionally RUN the tests through bash_command."""

    name = "code_generation"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        cfg: CodeConfig = run.config  # type: ignore[assignment]
        start_conversation(run, CodeGenerationSignature.instructions())
        language = run.inputs.get("language") or cfg.language
        written = await ask_phase(run, _Write, task=run.inputs["task"], language=language)
        outputs = {**written}
        if cfg.execute_tests:
            outputs["test_results"] = await _run_tests(run, cfg, language, written["code"], written["tests"])
        return outputs


async def _run_tests(run: AgentRun, cfg: CodeConfig, language: str, code: str, tests: str) -> dict[str, Any]:
    agent = run.agent
    assert agent.tools is not None
    context = agent.tools.context
    directory = Path(context.workspace_root) / ".kaizen-codegen" / run.run_id[:12]
    directory.mkdir(parents=True, exist_ok=True)
    ext = _EXTENSIONS.get(language.lower(), "txt")
    (directory / f"solution.{ext}").write_text(code)
    (directory / f"test_solution.{ext}").write_text(tests)
    relative = str(directory.relative_to(Path(context.workspace_root)))
    call = ToolCall(
        id=f"codegen-{uuid.uuid4().hex[:8]}",
        name="bash_command",
        arguments={"command": cfg.test_command, "cwd": relative, "timeout": cfg.test_timeout},
    )
    message = await agent.execute_tool_call(run, call)  # the permission gate, hooks, bash_command's policy
    result: dict[str, Any] = {"command": cfg.test_command, "directory": str(directory)}
    try:
        data = json.loads(message.content or "")
    except ValueError:
        data = {"output": message.content}
    if message.is_error:
        return {**result, "passed": False, "error": data.get("error"), "error_code": data.get("error_code")}
    exit_code = data.get("exit_code", data.get("returncode"))
    output = (data.get("stdout") or "") + (data.get("stderr") or "")
    return {**result, "passed": exit_code == 0, "exit_code": exit_code, "output": output}


class CodeGenerationAgent(SpecializedAgent):
    """Code generation: ``code``, ``tests``, ``explanation`` (and ``test_results`` when tests run)."""

    config_class: ClassVar[type[BaseAgentConfig]] = CodeConfig
    signature_class = CodeGenerationSignature

    def __init__(self, config: Any = None, signature: Any = None, provider: Any = None, **kwargs: Any) -> None:
        super().__init__(config, signature, provider, **kwargs)
        cfg: CodeConfig = self.config  # type: ignore[assignment]
        if cfg.execute_tests:
            from kaizen_core.tools import ToolRegistry
            from kaizen_core.tools.builtin.shell import bash_command

            if self.tools is None:
                self.tools = ToolRegistry.from_config([], extra=[bash_command])
                if cfg.workspace_root is not None:
                    self.tools.context.workspace_root = Path(cfg.workspace_root)
            elif self.tools.get("bash_command") is None:
                self.tools.register(bash_command)
            for program in cfg.allowed_commands:
                if program not in self.tools.context.allowed_commands:
                    self.tools.context.allowed_commands.append(program)

    def default_strategy(self) -> CodeGenerationStrategy:
        return CodeGenerationStrategy()

    def generate(self, task: str, language: str = "", session_id: str | None = None) -> RunResult:
        """Code and tests for ``task`` (same as ``run(task=..., language=...)``)."""
        return self.run(task=task, language=language, session_id=session_id)

    async def generate_async(self, task: str, language: str = "", session_id: str | None = None) -> dict[str, Any]:
        """Awaitable :meth:`generate`."""
        return await self.run_async(task=task, language=language, session_id=session_id)
