"""Execution strategies: how an agent turns one run into provider calls.

A strategy is a small protocol (``name`` + ``async execute(run) -> outputs``) so
patterns and plugins can add more. Two ship with the core:

* :class:`SingleShotStrategy` (default): one call, validate, retry with the
  validation error fed back up to ``retry_attempts`` times.
* :class:`MultiCycleStrategy`: a tool loop. Each cycle asks the model; tool calls
  are executed and their results fed back; the first reply without tool calls is
  validated as the final answer. Used automatically when an agent has tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import ValidationError

from kaizen_core.agents.prompting import correction_message, extract_outputs
from kaizen_core.errors import OutputValidationError
from kaizen_core.providers.types import Completion, Message

if TYPE_CHECKING:
    from kaizen_core.agents.run import AgentRun


@runtime_checkable
class Strategy(Protocol):
    """What a strategy implements."""

    name: str

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        """Drive the run and return the validated output fields."""
        ...


async def validate_or_correct(run: AgentRun, completion: Completion) -> dict[str, Any] | None:
    """Validated outputs, or None after appending the correction turn for another attempt.

    Raises AGENT_006 with the last raw output when the retry budget is spent.
    """
    try:
        return extract_outputs(run.signature, completion)
    except (ValidationError, ValueError) as exc:
        run.invalid_outputs += 1
        if run.invalid_outputs > run.config.retry_attempts:
            raise OutputValidationError(
                f"the model's output failed validation after {run.invalid_outputs} attempt(s): "
                f"{correction_message(exc)}",
                hint="raise retry_attempts, simplify the signature, or use a provider with native structured output",
                raw_output=completion.content,
            ) from exc
        run.messages.append(Message(role="assistant", content=completion.content or ""))
        run.messages.append(Message(role="user", content=correction_message(exc)))
        return None


class SingleShotStrategy:
    """One provider call per attempt; invalid output is retried with the error shown."""

    name = "single_shot"

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        while True:
            completion = await run.complete()
            outputs = await validate_or_correct(run, completion)
            if outputs is not None:
                return outputs


class MultiCycleStrategy:
    """Tool loop: call the model, run its tool calls, repeat until a final answer.

    ``max_cycles`` bounds the loop (default: the agent config's ``max_cycles`` when it
    has one, else 10); running out raises AGENT_006 with the last reply.
    """

    name = "multi_cycle"

    def __init__(self, max_cycles: int | None = None) -> None:
        self.max_cycles = max_cycles

    async def execute(self, run: AgentRun) -> dict[str, Any]:
        limit = self.max_cycles or getattr(run.config, "max_cycles", None) or 10
        last: Completion | None = None
        while run.cycle < limit:
            run.cycle += 1
            await run.fire("pre_cycle")
            last = await run.complete(tools=run.agent.tool_definitions())
            if last.tool_calls:
                run.messages.append(
                    Message(
                        role="assistant", content=last.content, tool_calls=last.tool_calls, provider_data=last.provider_data
                    )
                )
                run.messages.extend(await run.agent.execute_tool_calls(run, last.tool_calls))
                await run.fire("post_cycle")
                run.raise_if_interrupted()
                continue
            outputs = await validate_or_correct(run, last)
            await run.fire("post_cycle")
            if outputs is not None:
                return outputs
            run.raise_if_interrupted()
        raise OutputValidationError(
            f"no final answer after {limit} cycle(s)",
            hint="raise max_cycles or make the task smaller",
            raw_output=last.content if last else None,
        )
