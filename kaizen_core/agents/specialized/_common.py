"""What the specialized agents share: the constructor forms and model calls inside one run.

A specialized agent is a :class:`~kaizen_core.agents.BaseAgent` with its own config class,
signature and strategy. A multi-step agent (planning, PEV, tree of thoughts) makes several
model calls, each a *phase* with its own small signature, inside the one run that
``agent.run(...)`` starts. So every phase goes through ``run.complete``: the budget is
checked (and a call reserved) before each call, interrupts stop the run between and during
calls, and usage and cost are summed in the run's ``_meta``.

Each phase is its own exchange after the same prefix: the system message stating the
agent's role (and what the agent's memory recalled for the session), then the phase's
prompt (the phase signature's instructions, fields and JSON schema, then its inputs).
A later phase gets what it needs from earlier ones as explicit inputs (the executor gets
the plan and the results so far, the verifier the result), never the whole history, so a
run's prompt tokens grow with what each phase needs, not with the number of phases.
``run.messages`` holds the latest phase's exchange (what a checkpoint records).
:func:`ask_branches` runs phases concurrently when they do not depend on each other.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, ClassVar

import anyio
from pydantic import ValidationError

from kaizen_core.agents.base import BaseAgent
from kaizen_core.agents.prompting import correction_message, extract_outputs, system_prompt, user_message
from kaizen_core.agents.run import AgentRun
from kaizen_core.config import BaseAgentConfig, coerce_config
from kaizen_core.errors import OutputValidationError
from kaizen_core.providers.types import Message, Usage
from kaizen_core.signatures import Signature

__all__ = ["SpecializedAgent", "ask_branches", "ask_phase", "start_conversation"]


class SpecializedAgent(BaseAgent):
    """Base of the specialized agents: the documented constructor forms.

    ``Agent(Config(...))``, ``Agent(config=Config(...))``, ``Agent(CustomDataclass())``
    (fields named like config fields are picked) and ``Agent(max_plan_steps=5, ...)``
    (the config's fields as keywords, alone or on top of a config) all work. Other
    keywords are BaseAgent's (``provider=``, ``tools=``, ``memory_backend=``...).
    """

    config_class: ClassVar[type[BaseAgentConfig]] = BaseAgentConfig
    signature_class: ClassVar[type[Signature]]

    def __init__(self, config: Any = None, signature: Any = None, provider: Any = None, **kwargs: Any) -> None:
        fields = self.config_class.model_fields
        # ``tools=`` is BaseAgent's argument (tool objects or names), not the config's list of names
        names = [name for name in kwargs if name != "tools" and (name in fields or name in _config_aliases(self))]
        overrides = {name: kwargs.pop(name) for name in names}
        if overrides:
            base = coerce_config(config, self.config_class)
            config = self.config_class.build(**{**base.model_dump(exclude_unset=True), **overrides})
        kwargs.setdefault("strategy", self.default_strategy())
        kwargs.setdefault("agent_id", f"{type(self).__name__.lower()}-{uuid.uuid4().hex[:8]}")  # named after the agent
        super().__init__(config, signature or self.signature_class(), provider, **kwargs)

    def default_strategy(self) -> Any:
        """The agent's strategy (a :class:`~kaizen_core.agents.strategies.Strategy`)."""
        from kaizen_core.agents.strategies import SingleShotStrategy

        return SingleShotStrategy()


def _config_aliases(agent: SpecializedAgent) -> tuple[str, ...]:
    return tuple(getattr(agent.config_class, "aliases", {}))


def start_conversation(run: AgentRun, role: str) -> None:
    """Make the prefix every phase of the run starts from: the system message of the agent's
    role, then what the agent's memory recalled (earlier turns of the session)."""
    history = list(run.messages[1:-1])
    run.messages[:] = [Message(role="system", content=role), *history]
    run.extra[_PREFIX] = len(run.messages)


_PREFIX = "phase_prefix_messages"


def phase_prompt(signature: type[Signature], inputs: dict[str, Any]) -> str:
    """One phase's prompt: the phase signature's instructions, fields and schema, then the inputs."""
    return f"{system_prompt(signature())}\n\n{user_message(signature(), inputs)}"


async def ask_phase(run: AgentRun, signature: type[Signature], **inputs: Any) -> dict[str, Any]:
    """One phase of a multi-step agent: append its prompt, call the model through ``run.complete``
    (budget, interrupts, usage), validate the reply against ``signature``.

    An invalid reply is answered with the validation error, up to the config's
    ``retry_attempts`` for the whole run; then AGENT_006 with the last raw output.
    """
    values = signature.validate_inputs(inputs)
    del run.messages[run.extra.get(_PREFIX, len(run.messages)) :]  # the earlier phase's exchange
    run.messages.append(Message(role="user", content=phase_prompt(signature, values)))
    while True:
        completion = await run.complete(output_schema=signature.output_schema())
        reply = completion.content if completion.content is not None else json.dumps(completion.parsed)
        run.messages.append(Message(role="assistant", content=reply or ""))
        try:
            return extract_outputs(signature(), completion)
        except (ValidationError, ValueError) as exc:
            run.invalid_outputs += 1
            if run.invalid_outputs > run.config.retry_attempts:
                raise OutputValidationError(
                    f"{signature.__name__}: the model's output failed validation after "
                    f"{run.invalid_outputs} attempt(s): {correction_message(exc)}",
                    hint="raise retry_attempts, or use a provider with native structured output",
                    raw_output=completion.content,
                ) from exc
            run.messages.append(Message(role="user", content=correction_message(exc)))


async def ask_branches(
    run: AgentRun, signature: type[Signature], inputs: list[dict[str, Any]], *, parallel: bool
) -> list[dict[str, Any]]:
    """The same phase for each of ``inputs``.

    Sequential: one after the other. Parallel: concurrently, each phase in its own copy of
    the run's messages; they share the run's id (interrupts), permission context and budget (each call reserves
    its share atomically), and their usage is added to the run's.
    """
    if not parallel:
        return [await ask_phase(run, signature, **values) for values in inputs]
    context = run.execution_context  # made now, so every branch holds the same one
    branches = [
        dataclasses.replace(
            run, messages=list(run.messages), usage=Usage(cost_usd=0.0), provider_calls=0, execution_context_=context
        )
        for _ in inputs
    ]
    results: list[dict[str, Any]] = [{} for _ in inputs]

    async def one(index: int) -> None:
        results[index] = await ask_phase(branches[index], signature, **inputs[index])

    try:
        async with anyio.create_task_group() as group:
            for index in range(len(inputs)):
                group.start_soon(one, index)
    except BaseExceptionGroup as group_error:
        # a failed branch cancels the others; its own error (budget, interrupt, AGENT_006) is the run's
        raise _first_error(group_error) from None
    finally:  # spent is spent, even when a branch failed
        for branch in branches:
            run.usage = run.usage + branch.usage
            run.provider_calls += branch.provider_calls
            run.invalid_outputs = max(run.invalid_outputs, branch.invalid_outputs)
            run.model = branch.model or run.model
    return results


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if not isinstance(error, anyio.get_cancelled_exc_class()):
            return error
    return group.exceptions[0]
