"""BaseAgent: a signature, a provider and a strategy; ``run(**inputs) -> dict``.

    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature())
    result = agent.run(question="What is 2+2?")
    result["answer"], result["confidence"], result["_meta"]["usage"]

Subsystems are created only when used: no hook manager unless hooks are configured
or passed, no interrupt watch unless interrupts are enabled, no memory unless
``max_turns`` is set, no state manager unless a checkpoint store is configured.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self

from kaizen_core._sync import run_sync
from kaizen_core.agents.control_methods import ControlMethods
from kaizen_core.agents.mcp_methods import MCPMethods
from kaizen_core.agents.memory_methods import MemoryMethods
from kaizen_core.agents.model_calls import ModelCalls
from kaizen_core.agents.observability_methods import ObservabilityMethods
from kaizen_core.agents.prompting import initial_messages
from kaizen_core.agents.results import RunResult
from kaizen_core.agents.run import AgentRun, RunStopped, new_run_id
from kaizen_core.agents.setup import apply_log_level, build_memory, tools_argument
from kaizen_core.agents.state_methods import StateMethods
from kaizen_core.agents.strategies import MultiCycleStrategy, SingleShotStrategy, Strategy
from kaizen_core.agents.tool_methods import ToolMethods
from kaizen_core.config import BaseAgentConfig, coerce_config
from kaizen_core.errors import AgentInterrupted, BudgetExceededError, ConfigError, StorageError
from kaizen_core.providers.base import BaseProvider
from kaizen_core.providers.selection import create_provider
from kaizen_core.providers.types import Message, ToolCall, ToolDefinition
from kaizen_core.signatures import Signature
from kaizen_core.structured_output import structured_output_settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from kaizen_core.control import ControlProtocol
    from kaizen_core.hooks import HookManager
    from kaizen_core.interrupts import InterruptManager
    from kaizen_core.orchestration.executors import Executor
    from kaizen_core.permissions import ExecutionContext, PermissionGate
    from kaizen_core.state import AgentState, StateManager
    from kaizen_core.tools import ToolRegistry, ToolResult

__all__ = ["BaseAgent"]


class BaseAgent(ToolMethods, MCPMethods, ModelCalls, ControlMethods, StateMethods, MemoryMethods, ObservabilityMethods):
    """A typed agent. See the module docstring; ``run_async`` is the primitive."""

    config_class: ClassVar[type[BaseAgentConfig]] = BaseAgentConfig
    #: Give the agent an (empty) ToolRegistry even without tools (autonomous agents register later).
    always_has_tools: ClassVar[bool] = False

    def __init__(
        self,
        config: Any = None,
        signature: Signature | type[Signature] | str | None = None,
        provider: BaseProvider | None = None,
        hook_manager: HookManager | None = None,
        tools: ToolRegistry | list[Any] | str | None = None,
        agent_id: str | None = None,
        *,
        strategy: Strategy | None = None,
        state_manager: StateManager | None = None,
        interrupt_manager: InterruptManager | None = None,
        memory: Any = None,
        control_protocol: ControlProtocol | None = None,
        execution_context: ExecutionContext | None = None,
        tool_registry: ToolRegistry | None = None,
        memory_backend: Any = None,
        mcp_servers: list[dict[str, Any] | str] | None = None,
    ) -> None:
        tools = tools_argument(tools, tool_registry)  # documented spellings: agents/setup.py
        self.config = coerce_config(config, self.config_class)
        self._init_mcp(mcp_servers, self.config.mcp_servers)  # agents/mcp_methods.py: the kaizen-mcp tool source
        apply_log_level(self.config)
        self.signature = _as_signature(signature)
        self.agent_id = agent_id or f"{type(self.signature).__name__.lower()}-{uuid.uuid4().hex[:8]}"
        # provider_config["response_format"] is the agent's (structured_output.py), the rest the provider's
        provider_options, self.structured_output = structured_output_settings(
            self.config.provider_config, self.signature
        )
        self.provider = provider or create_provider(self.config.llm_provider, self.config.model, provider_options)
        #: A provider passed in is not described by the config (a remote executor cannot rebuild it).
        self._provider_given = provider is not None
        # None until hooks are passed, configured or asked for (agent.hook_manager): runs check it first.
        self._hooks = hook_manager
        if self._hooks is None and self.config.hooks:
            from kaizen_core.hooks import HookManager

            self._hooks = HookManager.from_config(self.config.hooks, default_timeout=self.config.hook_timeout)
        self.tools = _as_tool_registry(tools, self.config.tools, always=self.always_has_tools or self.has_mcp_servers)
        if self.tools is not None and self.config.workspace_root is not None:
            from pathlib import Path

            self.tools.context.workspace_root = Path(self.config.workspace_root)
        uses_tools = bool(self.tools) or self.has_mcp_servers  # MCP tools are listed when a run starts
        self.strategy: Strategy = strategy or (MultiCycleStrategy() if uses_tools else SingleShotStrategy())
        self._state_manager = state_manager
        self._control_protocol = control_protocol
        self._execution_context = execution_context
        self._gate: PermissionGate | None = None
        self._interrupts = interrupt_manager
        if self._interrupts is None and self.config.enable_interrupts:
            from kaizen_core.interrupts import InterruptManager

            self._interrupts = InterruptManager(graceful_shutdown_timeout=self.config.graceful_shutdown_timeout)
        self.memory = build_memory(self.config, self.agent_id, self._hooks, memory, memory_backend)
        if self._hooks is not None:
            self._attach_hooks(self._hooks)
        self._fire_sync("pre_agent_init")
        self._fire_sync("post_agent_init")

    # --- subsystems ---------------------------------------------------------------------
    @property
    def hook_manager(self) -> HookManager:
        """The agent's HookManager, created on first access (also ``agent._hook_manager``).

        Creating it costs nothing per run: events are only built for what a handler listens to.
        """
        if self._hooks is None:
            from kaizen_core.hooks import HookManager

            self._attach_hooks(HookManager(default_timeout=self.config.hook_timeout))
        assert self._hooks is not None
        return self._hooks

    @hook_manager.setter
    def hook_manager(self, manager: HookManager | None) -> None:
        self._hooks = None
        if manager is not None:
            self._attach_hooks(manager)

    #: The original documentation's name (``agent._hook_manager.register_hook(...)``).
    _hook_manager = hook_manager

    def _attach_hooks(self, manager: HookManager) -> None:
        """Make ``manager`` the agent's, and the hook manager of its memory and state manager
        when they were made without one (so their save/load events reach the agent's hooks)."""
        self._hooks = manager
        # getattr: a subclass may set agent.hook_manager before BaseAgent.__init__ made these;
        # a memory need not have a hook_manager attribute
        parts: tuple[Any, ...] = (getattr(self, "memory", None), getattr(self, "_state_manager", None))
        for part in parts:
            if part is not None and getattr(part, "hook_manager", False) is None:
                part.hook_manager = manager

    @property
    def interrupt_manager(self) -> InterruptManager:
        """The agent's InterruptManager (created on first access when interrupts are disabled)."""
        if self._interrupts is None:
            from kaizen_core.interrupts import InterruptManager

            self._interrupts = InterruptManager(graceful_shutdown_timeout=self.config.graceful_shutdown_timeout)
        return self._interrupts

    @property
    def state_manager(self) -> StateManager | None:
        """The StateManager built from ``checkpoint_storage`` (None when not configured)."""
        if self._state_manager is None and self.config.checkpoint_storage:
            from kaizen_core.state import StateManager

            self._state_manager = StateManager(self.config.checkpoint_storage, hook_manager=self._hooks)
        return self._state_manager

    @property
    def control_protocol(self) -> ControlProtocol | None:
        """Where approvals and questions go (None: an ASK permission decision means deny)."""
        return self._control_protocol

    @control_protocol.setter
    def control_protocol(self, protocol: ControlProtocol | None) -> None:
        self._control_protocol = protocol
        if self._gate is not None:
            self._gate.control_protocol = protocol

    @property
    def permission_gate(self) -> PermissionGate:
        """The gate every tool call of this agent passes (see :mod:`kaizen_core.permissions.gate`)."""
        if self._gate is None:
            from kaizen_core.permissions import PermissionGate

            self._gate = PermissionGate(self._control_protocol, approval_timeout=self.config.approval_timeout)
        return self._gate

    def new_execution_context(self) -> ExecutionContext:
        """The permission context of a new run: the one passed to the agent (shared by its runs,
        budget included), else a fresh one from the config's permission and budget fields."""
        if self._execution_context is not None:
            return self._execution_context
        from kaizen_core.permissions import ExecutionContext, PermissionMode, PermissionRule

        cfg = self.config
        return ExecutionContext(
            mode=PermissionMode(cfg.permission_mode),
            budget_limit=cfg.max_budget_usd,
            token_limit=cfg.max_budget_tokens,
            allowed_tools=cfg.allowed_tools,
            denied_tools=cfg.denied_tools,
            rules=[PermissionRule(**rule) for rule in cfg.permission_rules],
        )

    def tool_definitions(self) -> list[ToolDefinition]:
        """Definitions of the agent's tools, as offered to the model."""
        return self.tools.definitions() if self.tools else []

    # --- running ------------------------------------------------------------------------
    def run(self, session_id: str | None = None, **inputs: Any) -> RunResult:
        """Blocking :meth:`run_async`; also works inside a running event loop.

        The result is a dict that raises a clear error when awaited (``await agent.run(...)``
        is a mistake: use ``await agent.run_async(...)``, see :mod:`kaizen_core.agents.results`).
        """
        return RunResult(run_sync(lambda: self.run_async(session_id=session_id, **inputs)))

    async def run_async(self, session_id: str | None = None, **inputs: Any) -> dict[str, Any]:
        """Validate inputs, run the strategy, return outputs plus ``_meta``.

        ``session_id`` selects the conversation buffer when ``max_turns`` is set.
        Raises EXEC_001 for invalid inputs, AGENT_004 for provider failures (AGENT_003 past ``timeout``), AGENT_006
        when the output never validates, and :class:`AgentInterrupted` on interrupts.
        """
        values = self.signature.validate_inputs(inputs)
        # (each step below that has nothing to do is skipped here, not awaited: a coroutine less per run)
        history = await self._recall_memory(session_id, values) if self._agent_memory is not None else None
        run = AgentRun(
            agent=self,
            run_id=new_run_id(),
            inputs=values,
            messages=initial_messages(self.signature, values, history),
            session_id=session_id,
        )
        return await self._execute(run)

    async def run_many_async(
        self,
        inputs_list: Sequence[Mapping[str, Any]],
        *,
        executor: str | Executor | None = None,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """One run per inputs mapping, concurrently, through ``executor`` (``"local"`` by default,
        ``"ray"``, ``"ray://host:port"``); results in the order given. At most ``max_concurrency``
        runs at once (None: as many as the executor takes). Ctrl+C stops every run (each leaves
        its checkpoint). A failed run raises once all have ended, or with ``return_exceptions``
        its exception takes its place. See :func:`kaizen_core.orchestration.executors.run_batch`.
        """
        from kaizen_core.orchestration.executors import run_batch

        return await run_batch(
            self, inputs_list, executor=executor, max_concurrency=max_concurrency, return_exceptions=return_exceptions
        )

    def run_many(
        self,
        inputs_list: Sequence[Mapping[str, Any]],
        *,
        executor: str | Executor | None = None,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """Blocking :meth:`run_many_async` (also inside a running event loop)."""
        return run_sync(
            lambda: self.run_many_async(
                inputs_list, executor=executor, max_concurrency=max_concurrency, return_exceptions=return_exceptions
            )
        )

    async def _execute(self, run: AgentRun) -> dict[str, Any]:
        """Run ``run`` under interrupt watch with lifecycle events; shared by subclasses."""
        manager = self._interrupts
        if manager is None:
            return await self._drive(run)
        # A fresh interrupt scope for this run: nothing carries over from an earlier run. The
        # monitor's steps are called directly, not through ``async with``: two coroutine frames less.
        monitor = manager.monitor(run.interrupt_context, signals=self.config.enable_interrupts, run_id=run.run_id)
        run.scope = monitor.enter()  # the run's steps look their scope up here, not in the manager
        error: BaseException | None = None
        try:
            try:
                return await self._drive(run)
            except RunStopped:
                # Still inside the monitor: a second signal during the checkpoint save escalates
                # instead of killing the process with a half-written state.
                raise await self._interrupted(run) from None
        except BaseException as exc:
            error = exc
            raise
        finally:
            run.scope = None
            try:
                if monitor.poller is not None:
                    await monitor.stop_polling()
            finally:
                try:
                    monitor.leave(error)
                finally:
                    error = None  # no cycle through the exception's traceback

    async def _drive(self, run: AgentRun) -> dict[str, Any]:
        # Steps with nothing to do (no hooks, no MCP servers, no memory) are skipped here rather
        # than awaited: each await of a coroutine that returns at once still costs a run ~1-2k instructions.
        if self._hooks is not None:
            await run.fire("pre_agent_loop", action="run", inputs=run.inputs)
        control = self._control_protocol
        started_control = control is not None and not control.started
        try:
            if started_control:
                assert control is not None
                await control.start()
            if self._mcp_source is not None:
                await self._connect_mcp()  # the MCP servers' tools (their processes start on the first run)
            outputs = await self._run_strategy(run)
        except RunStopped:
            raise
        except Exception as exc:
            if isinstance(exc, BudgetExceededError) and getattr(exc, "result", None) is None:
                exc.result = self._result(run, {})  # type: ignore[attr-defined]  # the partial result is not lost
            await run.fire("on_error", error=exc)
            await self._fire_loop_end(run, "error", {}, error=exc)
            raise
        finally:
            if started_control:
                assert control is not None
                import anyio  # only a control protocol the run started needs it (cold start)

                with anyio.CancelScope(shield=True):
                    await control.stop()
        result = self._result(run, outputs)
        if self._hooks is not None:  # (read again: a hook manager made during the run listens too)
            await self._fire_loop_end(run, "success", outputs, result)
        if self._agent_memory is not None:
            await self._remember_turn(run, outputs)
        return result

    async def _fire_loop_end(
        self,
        run: AgentRun,
        status: str,
        outputs: dict[str, Any],
        result: dict[str, Any] | None = None,
        error: BaseException | None = None,
    ) -> None:
        """POST_AGENT_LOOP, fired by every run however it ends: ``status`` is ``"success"``,
        ``"error"`` (with ``error``) or ``"interrupted"``; ``result`` is the outputs on success."""
        hooks = self._hooks
        if hooks is None or not hooks.has_handlers("post_agent_loop"):
            return
        meta = (result if result is not None else self._result(run, outputs))["_meta"]
        extra: dict[str, Any] = {} if error is None else {"error": error}
        await run.fire(
            "post_agent_loop",
            action="run",
            status=status,
            result=outputs if status == "success" else None,
            outputs=outputs,
            usage=meta["usage"],
            meta=meta,
            **extra,
        )

    async def _run_strategy(self, run: AgentRun) -> dict[str, Any]:
        """The strategy step; the autonomous agent overrides it with its own loop."""
        return await self.strategy.execute(run)

    def _result(self, run: AgentRun, outputs: dict[str, Any]) -> dict[str, Any]:
        usage = run.usage
        meta: dict[str, Any] = {
            "run_id": run.run_id,
            "agent_id": self.agent_id,
            "model": run.model or self.provider.model,
            "provider": self.provider.name,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
                "cost_usd": usage.cost_usd,
            },
            "cost": usage.cost_usd,
            "latency_ms": (time.monotonic() - run.started) * 1000,
            "provider_calls": run.provider_calls,
            "attempts": run.invalid_outputs + 1,
        }
        if run.cycle:
            meta["cycles_used"] = run.cycle
        if run.tool_calls:
            meta["tool_calls"] = run.tool_calls
        if run.permission_decisions:
            meta["permission_decisions"] = run.permission_decisions
        if run.storage_errors:
            meta["storage_errors"] = list(run.storage_errors)
        return {**outputs, "_meta": meta}

    # --- tools ------------------------------------------------------------------------------
    async def execute_tool_calls(self, run: AgentRun, calls: list[ToolCall]) -> list[Message]:
        """Run the model's tool calls in order; every outcome becomes a tool message."""
        return [await self.execute_tool_call(run, call) for call in calls]

    async def execute_tool_call(self, run: AgentRun, call: ToolCall) -> Message:
        """Run one tool call: permission gate, PRE/POST_TOOL_CALL, the tool; every outcome goes back to the model.

        Order: unknown tool (EXEC_001) -> :attr:`permission_gate` (denied: the tool does not
        run) -> PRE_TOOL_CALL (a blocking hook stops it) -> the tool -> POST_TOOL_CALL. The
        record in ``result["_meta"]["tool_calls"]`` has an ``error_code`` when it did not succeed.
        """
        from kaizen_core.errors import InputValidationError, PermissionDeniedError

        tool = self.tools.get(call.name) if self.tools is not None else None
        if tool is None:
            available = ", ".join(self.tools.names()) if self.tools else "none (this agent has no tools)"
            error = f"unknown tool {call.name!r}; available tools: {available}"
            return self._record_tool_call(run, call, "error", 0.0, error=error, code=InputValidationError.code)
        decision = await self.permission_gate.authorize(run, call, tool)
        if not decision:
            error = f"permission denied for {call.name!r}: {decision.reason}"
            return self._record_tool_call(run, call, "denied", 0.0, error=error, code=PermissionDeniedError.code)
        started = time.perf_counter()
        pre = await run.fire(
            "pre_tool_call",
            step=call.id,
            tool=call.name,
            tool_call_id=call.id,
            action=call.name,
            arguments=call.arguments,
        )
        blocked = [r for r in pre if r.blocked]
        if blocked:
            outcome, duration = "blocked", (time.perf_counter() - started) * 1000
            error = f"tool call blocked by a hook: {blocked[0].reason}"
            message = self._record_tool_call(run, call, outcome, duration, error=error, code=PermissionDeniedError.code)
            output: str | None = error
        else:
            result = await self._invoke_tool(run, call)
            outcome = "success" if result.success else "error"
            duration = (time.perf_counter() - started) * 1000
            if result.success:
                message = self._record_tool_call(run, call, outcome, duration, content=result.to_content())
            else:
                message = self._record_tool_call(
                    run, call, outcome, duration, error=result.error or "tool failed", code=result.error_code
                )
            output = message.content
        await run.fire(
            "post_tool_call",
            step=call.id,
            tool=call.name,
            tool_call_id=call.id,
            action=call.name,
            outcome=outcome,
            status=outcome,
            result=output,
            duration_ms=duration,
        )
        return message

    def _record_tool_call(
        self,
        run: AgentRun,
        call: ToolCall,
        outcome: str,
        duration: float,
        *,
        content: str | None = None,
        error: str | None = None,
        code: str | None = None,
    ) -> Message:
        """Append the call's record to the run and build the tool message the model gets."""
        record: dict[str, Any] = {
            "id": call.id,
            "name": call.name,
            "arguments": call.arguments,
            "outcome": outcome,
            "duration_ms": duration,
        }
        if error is not None:
            record["error_code"] = code
            content = json.dumps({"error": error, "error_code": code})
        run.tool_calls.append(record)
        if outcome == "success":
            run.execution_context.record_tool_usage(call.name)
        return Message(role="tool", content=content, tool_call_id=call.id, name=call.name, is_error=error is not None)

    async def _invoke_tool(self, run: AgentRun, call: ToolCall) -> ToolResult:
        """Execute one permitted, unblocked call under the interrupt guard. Subclasses wrap it."""
        assert self.tools is not None
        result: ToolResult = await run.guard(self.tools.execute, call.name, call.arguments)
        return result

    # --- interrupts -------------------------------------------------------------------------
    def agent_state(self, run: AgentRun, status: str) -> AgentState:
        """The run as an AgentState (what a checkpoint stores)."""
        from kaizen_core.state import AgentState

        return AgentState(**self._state_fields(run, status, [m.model_dump(exclude_none=True) for m in run.messages]))

    def _state_fields(self, run: AgentRun, status: str, history: list[dict[str, Any]]) -> dict[str, Any]:
        """The fields of a run's AgentState that every kind of agent saves; ``history`` is the
        messages as dicts. Subclasses add to ``custom_state`` (a new dict of this call's)."""
        return {
            "agent_id": self.agent_id,
            "step_number": max(run.cycle, run.provider_calls),
            "status": status,
            "conversation_history": history,
            "completed_tool_calls": list(run.tool_calls),
            "budget_spent_usd": run.cost_usd,
            "custom_state": {"inputs": run.inputs, "run_id": run.run_id, **run.extra},
        }

    async def _interrupted(self, run: AgentRun) -> AgentInterrupted:
        """Checkpoint the stopped run and build its AgentInterrupted (``.result``: the partial result).

        A checkpoint store that fails here (StorageError) does not replace the interrupt:
        the failure fires ON_ERROR, is logged and listed in ``result["_meta"]["storage_errors"]``.
        """
        manager = self.interrupt_manager
        scope = run.scope
        reason = scope.reason if scope is not None else None
        await run.fire("pre_interrupt", reason=reason.model_dump(mode="json") if reason else None)
        checkpoint_id = None
        # A handler's checkpoint_before_stop (True/False) overrides the config for its interrupt.
        asked = reason.metadata.get("checkpoint_before_stop") if reason is not None else None
        wanted = self.config.checkpoint_on_interrupt if asked is None else asked
        if asked and self.state_manager is None:
            logging.getLogger(__name__).warning(
                "agent %s: no checkpoint saved on interrupt, the agent has no checkpoint store", self.agent_id
            )
        if wanted and self.state_manager is not None:
            try:
                checkpoint_id = await self.state_manager.save_checkpoint(
                    self.agent_state(run, "interrupted"), force=True
                )
            except StorageError as exc:
                await self._storage_failed(run, exc, "checkpoint", status="interrupted")
            if reason is not None and checkpoint_id is not None:
                reason.metadata["checkpoint_id"] = checkpoint_id
        await manager.run_shutdown_callbacks()
        await run.fire("post_interrupt", checkpoint_id=checkpoint_id)
        message = f"agent {self.agent_id} interrupted: {reason.message if reason else 'stop requested'}"
        result = self._result(run, {})
        await self._fire_loop_end(run, "interrupted", {}, result)
        return AgentInterrupted(message, reason=reason, result=result)

    async def _storage_failed(self, run: AgentRun, exc: StorageError, phase: str, **details: Any) -> None:
        """Record a storage failure the run survives: ON_ERROR, a warning, ``_meta["storage_errors"]``."""
        record = {"phase": phase, "error_code": exc.code, "error": exc.message, "cycle": run.cycle, **details}
        run.storage_errors.append(record)
        logging.getLogger(__name__).warning(
            "agent %s run %s: %s write failed in cycle %d; the run continues: %s",
            self.agent_id,
            run.run_id,
            phase,
            run.cycle,
            exc,
        )
        await run.fire("on_error", error=exc, error_code=exc.code, phase=phase, **details)

    # --- misc -----------------------------------------------------------------------------
    def _fire_sync(self, event: str) -> None:
        hooks = self._hooks
        if hooks is None:
            return
        from kaizen_core.hooks import HookEvent

        ev = HookEvent(event)
        if hooks.has_handlers(ev):
            run_sync(lambda: hooks.trigger(ev, agent_id=self.agent_id))

    def to_a2a_card(self, *, url: str = "http://localhost:8000/", version: str = "0.1.0") -> dict[str, Any]:
        """An A2A AgentCard (JSON form) describing this agent, its signature and tools."""
        from kaizen_core.agents.a2a import agent_card

        return agent_card(self, url=url, version=version)

    async def aclose(self) -> None:
        """Release the provider's, the response cache's and the state manager's connections, stop
        the agent's MCP servers, and stop a control protocol the agent started on demand. Safe to call twice.

        Clients are bound to the event loop that made them: close an agent used through
        the sync API with :meth:`close`, one used with ``await`` with ``aclose()``.
        """
        await self._stop_control_started_by_agent()
        await self._close_mcp()
        await self.provider.aclose()
        await self._close_response_cache()
        if self._state_manager is not None:
            await self._state_manager.close()

    def close(self) -> None:
        """Blocking :meth:`aclose`, on the loop the sync API runs on (see kaizen_core._sync)."""
        run_sync(self.aclose)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agent_id={self.agent_id!r}, provider={self.provider.name!r}, signature={self.signature!r})"


def _as_signature(signature: Signature | type[Signature] | str | None) -> Signature:
    if signature is None:
        raise ConfigError("an agent needs a signature", hint="pass signature=MySignature() or 'question -> answer'")
    if isinstance(signature, str):
        return Signature.parse(signature)
    if isinstance(signature, type) and issubclass(signature, Signature):
        return signature()
    if isinstance(signature, Signature):
        return signature
    raise ConfigError(f"signature must be a Signature, got {type(signature).__name__}")


def _as_tool_registry(tools: Any, configured: list[str] | str, *, always: bool = False) -> ToolRegistry | None:
    if tools is None and not configured and not always:
        return None
    from kaizen_core.tools import ToolRegistry

    if isinstance(tools, ToolRegistry):
        return tools
    return ToolRegistry.from_config(configured or [], extra=tools or [])
