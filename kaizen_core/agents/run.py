"""AgentRun: the mutable state of one agent run, shared by the agent and its strategy."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from kaizen_core._eager import resume, step_eagerly
from kaizen_core.errors import BudgetExceededError, ExecutionTimeoutError
from kaizen_core.providers.types import (
    Completion,
    CompletionRequest,
    Message,
    ToolDefinition,
    Usage,
    new_request,
    new_usage,
)

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.config import BaseAgentConfig
    from kaizen_core.interrupts import InterruptContext, InterruptScope
    from kaizen_core.permissions import ExecutionContext
    from kaizen_core.permissions.policy import BudgetReservation
    from kaizen_core.signatures import Signature


logger = logging.getLogger(__name__)


class RunStopped(Exception):
    """Internal: the run must stop because an interrupt was requested."""


@dataclass
class AgentRun:
    """One run: messages so far, usage, cycles, tool calls. Strategies drive it."""

    agent: BaseAgent
    run_id: str
    inputs: dict[str, Any]
    messages: list[Message]
    session_id: str | None = None
    usage: Usage = field(default_factory=lambda: new_usage({"cost_usd": 0.0}))
    cycle: int = 0
    invalid_outputs: int = 0
    provider_calls: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Storage failures the run survived (``result["_meta"]["storage_errors"]``); not checkpointed.
    storage_errors: list[dict[str, Any]] = field(default_factory=list)
    #: Every permission decision of the run, in order (``result["permission_decisions"]``).
    permission_decisions: list[dict[str, Any]] = field(default_factory=list)
    #: Set to share one context (and its budget) between runs; else built from the config on first use.
    execution_context_: ExecutionContext | None = None
    #: The run's interrupt scope while the agent watches it (``BaseAgent._execute``), else None.
    scope: InterruptScope | None = field(default=None, repr=False)

    @property
    def signature(self) -> Signature:
        return self.agent.signature

    @property
    def config(self) -> BaseAgentConfig:
        return self.agent.config

    @property
    def cost_usd(self) -> float:
        return self.usage.cost_usd or 0.0

    @property
    def execution_context(self) -> ExecutionContext:
        """The run's permissions and budget (the agent's shared context, or a fresh one from its config)."""
        if self.execution_context_ is None:
            self.execution_context_ = self.agent.new_execution_context()
        return self.execution_context_

    @property
    def budgeted(self) -> bool:
        """Whether a USD, token or call budget applies to this run."""
        ctx = self.execution_context_ or self.agent._execution_context
        if ctx is not None:
            return ctx.has_limits
        cfg = self.config
        return cfg.max_budget_usd is not None or cfg.max_budget_tokens is not None

    # --- budget -------------------------------------------------------------------------
    def check_budget(self) -> None:
        """Raise :class:`BudgetExceededError` when the run's budget leaves no room for another call."""
        if not self.budgeted:
            return
        exhausted = self.execution_context.budget_exhausted()
        if exhausted is not None:
            raise BudgetExceededError(
                f"agent {self.agent.agent_id}: {exhausted}",
                hint="raise max_budget_usd / max_budget_tokens, or make the task smaller",
            )

    async def reserve_call(self) -> BudgetReservation | None:
        """Check the budget and hold one model call against it atomically (None without a budget).

        Runs sharing one ExecutionContext (parallel pipeline children) therefore never make
        more calls than ``call_limit`` together. Raises :class:`BudgetExceededError`.
        Awaits :meth:`ExecutionContext.areserve`, so a budget kept elsewhere (a remote
        executor's) does not block the event loop.
        """
        if not self.budgeted:
            return None
        try:
            return await self.execution_context.areserve()
        except BudgetExceededError as exc:
            raise BudgetExceededError(
                f"agent {self.agent.agent_id}: {exc.message}",
                hint="raise max_budget_usd / max_budget_tokens / the context's call_limit, or make the task smaller",
            ) from None

    async def _spend(self, completion: Completion, reservation: BudgetReservation | None) -> None:
        """Charge one model call to the budget by settling its :meth:`reserve_call` reservation
        (atomically: concurrent calls keep exact totals). ``None``: the run has no budget."""
        if reservation is None:
            return
        ctx = self.execution_context
        usage = completion.usage
        await ctx.asettle(reservation, cost=usage.cost_usd, tokens=usage.total_tokens)
        if usage.cost_usd is None and ctx.budget_limit is not None and not self.extra.get("unpriced_warned"):
            # No price for this model: the USD limit cannot be enforced. Fall back to the token
            # budget when there is one; otherwise stop before anything acts on an unmetered call.
            self.extra["unpriced_warned"] = True
            model = completion.model or self.agent.provider.model
            if ctx.token_limit is None:
                raise BudgetExceededError(
                    f"model {model!r} of provider {self.agent.provider.name!r} has no price, "
                    f"so max_budget_usd=${ctx.budget_limit:g} cannot be enforced",
                    hint="set max_budget_tokens to budget in tokens instead, or use a priced model",
                )
            logger.warning(
                "model %r has no price: enforcing the token budget (%d tokens) instead of $%g",
                model,
                ctx.token_limit,
                ctx.budget_limit,
            )
        limit = ctx.budget_limit
        if (
            limit
            and not self.extra.get("budget_alert")
            and ctx.budget_spent >= limit * self.config.budget_alert_threshold
        ):
            self.extra["budget_alert"] = True
            logger.warning("agent %s spent $%.4f of its $%.4f budget", self.agent.agent_id, ctx.budget_spent, limit)

    # --- hooks --------------------------------------------------------------------------
    async def fire(self, event: str, *, step: str | None = None, **metadata: Any) -> list[Any]:
        """Trigger lifecycle event ``event`` (a HookEvent value) if anything listens.

        Every event of a run carries ``cycle`` and ``cost_usd`` (spent so far) in its metadata,
        and ``session_id`` when the run has one; ``step`` pairs PRE/POST events of one phase
        that may be open at once (tool call ids).
        """
        hooks = self.agent._hooks  # not agent.hook_manager: that would create one
        if hooks is None or not hooks.has_handlers(event):  # nothing listens: no work at all
            return []
        base: dict[str, Any] = {"cycle": self.cycle, "cost_usd": self.cost_usd}
        if self.session_id is not None:
            base["session_id"] = self.session_id
        return await hooks.trigger(
            event,
            agent_id=self.agent.agent_id,
            run_id=self.run_id,
            cycle=self.cycle or None,
            step=step,
            metadata={**base, **metadata},
        )

    # --- interrupts ---------------------------------------------------------------------
    def interrupt_context(self) -> InterruptContext:
        """What interrupt handlers see of this run (its scope adds ``started_at``/``elapsed_s`` from its clock).

        ``user_id`` is the one set with ``hook_metadata(user_id=...)`` around the run (the same
        user the run's hook contexts carry), for ``BudgetInterruptHandler(track_by="user")``.
        """
        from kaizen_core.hooks.context import current_hook_metadata
        from kaizen_core.interrupts import InterruptContext

        user = current_hook_metadata().get("user_id")
        return InterruptContext(
            agent_id=self.agent.agent_id,
            run_id=self.run_id,
            session_id=self.session_id,
            user_id=str(user) if user is not None else None,
            cycle=self.cycle,
            budget_spent_usd=self.cost_usd,
            error_count=sum(1 for record in self.tool_calls if record.get("error_code")),
        )

    def raise_if_interrupted(self) -> None:
        """Raise RunStopped when this run has been asked to stop (a safe point between steps)."""
        scope = self.scope
        if scope is not None and scope.is_interrupted():
            raise RunStopped()

    async def guard(self, fn: Any, *args: Any, side_effect_free: bool = False) -> Any:
        """``await fn(*args)`` under the run's interrupt guard: an IMMEDIATE interrupt cancels it (RunStopped).

        ``side_effect_free`` (model calls) makes a GRACEFUL interrupt cancel it at once too.
        """
        scope = self.scope
        if scope is None:
            return await fn(*args)
        try:
            return await scope.guard(fn, *args, side_effect_free=side_effect_free)
        except Exception as exc:
            from kaizen_core.interrupts import StepCancelled  # imported where it is needed: not on every step

            if isinstance(exc, StepCancelled):
                raise RunStopped() from exc
            raise

    # --- provider -----------------------------------------------------------------------
    def request(
        self,
        *,
        tools: list[ToolDefinition] | None = None,
        with_schema: bool = True,
        output_schema: dict[str, Any] | None = None,
    ) -> CompletionRequest:
        """The next request; ``output_schema`` replaces the signature's schema when given."""
        cfg = self.config
        # One validation for the request and its GenerationParams (the same objects as built one by one).
        return new_request(
            {
                "messages": list(self.messages),
                "output_schema": output_schema or (self.signature.output_schema() if with_schema else None),
                "schema_name": type(self.signature).__name__,
                "tools": tools or [],
                "tool_choice": "auto" if tools else None,
                "params": {
                    "temperature": cfg.temperature,
                    "max_tokens": cfg.max_tokens,
                    "timeout": cfg.timeout,
                    "seed": cfg.seed,
                },
                # The config's model as it is now (``agent.config.model = ...`` takes effect on the next
                # call); the provider's own model when the config names none.
                "model": cfg.model or self.agent.provider.model or None,
            }
        )

    async def complete(
        self,
        *,
        tools: list[ToolDefinition] | None = None,
        with_schema: bool = True,
        output_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """One provider call: budget check, timeout, interrupt guard, usage accounting, handler check."""
        self.raise_if_interrupted()
        # the budget check and the hold are one atomic step (nothing to await without a budget)
        reservation = await self.reserve_call() if self.budgeted else None
        request = self.request(tools=tools, with_schema=with_schema, output_schema=output_schema)
        hooks = self.agent._hooks
        # Hot path: with nobody listening, no step id, metadata or usage dump is built at all
        # (has_handlers of the PRE event is also true when only its POST listens).
        observed = hooks is not None and hooks.has_handlers("pre_model_call")
        step = f"model-{self.run_id}-{self.provider_calls}-{time.monotonic_ns()}" if observed else None
        provider = self.agent.provider.name
        if observed:
            # ``_request`` / ``_completion``: the objects themselves for hooks that want more (a tracer
            # opted in to message content); private keys, which log and audit records leave out.
            await self.fire("pre_model_call", step=step, provider=provider, model=request.model, _request=request)
        try:
            completion: Completion = await self.guard(self.agent._call_provider, request, side_effect_free=True)
        except BaseException as exc:
            if reservation is not None:  # the call was attempted: it counts, with no usage known
                self.execution_context.settle(reservation)
            if observed and isinstance(exc, Exception):
                await self.fire(
                    "post_model_call",
                    step=step,
                    provider=provider,
                    model=request.model,
                    error=exc,
                    error_type=type(exc).__name__,
                )
            raise
        if observed:
            await self.fire(
                "post_model_call",
                step=step,
                provider=provider,
                model=request.model,
                response_model=completion.model,
                usage={**completion.usage.model_dump(), "total_tokens": completion.usage.total_tokens},
                cost_usd_call=completion.usage.cost_usd,
                error=None,
                error_type=None,
                _completion=completion,
            )
        self.provider_calls += 1
        self.usage = self.usage + completion.usage
        self.model = completion.model or self.model
        if reservation is not None:
            await self._spend(completion, reservation)
        scope = self.scope
        manager = scope.manager if scope is not None else None
        if scope is not None and manager is not None and manager.handlers:
            await scope.poll()  # the handlers see the new spending now, not at the next poll
        return completion


#: The RFC 4122 bits of a version-4 UUID, as :func:`uuid.uuid4` sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def new_run_id() -> str:
    """A fresh run id, the text of ``uuid4().hex``: the one maker of run ids, for every kind of run.

    Made from the same 16 random bytes and the same version and variant bits as
    :func:`uuid.uuid4`, without building a ``UUID`` object (its checks cost a run more
    than the rest of this function).
    """
    n = (int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR) | _UUID4_SET
    return f"{n:032x}"


async def call_with_timeout(coro_fn: Any, request: CompletionRequest, timeout: float | None) -> Completion:
    """Run a provider call under ``timeout`` seconds; :class:`ExecutionTimeoutError` (AGENT_003) when it runs out.

    The deadline is fixed when the call starts but armed only if the call suspends: a call
    that answers without suspending (the mock, a reply from memory) cannot be reached by a
    timer, so it pays for none (:mod:`kaizen_core._eager`). ``None``: no deadline.
    """
    if timeout is None:
        result: Completion = await coro_fn(request)
        return result
    when = asyncio.get_running_loop().time() + timeout  # on the loop's clock, from the call's start
    call = coro_fn(request)
    if type(call) is CoroutineType:
        finished, value = step_eagerly(call)
        if finished:
            return value  # type: ignore[no-any-return]  # (no cast(): a call on the hot path)
        call = resume(call, value)
    # asyncio.timeout: Kaizen runs on asyncio, and it costs less than half of anyio.fail_after.
    deadline = asyncio.timeout_at(when)
    try:
        async with deadline:
            result = await call
            return result
    except TimeoutError as exc:
        if not deadline.expired():
            raise  # the provider's own timeout (already an ExecutionTimeoutError): not ours to rename
        raise ExecutionTimeoutError(
            f"the provider did not answer within {timeout:g}s", hint="raise timeout in the agent config", retryable=True
        ) from exc
