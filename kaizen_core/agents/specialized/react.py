"""ReActAgent: reason, act with a tool, observe, repeat, then answer.

    agent = ReActAgent(ReActConfig(llm_provider="openai", max_cycles=5), tools=["read_file", "list_directory"])
    result = agent.run(task="How many lines does notes.txt have?")
    result["answer"]
    result["steps"]   # [{"thought": ..., "action": "read_file", "action_input": {...}, "observation": ...}]

Each cycle the model states its thought and calls tools (native tool calling of the
provider); every call goes through the agent's one path for tool calls,
:meth:`BaseAgent.execute_tool_call` (unknown tool, permission gate, PRE/POST_TOOL_CALL),
and its outcome (a denial included) is the observation fed back. The first reply without
a tool call is the final answer. After ``max_cycles`` cycles the model is asked once more
with the tools withheld; a run that still has no valid answer raises AGENT_005.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kaizen_core.agents.specialized._common import SpecializedAgent
from kaizen_core.agents.strategies import validate_or_correct
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import ConvergenceError
from kaizen_core.providers.types import Message
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun

__all__ = ["ReActAgent", "ReActConfig", "ReActSignature", "ReActStrategy"]


class ReActConfig(BaseAgentConfig):
    """Configuration of :class:`ReActAgent`."""

    max_cycles: int = Field(10, gt=0, description="Thought/action/observation cycles before the answer is forced")
    temperature: float | None = Field(0.1, ge=0.0, le=2.0)


class ReActSignature(Signature):
    """Solve the task step by step. Before each action, say briefly what you think and why; use the tools
    to act and observe their results; when you know the answer, reply with it without calling a tool."""

    task: str = InputField(description="The task to solve")
    context: str = InputField(description="Optional background", default="")
    answer: str = OutputField(description="The final answer")
    confidence: float = OutputField(description="Confidence in the answer, from 0 to 1")


class ReActStrategy:
    """The thought/action/observation loop; ``run.extra["react_steps"]`` holds the trace."""

    name = "react"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        agent = run.agent
        limit = getattr(run.config, "max_cycles", 10)
        steps: list[dict[str, Any]] = run.extra.setdefault("react_steps", [])
        while run.cycle < limit:
            run.cycle += 1
            await run.fire("pre_cycle")
            completion = await run.complete(tools=agent.tool_definitions())
            if not completion.tool_calls:
                outputs = await validate_or_correct(run, completion)
                await run.fire("post_cycle")
                if outputs is not None:
                    return {**outputs, "steps": steps}
                continue
            run.messages.append(
                Message(
                    role="assistant",
                    content=completion.content,
                    tool_calls=completion.tool_calls,
                    provider_data=completion.provider_data,
                )
            )
            for call in completion.tool_calls:
                observation = await agent.execute_tool_call(run, call)  # the permission gate, hooks, the tool
                run.messages.append(observation)
                steps.append(
                    {
                        "thought": completion.content or "",
                        "action": call.name,
                        "action_input": call.arguments,
                        "observation": observation.content,
                        "is_error": observation.is_error,
                    }
                )
            await run.fire("post_cycle")
            run.raise_if_interrupted()
        # out of cycles: one more answer with the tools withheld
        run.messages.append(Message(role="user", content="Stop using tools now and give your final answer."))
        while True:
            completion = await run.complete()
            outputs = await validate_or_correct(run, completion)
            if outputs is not None:
                return {**outputs, "steps": steps}
            if completion.tool_calls:  # pragma: no cover - a provider ignoring the withheld tools
                raise ConvergenceError(f"no final answer after {limit} cycle(s)", hint="raise max_cycles")


class ReActAgent(SpecializedAgent):
    """Reasoning + acting over tools: ``answer``, ``confidence`` and ``steps`` (the trace)."""

    config_class: ClassVar[type[BaseAgentConfig]] = ReActConfig
    signature_class = ReActSignature
    always_has_tools = True

    def default_strategy(self) -> ReActStrategy:
        return ReActStrategy()
