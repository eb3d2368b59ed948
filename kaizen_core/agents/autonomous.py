"""BaseAutonomousAgent: the multi-cycle tool loop with permissions, approvals and crash-safe resume.

    agent = BaseAutonomousAgent(AutonomousConfig(llm_provider="mock", checkpoint_storage="file://./ckpt"),
                                "task -> summary", tools=["read_file", "write_file"], agent_id="organizer")
    result = agent.run_autonomous_sync("tidy the folder")
    result["summary"], result["stop_reason"], result["cycles_used"], result["tool_calls"]

One cycle: check interrupts and budget, ask the model, check each tool call's
permission (ASK goes to the control protocol), run the calls (consecutive SAFE calls
concurrently), feed the results back. The loop stops when the model answers without
calling a tool (``converged``), at ``max_cycles``, when the budget is spent
(``budget``), after too many invalid tool calls (``tool_errors``), or on an
interrupt (``interrupted``: :class:`~kaizen_core.errors.AgentInterrupted` is raised,
its ``result`` holds the partial result).

Crash safety: the model's tool-calling reply and every tool call are journaled in the
checkpoint store (``StateManager.journal_append``): the reply before its tools run,
each call before it runs and its result after. A checkpoint is saved when the run
starts, every ``checkpoint_frequency`` cycles, and when it stops. On resume the cycles
after the checkpoint are replayed from the journal: recorded results are reused (never
executed twice); a call that started without a recorded result is re-run only when its
tool is ``idempotent``, otherwise the model is told its outcome is unknown.

Storage outages (CHECKPOINT_003 :class:`~kaizen_core.errors.StorageError` from the
store) do not end a run, except the very first checkpoint of a fresh run (so an
unreachable or misconfigured store fails fast). A failed periodic checkpoint fires
``ON_ERROR`` (``phase="checkpoint"``), logs a warning and is retried at the end of the
next cycle. A journal append is retried with bounded backoff for up to
``storage_retry_seconds``; if it still fails, ``ON_ERROR`` fires (``phase="journal"``)
and the run goes on, with crash safety degraded for that call until the next
checkpoint is saved (which then happens at the end of the cycle). The final checkpoint
(``completed`` or ``paused``) is retried for up to ``storage_retry_seconds`` too; if
the store is still down the result is returned anyway. Every failure that was given
up on is listed in ``result["_meta"]["storage_errors"]``.

Providers without native tool calling (``supports_tools = False``) use the JSON
protocol described in docs/autonomy.md: the model replies ``{"tool_calls": [...]}``
or ``{"final_answer": {...}}``, constrained by a JSON schema built from the tools and
the signature's outputs.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import anyio

from kaizen_core._sync import run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.agents.prompting import initial_messages
from kaizen_core.agents.run import AgentRun
from kaizen_core.agents.strategies import validate_or_correct
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import (
    AgentInterrupted,
    CheckpointNotFoundError,
    ConfigError,
    InputValidationError,
    StorageError,
)
from kaizen_core.permissions import ExecutionContext, PermissionMode, PermissionRule, PermissionType
from kaizen_core.providers.base import parse_json_output
from kaizen_core.providers.types import Completion, Message, ToolCall, Usage

if TYPE_CHECKING:
    from kaizen_core.control import ControlProtocol
    from kaizen_core.state import AgentState
    from kaizen_core.tools import Tool

__all__ = ["STOP_REASONS", "AutonomousRun", "BaseAutonomousAgent", "json_protocol_schema"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Why a run ended (``result["stop_reason"]``).
STOP_REASONS = ("converged", "max_cycles", "budget", "tool_errors", "interrupted")

NATIVE_INSTRUCTIONS = (
    "You are an autonomous agent. Call the available tools as needed, one step at a time; "
    "tool results come back to you. When the task is done, reply without calling any tool, "
    "with the final JSON answer."
)


@dataclass
class AutonomousRun(AgentRun):
    """An :class:`AgentRun` plus what the tool loop needs (journal index, permissions)."""

    execution_context: ExecutionContext = field(default_factory=ExecutionContext)
    native_tools: bool = True
    tool_errors: int = 0
    journal_stream: str | None = None
    journal_assistant: dict[int, dict[str, Any]] = field(default_factory=dict)
    journal_started: dict[str, dict[str, Any]] = field(default_factory=dict)
    journal_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Storage failures the run gave up on (``_meta["storage_errors"]``); not checkpointed.
    storage_errors: list[dict[str, Any]] = field(default_factory=list)
    #: A checkpoint or journal write failed: save a checkpoint at the end of the next cycle.
    checkpoint_due: bool = False


def json_protocol_schema(tool_names: list[str], output_schema: dict[str, Any]) -> dict[str, Any]:
    """The reply schema of the JSON tool protocol: ``tool_calls`` or ``final_answer``."""
    schema = dict(output_schema)
    defs = schema.pop("$defs", None)
    protocol: dict[str, Any] = {
        "type": "object",
        "properties": {
            "tool_calls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": tool_names} if tool_names else {"type": "string"},
                        "arguments": {"type": "object"},
                    },
                    "required": ["name", "arguments"],
                },
            },
            "final_answer": schema,
        },
    }
    if defs:
        protocol["$defs"] = defs
    return protocol


def _json_protocol_instructions(agent: BaseAutonomousAgent) -> str:
    tools = [
        {"name": d.name, "description": d.description, "parameters": d.parameters} for d in agent.tool_definitions()
    ]
    return (
        "You are an autonomous agent that acts through tools. Tools:\n"
        + json.dumps(tools, separators=(",", ":"))
        + "\nReply with exactly one JSON object and nothing else:\n"
        '- to call tools: {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}\n'
        '- when the task is done: {"final_answer": {<the output fields>}}\n'
        "Tool results come back in a user message starting with 'Tool results:'."
    )


class BaseAutonomousAgent(BaseAgent):
    """An agent that calls tools over many cycles until the task is done. See the module docstring."""

    config_class: ClassVar[type[AutonomousConfig]] = AutonomousConfig
    config: AutonomousConfig
    #: How long a journal append or the final checkpoint is retried while the store is down.
    storage_retry_seconds: float = 10.0
    #: First pause between those retries (doubled each time, at most 2 s).
    storage_retry_delay: float = 0.1

    def __init__(
        self,
        config: Any = None,
        signature: Any = None,
        provider: Any = None,
        hook_manager: Any = None,
        tools: Any = None,
        agent_id: str | None = None,
        *,
        state_manager: Any = None,
        interrupt_manager: Any = None,
        control_protocol: ControlProtocol | None = None,
        execution_context: ExecutionContext | None = None,
        memory: Any = None,
    ) -> None:
        super().__init__(
            config,
            signature,
            provider=provider,
            hook_manager=hook_manager,
            tools=tools,
            agent_id=agent_id,
            state_manager=state_manager,
            interrupt_manager=interrupt_manager,
            memory=memory,
        )
        if self.tools is None:
            from kaizen_core.tools import ToolRegistry

            self.tools = ToolRegistry()
        if self.config.workspace_root is not None:
            from pathlib import Path

            self.tools.context.workspace_root = Path(self.config.workspace_root)
        self.control_protocol = control_protocol
        self._execution_context = execution_context
        self._rules = [PermissionRule(**rule) for rule in self.config.permission_rules]

    # --- public API -----------------------------------------------------------------------
    async def run_autonomous(self, task: str | dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """Run the tool loop on ``task`` (a string for the signature's task/only input, or an inputs dict)."""
        return await self.run_async(session_id=session_id, **self._task_inputs(task))

    def run_autonomous_sync(self, task: str | dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """Blocking :meth:`run_autonomous` (also inside a running event loop)."""
        return run_sync(lambda: self.run_autonomous(task, session_id=session_id))

    async def run_async(self, session_id: str | None = None, **inputs: Any) -> dict[str, Any]:
        """Validate inputs and run the autonomous loop (``agent.run(**inputs)`` works too)."""
        values = self.signature.validate_inputs(inputs)
        history = await self.memory.get_turns(session_id) if self.memory is not None and session_id else []
        run = self._new_run(uuid.uuid4().hex, values, session_id)
        run.messages = initial_messages(self.signature, values, history, extra_system=self._system_extra(run))
        return await self._execute(run)

    async def resume_from_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        """Continue the run saved as ``checkpoint_id``; tool calls journaled after it are replayed, not re-run."""
        manager = self._require_state_manager()
        state = await manager.load_checkpoint(checkpoint_id)
        return await self._resume(state)

    async def resume_from_latest(self) -> dict[str, Any]:
        """Continue this agent's newest checkpoint (the agent id must be the one of the crashed run)."""
        manager = self._require_state_manager()
        state = await manager.resume_from_latest(self.agent_id)
        if state is None:
            raise CheckpointNotFoundError(
                f"agent {self.agent_id!r} has no checkpoint to resume from",
                hint="pass the same agent_id as the interrupted run, and the same checkpoint_storage",
            )
        return await self._resume(state)

    def resume_from_checkpoint_sync(self, checkpoint_id: str) -> dict[str, Any]:
        return run_sync(self.resume_from_checkpoint, checkpoint_id)

    def resume_from_latest_sync(self) -> dict[str, Any]:
        return run_sync(self.resume_from_latest)

    # --- run construction -------------------------------------------------------------------
    def _task_inputs(self, task: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(task, dict):
            return task
        fields = list(self.signature.input_fields())
        if "task" in fields:
            return {"task": task}
        if len(fields) == 1:
            return {fields[0]: task}
        raise InputValidationError(
            f"cannot map a task string onto the inputs {', '.join(fields)} of {type(self.signature).__name__}",
            hint="pass a dict of inputs, or give the signature a 'task' input",
        )

    def _new_run(self, run_id: str, inputs: dict[str, Any], session_id: str | None) -> AutonomousRun:
        run = AutonomousRun(
            agent=self,
            run_id=run_id,
            inputs=inputs,
            messages=[],
            session_id=session_id,
            execution_context=self._execution_context or self._make_execution_context(),
            native_tools=bool(getattr(self.provider, "supports_tools", True)),
        )
        if self._journaling:
            run.journal_stream = f"{self.agent_id}.{run_id}.tools"
        return run

    def _make_execution_context(self) -> ExecutionContext:
        cfg = self.config
        return ExecutionContext(
            mode=PermissionMode(cfg.permission_mode),
            budget_limit=cfg.max_budget_usd,
            allowed_tools=cfg.allowed_tools,
            denied_tools=cfg.denied_tools,
            rules=self._rules,
        )

    def _system_extra(self, run: AutonomousRun) -> str:
        return NATIVE_INSTRUCTIONS if run.native_tools else _json_protocol_instructions(self)

    @property
    def _journaling(self) -> bool:
        return self.config.enable_checkpoints and self.state_manager is not None

    def _require_state_manager(self) -> Any:
        manager = self.state_manager
        if manager is None:
            raise ConfigError(
                "resuming needs a checkpoint store", hint="set checkpoint_storage in the config or pass state_manager"
            )
        return manager

    async def _resume(self, state: AgentState) -> dict[str, Any]:
        custom = dict(state.custom_state)
        if "run_id" not in custom or "cycle" not in custom:
            raise CheckpointNotFoundError(
                f"checkpoint {state.checkpoint_id} was not written by an autonomous run", code="CHECKPOINT_002"
            )
        if state.status == "completed" and "final_result" in custom:
            result: dict[str, Any] = custom["final_result"]
            return result
        run = self._new_run(custom.pop("run_id"), custom.pop("inputs", {}), custom.pop("session_id", None))
        run.messages = [Message.model_validate(m) for m in state.conversation_history]
        run.cycle = int(custom.pop("cycle"))
        usage = custom.pop("usage", {})
        run.usage = Usage(
            input_tokens=usage.get("input_tokens", 0),
            output_tokens=usage.get("output_tokens", 0),
            cost_usd=usage.get("cost_usd", 0.0),
        )
        run.provider_calls = int(custom.pop("provider_calls", 0))
        run.invalid_outputs = int(custom.pop("invalid_outputs", 0))
        run.tool_errors = int(custom.pop("tool_errors", 0))
        run.tool_calls = list(state.completed_tool_calls)
        run.extra = custom
        run.extra.pop("stop_reason", None)
        run.execution_context.record_cost(state.budget_spent_usd)
        await self._load_journal(run)
        run.extra.setdefault("resumed_from", []).append(state.checkpoint_id)
        return await self._execute(run)

    async def _load_journal(self, run: AutonomousRun) -> None:
        if run.journal_stream is None:
            return
        manager = self._require_state_manager()
        for entry in await manager.journal_read(run.journal_stream):
            kind = entry.get("type")
            if kind == "assistant" and int(entry["cycle"]) > run.cycle:
                run.journal_assistant[int(entry["cycle"])] = entry
            elif kind == "start":
                run.journal_started[entry["key"]] = entry
            elif kind == "result":
                run.journal_results[entry["key"]] = entry

    async def _journal(self, run: AutonomousRun, entry: dict[str, Any]) -> None:
        """Append to the tool journal, retrying a storage failure; a lasting one is reported, not raised."""
        stream = run.journal_stream
        if stream is None:
            return
        manager = self._require_state_manager()
        try:
            await self._retry_storage(lambda: manager.journal_append(stream, entry))
        except StorageError as exc:
            details = {"entry_type": entry.get("type")}
            if "key" in entry:
                details["key"] = entry["key"]
            await self._storage_failed(run, exc, "journal", **details)

    async def _retry_storage(self, operation: Callable[[], Awaitable[T]], budget: float | None = None) -> T:
        """Run ``operation``; retry a :class:`StorageError` with backoff for up to ``budget`` seconds."""
        budget = self.storage_retry_seconds if budget is None else budget
        deadline = time.monotonic() + budget
        delay = self.storage_retry_delay
        while True:
            try:
                return await operation()
            except StorageError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                await anyio.sleep(min(delay, remaining))
                delay = min(delay * 2, 2.0)

    async def _storage_failed(self, run: AutonomousRun, exc: StorageError, phase: str, **details: Any) -> None:
        """Record a storage failure the run survives: ON_ERROR, a warning, ``_meta["storage_errors"]``."""
        run.checkpoint_due = True
        record = {"phase": phase, "error_code": exc.code, "error": exc.message, "cycle": run.cycle, **details}
        run.storage_errors.append(record)
        logger.warning(
            "agent %s run %s: %s write failed in cycle %d; the run continues: %s",
            self.agent_id,
            run.run_id,
            phase,
            run.cycle,
            exc,
        )
        await run.fire(
            "on_error", error=exc.message, error_type=type(exc).__name__, error_code=exc.code, phase=phase, **details
        )

    # --- checkpoints ------------------------------------------------------------------------
    def agent_state(self, run: AgentRun, status: str) -> AgentState:
        state = super().agent_state(run, status)
        state.custom_state.update(
            cycle=run.cycle,
            session_id=run.session_id,
            provider_calls=run.provider_calls,
            invalid_outputs=run.invalid_outputs,
            tool_errors=getattr(run, "tool_errors", 0),
            usage={
                "input_tokens": run.usage.input_tokens,
                "output_tokens": run.usage.output_tokens,
                "cost_usd": run.cost_usd,
            },
        )
        return state

    async def _checkpoint(
        self, run: AutonomousRun, status: str, *, force: bool = False, final: bool = False, fatal: bool = False
    ) -> str | None:
        """Save a checkpoint; None when skipped or when the store failed.

        A :class:`StorageError` is raised only when ``fatal``; otherwise it is reported
        (:meth:`_storage_failed`) and the save is retried at the end of the next cycle.
        ``final`` saves are retried with backoff for up to ``storage_retry_seconds`` first.
        A failed save leaves no trace: the next checkpoint's parent is the last one saved.
        """
        manager = self.state_manager
        if manager is None or not self.config.enable_checkpoints:
            return None

        async def save() -> str | None:
            saved: str | None = await manager.save_checkpoint(self.agent_state(run, status), force=force)
            return saved

        if fatal:
            checkpoint_id = await save()
        else:
            try:
                checkpoint_id = await self._retry_storage(save, None if final else 0.0)
            except StorageError as exc:
                await self._storage_failed(run, exc, "checkpoint", status=status, final=final)
                if final:
                    logger.error(
                        "agent %s run %s: the final checkpoint was not saved; the newest saved one is %s",
                        self.agent_id,
                        run.run_id,
                        run.extra.get("checkpoint_id"),
                    )
                return None
        run.checkpoint_due = False
        if checkpoint_id is not None:
            run.extra["checkpoint_id"] = checkpoint_id
        return checkpoint_id

    # --- the loop ---------------------------------------------------------------------------
    async def _run_strategy(self, run: AgentRun) -> dict[str, Any]:
        assert isinstance(run, AutonomousRun)
        started_control = False
        if self.control_protocol is not None and not self.control_protocol.started:
            await self.control_protocol.start()
            started_control = True
        try:
            return await self._loop(run)
        finally:
            if started_control and self.control_protocol is not None:
                with anyio.CancelScope(shield=True):
                    await self.control_protocol.stop()

    async def _loop(self, run: AutonomousRun) -> dict[str, Any]:
        cfg = self.config
        if run.cycle == 0 and not run.journal_assistant and "checkpoint_id" not in run.extra:
            await self._checkpoint(run, "running", fatal=True)  # an unreachable store fails fast
        if cfg.planning_enabled and "plan" not in run.extra:
            await self._plan(run)
        while True:
            run.raise_if_interrupted()
            if run.cycle >= cfg.max_cycles:
                return await self._stop(run, "max_cycles")
            limit = run.execution_context.budget_limit
            if limit is not None and run.execution_context.budget_spent >= limit:
                return await self._stop(run, "budget")
            run.cycle += 1
            await run.fire("pre_cycle")
            await self._progress(run)
            completion, calls = await self._next_reply(run)
            if not calls:
                outputs = await validate_or_correct(run, completion)
                await run.fire("post_cycle", tool_calls=0)
                if outputs is not None:
                    run.extra["stop_reason"] = "converged"
                    await self._finish_checkpoint(run, outputs)
                    return outputs
                continue
            content = completion.content
            self._append_assistant(run, content, calls)
            results = await self.execute_tool_calls(run, calls)
            self._append_results(run, calls, results)
            await run.fire("post_cycle", tool_calls=len(calls))
            if cfg.max_tool_errors and run.tool_errors > cfg.max_tool_errors:
                return await self._stop(run, "tool_errors")
            if run.checkpoint_due or run.cycle % cfg.checkpoint_frequency == 0:
                await self._checkpoint(run, "running")

    async def _next_reply(self, run: AutonomousRun) -> tuple[Completion, list[ToolCall]]:
        """The model's reply for this cycle and its tool calls.

        After a crash the reply is replayed from the journal; otherwise the model is asked
        and its reply journaled before anything acts on it.
        """
        journaled = run.journal_assistant.get(run.cycle)
        if journaled is not None:
            calls = [ToolCall.model_validate(c) for c in journaled["tool_calls"]]
            completion = Completion(content=journaled.get("content"), parsed=journaled.get("parsed"))
            return completion, calls
        if run.native_tools:
            completion = await run.complete(tools=self.tool_definitions())
            calls = list(completion.tool_calls)
        else:
            schema = json_protocol_schema(self.tools.names() if self.tools else [], self.signature.output_schema())
            completion = await run.complete(output_schema=schema)
            completion, calls = self._parse_protocol_reply(run, completion)
        self._account_cost(run, completion)
        await self._journal(
            run,
            {
                "type": "assistant",
                "cycle": run.cycle,
                "content": completion.content,
                "parsed": completion.parsed,
                "tool_calls": [c.model_dump() for c in calls],
            },
        )
        return completion, calls

    def _parse_protocol_reply(self, run: AutonomousRun, completion: Completion) -> tuple[Completion, list[ToolCall]]:
        data = completion.parsed if completion.parsed is not None else parse_json_output(completion.content)
        if not isinstance(data, dict):
            return completion, []
        raw_calls = data.get("tool_calls")
        if isinstance(raw_calls, list) and raw_calls:
            calls = []
            for i, raw in enumerate(raw_calls):
                if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                    raw = {"name": "(invalid)", "arguments": {"call": raw}}
                arguments = raw.get("arguments")
                calls.append(
                    ToolCall(
                        id=str(raw.get("id") or f"call_{run.cycle}_{i}"),
                        name=raw["name"],
                        arguments=arguments if isinstance(arguments, dict) else {},
                    )
                )
            return completion, calls
        if isinstance(data.get("final_answer"), dict):
            return completion.model_copy(update={"parsed": data["final_answer"]}), []
        return completion.model_copy(update={"parsed": data}), []

    def _append_assistant(self, run: AutonomousRun, content: str | None, calls: list[ToolCall]) -> None:
        if run.native_tools:
            run.messages.append(Message(role="assistant", content=content, tool_calls=calls))
        else:
            text = content or json.dumps({"tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls]})
            run.messages.append(Message(role="assistant", content=text))

    def _append_results(self, run: AutonomousRun, calls: list[ToolCall], results: list[Message]) -> None:
        if run.native_tools:
            run.messages.extend(results)
            return
        payload = [{"id": c.id, "name": c.name, "result": m.content} for c, m in zip(calls, results, strict=True)]
        run.messages.append(Message(role="user", content="Tool results:\n" + json.dumps(payload)))

    def _account_cost(self, run: AutonomousRun, completion: Completion) -> None:
        cost = completion.usage.cost_usd or 0.0
        if cost:
            run.execution_context.record_cost(cost)
        limit = run.execution_context.budget_limit
        if limit and not run.extra.get("budget_alert") and run.execution_context.budget_spent >= (
            limit * self.config.budget_alert_threshold
        ):
            run.extra["budget_alert"] = True
            logger.warning(
                "agent %s spent $%.4f of its $%.4f budget", self.agent_id, run.execution_context.budget_spent, limit
            )

    async def _plan(self, run: AutonomousRun) -> None:
        await run.fire("pre_plan_generation")
        run.messages.append(
            Message(role="user", content="Before acting, write a short numbered plan for this task. Do not call tools yet.")
        )
        completion = await run.complete(with_schema=False)
        self._account_cost(run, completion)
        plan = (completion.content or "").strip()
        run.messages.append(Message(role="assistant", content=plan))
        run.messages.append(Message(role="user", content="Now carry out the plan."))
        run.extra["plan"] = plan
        await run.fire("post_plan_generation", plan=plan)

    async def _progress(self, run: AutonomousRun) -> None:
        control = self.control_protocol
        if control is not None and control.started:
            percentage = 100.0 * (run.cycle - 1) / self.config.max_cycles
            await control.report_progress(f"cycle {run.cycle} of at most {self.config.max_cycles}", percentage)

    async def _stop(self, run: AutonomousRun, reason: str) -> dict[str, Any]:
        run.extra["stop_reason"] = reason
        await self._checkpoint(run, "paused", force=True, final=True)
        return {name: None for name in self.signature.output_fields()}

    async def _finish_checkpoint(self, run: AutonomousRun, outputs: dict[str, Any]) -> None:
        if self.state_manager is None or not self.config.enable_checkpoints:
            return
        final = self._result(run, outputs)
        run.extra["final_result"] = json.loads(json.dumps(final, default=str))
        try:
            await self._checkpoint(run, "completed", force=True, final=True)
        finally:
            run.extra.pop("final_result", None)

    async def _interrupted(self, run: AgentRun) -> AgentInterrupted:
        run.extra["stop_reason"] = "interrupted"
        return await super()._interrupted(run)

    # --- result -----------------------------------------------------------------------------
    def _result(self, run: AgentRun, outputs: dict[str, Any]) -> dict[str, Any]:
        result = super()._result(run, outputs)
        meta = result["_meta"]
        extra = {
            "stop_reason": run.extra.get("stop_reason", "interrupted"),
            "cycles_used": run.cycle,
            "tool_calls": list(run.tool_calls),
            "permission_decisions": list(run.extra.get("permission_decisions", [])),
            "usage": meta["usage"],
            "cost": meta["cost"],
            "run_id": run.run_id,
            "checkpoint_id": run.extra.get("checkpoint_id"),
        }
        if "plan" in run.extra:
            extra["plan"] = run.extra["plan"]
        if run.extra.get("resumed_from"):
            extra["resumed_from"] = list(run.extra["resumed_from"])
        storage_errors = getattr(run, "storage_errors", None)
        if storage_errors:
            extra["storage_errors"] = list(storage_errors)
        meta.update(extra)
        return {**extra, **result}

    # --- tools ------------------------------------------------------------------------------
    async def execute_tool_calls(self, run: AgentRun, calls: list[ToolCall]) -> list[Message]:
        """Run the calls; consecutive calls to SAFE tools run concurrently, the others one by one in order."""
        results: list[Message | None] = [None] * len(calls)

        async def one(index: int) -> None:
            results[index] = await self.execute_tool_call(run, calls[index])

        for batch in self._batches(calls):
            if len(batch) == 1:
                await one(batch[0])
                continue
            first_record = len(run.tool_calls)
            try:
                async with anyio.create_task_group() as tg:
                    for index in batch:
                        tg.start_soon(one, index)
            except BaseExceptionGroup as group:  # surface RunStopped & co. unwrapped
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
            # Concurrent calls finish in any order; the result lists them in the model's order.
            position = {call.id: i for i, call in enumerate(calls)}
            run.tool_calls[first_record:] = sorted(
                run.tool_calls[first_record:], key=lambda r: position.get(r["id"], len(calls))
            )
        return [m for m in results if m is not None]

    def _batches(self, calls: list[ToolCall]) -> list[list[int]]:
        from kaizen_core.tools import DangerLevel

        batches: list[list[int]] = []
        current: list[int] = []
        for i, call in enumerate(calls):
            tool = self.tools.get(call.name) if self.tools else None
            if tool is not None and tool.danger_level is DangerLevel.SAFE:
                current.append(i)
                continue
            if current:
                batches.append(current)
                current = []
            batches.append([i])
        if current:
            batches.append(current)
        return batches

    async def execute_tool_call(self, run: AgentRun, call: ToolCall) -> Message:
        """Replay from the journal, or check permission and run (PRE/POST_TOOL_CALL via BaseAgent)."""
        assert isinstance(run, AutonomousRun)
        key = f"{run.cycle}/{call.id}"
        replayed = run.journal_results.get(key)
        if replayed is not None:
            run.tool_calls.append({**replayed["record"], "replayed": True})
            return self._tool_message(call, replayed["content"])
        tool = self.tools.get(call.name) if self.tools else None
        if key in run.journal_started and tool is not None and not tool.idempotent:
            content = json.dumps(
                {
                    "error": (
                        f"outcome unknown: the call to {call.name!r} started before the run was interrupted "
                        "and its result was not recorded; it was not re-run because the tool is not idempotent. "
                        "Check its effect before calling it again."
                    ),
                    "error_code": "EXEC_004",
                }
            )
            return await self._record(run, call, key, content, "unknown", 0.0)
        if tool is not None:
            denied = await self._check_permission(run, call, tool)
            if denied is not None:
                content = json.dumps({"error": f"permission denied for {call.name!r}: {denied}", "error_code": "EXEC_005"})
                return await self._record(run, call, key, content, "denied", 0.0)
        message = await super().execute_tool_call(run, call)
        record = run.tool_calls[-1] if run.tool_calls and run.tool_calls[-1]["id"] == call.id else None
        if record is None:  # concurrent calls may have appended after ours
            record = next(r for r in reversed(run.tool_calls) if r["id"] == call.id)
        run.execution_context.record_tool_usage(call.name)
        await self._journal(run, {"type": "result", "key": key, "content": message.content, "record": record})
        return message

    async def _record(
        self, run: AutonomousRun, call: ToolCall, key: str, content: str, outcome: str, duration: float
    ) -> Message:
        record = {"id": call.id, "name": call.name, "arguments": call.arguments, "outcome": outcome, "duration_ms": duration}
        run.tool_calls.append(record)
        await self._journal(run, {"type": "result", "key": key, "content": content, "record": record})
        return self._tool_message(call, content)

    @staticmethod
    def _tool_message(call: ToolCall, content: str | None) -> Message:
        return Message(role="tool", content=content, tool_call_id=call.id, name=call.name)

    async def _invoke_tool(self, run: AgentRun, call: ToolCall) -> tuple[str, str]:
        """Journal the start, run the tool under the interrupt guard, count invalid calls."""
        assert isinstance(run, AutonomousRun) and self.tools is not None
        key = f"{run.cycle}/{call.id}"
        await self._journal(run, {"type": "start", "key": key, "name": call.name, "arguments": call.arguments})
        result = await run.guard(self.tools.execute, call.name, call.arguments)
        if result.error_code == "EXEC_001":
            run.tool_errors += 1
        return result.to_content(), "success" if result.success else "error"

    async def _check_permission(self, run: AutonomousRun, call: ToolCall, tool: Tool) -> str | None:
        """None when the call may run, else the reason it may not. Fires PRE/POST_PERMISSION_CHECK."""
        await run.fire("pre_permission_check", tool=call.name, arguments=call.arguments, danger_level=tool.danger_level.value)
        decision = run.execution_context.can_use_tool(call.name, tool.danger_level)
        final, reason, approved = decision.type, decision.reason, None
        if decision.type is PermissionType.ASK:
            approved = await self._ask_approval(call, tool, decision.reason)
            final = PermissionType.ALLOW if approved else PermissionType.DENY
            reason = (
                f"approved through the control protocol ({decision.reason})"
                if approved
                else f"not approved: {decision.reason}; approval was refused or not given in time"
                if self.control_protocol is not None
                else f"not approved: {decision.reason}; no control protocol to ask for approval"
            )
        entry = {
            "cycle": run.cycle,
            "call_id": call.id,
            "tool": call.name,
            "decision": final.value,
            "initial_decision": decision.type.value,
            "source": decision.source,
            "reason": reason,
        }
        run.extra.setdefault("permission_decisions", []).append(entry)
        await run.fire("post_permission_check", **entry)
        return None if final is PermissionType.ALLOW else reason

    async def _ask_approval(self, call: ToolCall, tool: Tool, reason: str) -> bool:
        control = self.control_protocol
        if control is None:
            return False
        details = {"arguments": call.arguments, "danger_level": tool.danger_level.value, "reason": reason}
        return await control.request_approval(call.name, details, timeout=self.config.approval_timeout)

