"""BaseAutonomousAgent: the multi-cycle tool loop with permissions, approvals and crash-safe resume.

    agent = BaseAutonomousAgent(AutonomousConfig(llm_provider="mock", checkpoint_storage="file://./ckpt"),
                                "task -> summary", tools=["read_file", "write_file"], agent_id="organizer")
    result = agent.run_autonomous_sync("tidy the folder")
    result["summary"], result["stop_reason"], result["cycles_used"], result["tool_calls"]

One cycle: check interrupts and budget, ask the model, pass each tool call through the
agent's permission gate (:mod:`kaizen_core.permissions.gate`; ASK goes to the control
protocol), run the calls (consecutive SAFE calls concurrently), feed the results back.

The loop ends with a result that always satisfies the signature:

* ``converged``: the model answered without calling a tool;
* ``max_cycles`` / ``tool_errors``: the cycles, or the tolerated invalid tool calls, are
  spent; the model is asked once more for the final answer with the tools withheld;
* repeated identical calls (:mod:`kaizen_core.agents.repeat_guard`): after
  ``max_repeated_calls`` repeats the tools are withheld and the final answer asked for
  (stop reason ``converged`` when it comes).

When no valid answer comes, :class:`~kaizen_core.errors.ConvergenceError` (AGENT_005)
is raised; a spent budget raises :class:`~kaizen_core.errors.BudgetExceededError`; an
interrupt raises :class:`~kaizen_core.errors.AgentInterrupted`. Each carries the partial
result in ``e.result`` (tool calls, usage, ``stop_reason``, ``checkpoint_id``).

Crash safety: the model's tool-calling reply and every tool call are journaled
(:mod:`kaizen_core.agents.journal`) before anything acts on them. A checkpoint is saved
when the run starts, every ``checkpoint_frequency`` cycles, and when it stops. On resume
the cycles after the checkpoint are replayed from the journal: recorded results are
reused (never executed twice); a call that started without a recorded result is re-run
only when its tool is ``idempotent``, otherwise the model is told its outcome is unknown.
A completed run's journal is deleted; its final checkpoint keeps the result.

Storage outages (CHECKPOINT_003 :class:`~kaizen_core.errors.StorageError`) do not end a
run, except the very first checkpoint of a fresh run (so an unreachable or misconfigured
store fails fast). A failed periodic checkpoint fires ``ON_ERROR`` (``phase="checkpoint"``),
logs a warning and is retried at the end of the next cycle. A journal append is retried
for up to ``storage_retry_seconds``; if it still fails, ``ON_ERROR`` fires
(``phase="journal"``) and the run goes on, with crash safety degraded for that call until
the next checkpoint. The final checkpoint is retried for up to ``storage_retry_seconds``
too. Every failure given up on is listed in ``result["_meta"]["storage_errors"]``.

Providers without native tool calling (``supports_tools = False``) use the JSON protocol
of :mod:`kaizen_core.agents.tool_protocol`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from kaizen_core._sync import run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.agents.journal import FlushGate, RunJournal, retry_storage
from kaizen_core.agents.prompting import extract_outputs, initial_messages
from kaizen_core.agents.repeat_guard import REPEAT_NOTE, RepeatGuard
from kaizen_core.agents.run import AgentRun, new_run_id
from kaizen_core.agents.strategies import validate_or_correct
from kaizen_core.agents.tool_methods import CapturesToolResults
from kaizen_core.agents.tool_protocol import (
    JsonToolProtocol,
    ToolProtocol,
    ask_final_answer,
    json_protocol_schema,
    tool_protocol_for,
)
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import (
    AgentInterrupted,
    BudgetExceededError,
    CheckpointNotFoundError,
    ConfigError,
    ConvergenceError,
    InputValidationError,
    StorageError,
    ToolExecutionError,
)
from kaizen_core.providers.types import Completion, Message, ToolCall, Usage

if TYPE_CHECKING:
    from kaizen_core.state import AgentState
    from kaizen_core.tools import ToolResult

__all__ = ["STOP_REASONS", "AutonomousConfig", "AutonomousRun", "BaseAutonomousAgent", "json_protocol_schema"]

logger = logging.getLogger(__name__)

#: Why a run ended (``result["stop_reason"]``, also on the partial result of a raised error).
STOP_REASONS = ("converged", "max_cycles", "budget", "tool_errors", "interrupted")


@dataclass
class AutonomousRun(AgentRun):
    """An :class:`AgentRun` plus what the tool loop needs (protocol, journal, repeat guard)."""

    protocol: ToolProtocol = field(default_factory=JsonToolProtocol)
    tool_errors: int = 0
    journal: RunJournal | None = None
    #: The concurrent tool batch running now: its calls' starts are flushed together.
    journal_gate: FlushGate | None = None
    repeats: RepeatGuard = field(default_factory=RepeatGuard)
    #: A checkpoint or journal write failed: save a checkpoint at the end of the next cycle.
    checkpoint_due: bool = False
    #: The messages' checkpoint dicts, kept between saves (a MessageDumps, made by the first save).
    message_dumps: Any = None


class DirectAutonomousRun(CapturesToolResults, AutonomousRun):
    """The run of one ``agent.execute_tool`` call on an autonomous agent (see :mod:`kaizen_core.agents.tool_methods`)."""


class BaseAutonomousAgent(BaseAgent):
    """An agent that calls tools over many cycles until the task is done. See the module docstring."""

    config_class: ClassVar[type[AutonomousConfig]] = AutonomousConfig
    config: AutonomousConfig
    always_has_tools: ClassVar[bool] = True
    #: How long a journal append or the final checkpoint is retried while the store is down.
    storage_retry_seconds: float = 10.0
    #: First pause between those retries (doubled each time, at most 2 s).
    storage_retry_delay: float = 0.1

    # --- public API -----------------------------------------------------------------------
    async def run_autonomous(self, task: str | dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """Run the tool loop on ``task`` (a string for the signature's task/only input, or an inputs dict)."""
        return await self.run_async(session_id=session_id, **self._task_inputs(task))

    async def execute_autonomously(self, task: str | dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """The same as :meth:`run_autonomous` (the name the autonomy overview uses)."""
        return await self.run_autonomous(task, session_id=session_id)

    def run_autonomous_sync(self, task: str | dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """Blocking :meth:`run_autonomous` (also inside a running event loop)."""
        return run_sync(lambda: self.run_autonomous(task, session_id=session_id))

    async def run_async(self, session_id: str | None = None, **inputs: Any) -> dict[str, Any]:
        """Validate inputs and run the autonomous loop (``agent.run(**inputs)`` works too)."""
        values = self.signature.validate_inputs(inputs)
        history = await self._recall_memory(session_id, values)
        run = self._new_run(new_run_id(), values, session_id)
        run.messages = initial_messages(self.signature, values, history, extra_system=run.protocol.instructions(self))
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
            protocol=tool_protocol_for(self),
            repeats=RepeatGuard(limit=self.config.max_repeated_calls),
        )
        manager = self.state_manager
        if self.config.enable_checkpoints and manager is not None:
            run.journal = RunJournal(
                manager,
                RunJournal.stream_name(self.agent_id, run_id),
                retry_seconds=self.storage_retry_seconds,
                retry_delay=self.storage_retry_delay,
            )
        return run

    def _tool_run(self) -> AgentRun:
        """The run of a direct ``execute_tool`` call: an autonomous run with no journal and no task."""
        return DirectAutonomousRun(agent=self, run_id=new_run_id(), inputs={}, messages=[])

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
            raise CheckpointNotFoundError(f"checkpoint {state.checkpoint_id} was not written by an autonomous run")
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
        run.permission_decisions = list(custom.pop("permission_decisions", []))
        run.tool_calls = list(state.completed_tool_calls)
        run.extra = custom
        run.extra.pop("stop_reason", None)
        if run.budgeted:
            run.execution_context.record_cost(state.budget_spent_usd)
            run.execution_context.record_tokens(run.usage.total_tokens)
        if run.journal is not None:
            await run.journal.load(after_cycle=run.cycle)
        run.extra.setdefault("resumed_from", []).append(state.checkpoint_id)
        return await self._execute(run)

    # --- storage ------------------------------------------------------------------------------
    async def _flush_journal(self, run: AutonomousRun) -> None:
        """Write the staged journal entries (one batch); a lasting storage failure is reported, not raised."""
        if run.journal is None:
            return
        batch, exc = await run.journal.flush()
        if exc is not None:
            details: dict[str, Any] = {"entry_types": [e.get("type") for e in batch]}
            keys = [e["key"] for e in batch if "key" in e]
            if keys:
                details["keys"] = keys
            await self._storage_failed(run, exc, "journal", **details)

    async def _storage_failed(self, run: AgentRun, exc: StorageError, phase: str, **details: Any) -> None:
        """As BaseAgent's, and the next cycle saves a checkpoint (crash safety is degraded until then)."""
        if isinstance(run, AutonomousRun):
            run.checkpoint_due = True
        await super()._storage_failed(run, exc, phase, **details)

    def agent_state(self, run: AgentRun, status: str) -> AgentState:
        """The run as an AgentState: BaseAgent's fields plus the loop's counters in ``custom_state``.

        Built from ``_state_fields`` rather than on top of ``super().agent_state``: the messages' dicts come from
        the run's :class:`~kaizen_core.state.agent_state.MessageDumps`, so a checkpoint
        serialises only the messages that are new or changed since the last one (every
        checkpoint of a long run would otherwise dump the whole history again). The state
        shares those dicts and the tool-call records with the run: it is for
        ``save_checkpoint``, which copies what it keeps, not for editing.
        """
        from kaizen_core.state import AgentState
        from kaizen_core.state.agent_state import MessageDumps

        dumps = getattr(run, "message_dumps", None)
        if dumps is None:
            dumps = MessageDumps()
            if isinstance(run, AutonomousRun):
                run.message_dumps = dumps
        # model_construct: every value is built here, of the field's type; validating would
        # only copy each message dict and tool-call record again (~1M instructions per save of
        # a 200-cycle run).
        fields = self._state_fields(run, status, dumps.dump(run.messages))
        fields["custom_state"].update(
            {
                "cycle": run.cycle,
                "session_id": run.session_id,
                "provider_calls": run.provider_calls,
                "invalid_outputs": run.invalid_outputs,
                "tool_errors": getattr(run, "tool_errors", 0),
                "permission_decisions": run.permission_decisions,
                "usage": {
                    "input_tokens": run.usage.input_tokens,
                    "output_tokens": run.usage.output_tokens,
                    "cost_usd": run.cost_usd,
                },
            }
        )
        return AgentState.model_construct(**fields)

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
                budget = self.storage_retry_seconds if final else 0.0
                checkpoint_id = await retry_storage(save, budget, self.storage_retry_delay)
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

    async def _finish_checkpoint(self, run: AutonomousRun, outputs: dict[str, Any]) -> None:
        """The ``completed`` checkpoint (holding the result); then the run's journal is no longer needed."""
        if self.state_manager is None or not self.config.enable_checkpoints:
            return
        final = self._result(run, outputs)
        run.extra["final_result"] = json.loads(json.dumps(final, default=str))
        try:
            saved = await self._checkpoint(run, "completed", force=True, final=True)
        finally:
            run.extra.pop("final_result", None)
        if saved is not None and run.journal is not None:
            try:
                await run.journal.delete()
            except StorageError as exc:  # the run succeeded; a leftover journal is only disk
                await self._storage_failed(run, exc, "journal_delete")

    # --- the loop ---------------------------------------------------------------------------
    async def _run_strategy(self, run: AgentRun) -> dict[str, Any]:
        assert isinstance(run, AutonomousRun)
        try:
            return await self._loop(run)
        except BudgetExceededError as exc:
            await self._stop(run, "budget")
            exc.result = self._result(run, {})  # type: ignore[attr-defined]
            raise

    async def _loop(self, run: AutonomousRun) -> dict[str, Any]:
        cfg = self.config
        if cfg.convergence_threshold is not None:
            confidence = self.signature.output_fields().get("confidence")
            if confidence is None or confidence.annotation not in (float, int):
                raise ConfigError(
                    f"convergence_threshold needs a numeric 'confidence' output in {type(self.signature).__name__}",
                    hint="add `confidence: float = OutputField(desc='0.0 to 1.0')` or unset convergence_threshold",
                )
        if (
            run.cycle == 0
            and run.journal is not None
            and not run.journal.assistant
            and "checkpoint_id" not in run.extra
        ):
            await self._checkpoint(run, "running", fatal=True)  # an unreachable store fails fast
        if cfg.planning_enabled and "plan" not in run.extra:
            await self._plan(run)
        while True:
            run.raise_if_interrupted()
            if run.cycle >= cfg.max_cycles:
                return await self._final_answer(run, "max_cycles", f"All {cfg.max_cycles} cycles are used.")
            if cfg.max_tool_errors and run.tool_errors > cfg.max_tool_errors:
                why = f"{run.tool_errors} tool calls were invalid, more than the {cfg.max_tool_errors} tolerated."
                return await self._final_answer(run, "tool_errors", why)
            if run.repeats.exhausted:
                why = "You keep repeating tool calls whose results you already have."
                return await self._final_answer(run, "converged", why)
            run.check_budget()
            run.cycle += 1
            await run.fire("pre_cycle")
            await self._progress(run)
            completion, calls = await self._next_reply(run)
            if not calls:
                outputs = await validate_or_correct(run, completion)
                await run.fire("post_cycle", tool_calls=0)
                if outputs is not None and not self._below_threshold(run, completion, outputs):
                    return await self._converged(run, outputs, "converged")
                continue
            run.protocol.append_assistant(run, completion.content, calls, completion.provider_data)
            results = await self.execute_tool_calls(run, calls)
            run.protocol.append_results(run, calls, results)
            await run.fire("post_cycle", tool_calls=len(calls))
            if run.checkpoint_due or run.cycle % cfg.checkpoint_frequency == 0:
                await self._checkpoint(run, "running")

    def _below_threshold(self, run: AutonomousRun, completion: Completion, outputs: dict[str, Any]) -> bool:
        """``convergence_threshold``: an answer less confident than it sends the model back to work.

        Appends the answer and the request to keep working, and returns True, while cycles are
        left; the answer of the last cycle stands whatever its confidence.
        """
        threshold = self.config.convergence_threshold
        confidence = outputs.get("confidence")
        if threshold is None or not isinstance(confidence, int | float) or confidence >= threshold:
            return False
        if run.cycle >= self.config.max_cycles:
            return False
        run.messages.append(Message(role="assistant", content=completion.content or json.dumps(outputs, default=str)))
        run.messages.append(
            Message(
                role="user",
                content=f"Your confidence {confidence:g} is below the required {threshold:g}. Keep working: "
                "check your answer (use the tools if they help), then answer again.",
            )
        )
        return True

    async def _converged(self, run: AutonomousRun, outputs: dict[str, Any], reason: str) -> dict[str, Any]:
        run.extra["stop_reason"] = reason
        await self._finish_checkpoint(run, outputs)
        return outputs

    async def _final_answer(self, run: AutonomousRun, reason: str, why: str) -> dict[str, Any]:
        """Ask once for the final answer with the tools withheld; ConvergenceError (AGENT_005) without one."""
        run.extra["stop_reason"] = reason
        completion = await ask_final_answer(run, why)
        if not run.protocol.native:
            completion, _ = JsonToolProtocol.parse_reply(run, completion)
        try:
            outputs = extract_outputs(self.signature, completion)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            await self._stop(run, reason)
            raise ConvergenceError(
                f"agent {self.agent_id} stopped ({reason}) without a valid final answer: {exc}",
                hint="raise max_cycles, simplify the task or the signature, or use a stronger model",
                result=self._result(run, {}),
            ) from exc
        return await self._converged(run, outputs, reason)

    async def _next_reply(self, run: AutonomousRun) -> tuple[Completion, list[ToolCall]]:
        """The model's reply for this cycle and its tool calls.

        After a crash the reply is replayed from the journal; otherwise the model is asked
        and its reply journaled before anything acts on it.
        """
        journaled = run.journal.assistant.get(run.cycle) if run.journal is not None else None
        if journaled is not None:
            calls = [ToolCall.model_validate(c) for c in journaled["tool_calls"]]
            completion = Completion(
                content=journaled.get("content"),
                parsed=journaled.get("parsed"),
                provider_data=journaled.get("provider_data"),
            )
            return completion, calls
        completion, calls = await run.protocol.ask(run, self)
        if run.journal is not None:
            run.journal.stage(
                {
                    "type": "assistant",
                    "cycle": run.cycle,
                    "content": completion.content,
                    "parsed": completion.parsed,
                    "tool_calls": [c.model_dump() for c in calls],
                    "provider_data": completion.provider_data,
                }
            )
            if not calls:  # no tool will flush it: write the reply now
                await self._flush_journal(run)
        return completion, calls

    async def _plan(self, run: AutonomousRun) -> None:
        await run.fire("pre_plan_generation")
        run.messages.append(
            Message(
                role="user", content="Before acting, write a short numbered plan for this task. Do not call tools yet."
            )
        )
        completion = await run.complete(with_schema=False)
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

    async def _stop(self, run: AutonomousRun, reason: str) -> None:
        """Record why the run ends without an answer and save a ``paused`` checkpoint to resume from."""
        run.extra["stop_reason"] = reason
        await self._checkpoint(run, "paused", force=True, final=True)

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
            "permission_decisions": list(run.permission_decisions),
            "usage": meta["usage"],
            "cost": meta["cost"],
            "run_id": run.run_id,
            "checkpoint_id": run.extra.get("checkpoint_id"),
        }
        if "plan" in run.extra:
            extra["plan"] = run.extra["plan"]
        if run.extra.get("resumed_from"):
            extra["resumed_from"] = list(run.extra["resumed_from"])
        if run.storage_errors:
            extra["storage_errors"] = list(run.storage_errors)
        meta.update(extra)
        return {**extra, **result}

    # --- tools ------------------------------------------------------------------------------
    async def execute_tool_calls(self, run: AgentRun, calls: list[ToolCall]) -> list[Message]:
        """Run the calls; consecutive calls to SAFE tools run concurrently, the others one by one in order.

        Journal group commit: each tool's start is flushed (with the reply and earlier
        results) right before the tool runs; a concurrent batch flushes its starts once,
        at a :class:`FlushGate`; the results are flushed once at the end.
        """
        assert isinstance(run, AutonomousRun)
        results: list[Message | None] = [None] * len(calls)

        async def one(index: int) -> None:
            results[index] = await self.execute_tool_call(run, calls[index])

        try:
            for batch in self._batches(calls):
                if len(batch) == 1:
                    await one(batch[0])
                    continue
                first_record = len(run.tool_calls)
                if run.journal is not None:
                    run.journal_gate = FlushGate([calls[i].id for i in batch], lambda: self._flush_journal(run))
                try:
                    async with anyio.create_task_group() as tg:
                        for index in batch:
                            tg.start_soon(one, index)
                except BaseExceptionGroup as group:  # surface RunStopped & co. unwrapped
                    if len(group.exceptions) == 1:
                        raise group.exceptions[0] from None
                    raise
                finally:
                    run.journal_gate = None
                # Concurrent calls finish in any order; the result lists them in the model's order.
                position = {call.id: i for i, call in enumerate(calls)}
                run.tool_calls[first_record:] = sorted(
                    run.tool_calls[first_record:], key=lambda r: position.get(r["id"], len(calls))
                )
        finally:
            await self._flush_journal(run)  # the results (and the reply if no tool ran)
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
        """Replay from the journal, answer a repeat from memory, or run it (gate and hooks via BaseAgent)."""
        assert isinstance(run, AutonomousRun)
        gate = run.journal_gate
        try:
            return await self._journaled_tool_call(run, call)
        finally:
            if gate is not None:  # a call that never reached its tool must not hold the batch's flush
                gate.leave(call.id)

    async def _journaled_tool_call(self, run: AutonomousRun, call: ToolCall) -> Message:
        key = RunJournal.key(run.cycle, call.id)
        journal = run.journal
        replayed = journal.results.get(key) if journal is not None else None
        if replayed is not None:
            run.tool_calls.append({**replayed["record"], "replayed": True})
            is_error = "error_code" in replayed["record"]
            return Message(
                role="tool", content=replayed["content"], tool_call_id=call.id, name=call.name, is_error=is_error
            )
        tool = self.tools.get(call.name) if self.tools else None
        if journal is not None and key in journal.started and tool is not None and not tool.idempotent:
            error = (
                f"outcome unknown: the call to {call.name!r} started before the run was interrupted "
                "and its result was not recorded; it was not re-run because the tool is not idempotent. "
                "Check its effect before calling it again."
            )
            message = self._record_tool_call(run, call, "unknown", 0.0, error=error, code=ToolExecutionError.code)
        else:
            previous = run.repeats.seen(call)
            if previous is not None and tool is not None and (getattr(tool, "read_only", False) or tool.idempotent):
                content = REPEAT_NOTE.format(tool=call.name) + "\n" + previous
                message = self._record_tool_call(run, call, "repeated", 0.0, content=content)
            else:
                message = await super().execute_tool_call(run, call)
        # Concurrent calls may have appended after ours: find our record by id.
        record = next(r for r in reversed(run.tool_calls) if r["id"] == call.id)
        if record["outcome"] == "success" and message.content is not None:
            run.repeats.remember(call, message.content)
        elif record.get("error_code") == InputValidationError.code:  # unknown tool or invalid arguments
            run.tool_errors += 1
        if journal is not None:
            journal.stage({"type": "result", "key": key, "content": message.content, "record": record})
        return message

    async def _invoke_tool(self, run: AgentRun, call: ToolCall) -> ToolResult:
        """Journal the start durably (with everything staged before it), then run the tool (via BaseAgent)."""
        assert isinstance(run, AutonomousRun)
        if run.journal is not None:
            run.journal.stage(
                {
                    "type": "start",
                    "key": RunJournal.key(run.cycle, call.id),
                    "name": call.name,
                    "arguments": call.arguments,
                }
            )
            gate = run.journal_gate
            if gate is not None:
                await gate.arrive(call.id)
            else:
                await self._flush_journal(run)
        return await super()._invoke_tool(run, call)
