"""Pipeline: multi-agent patterns that run as one agent run.

    pipeline = Pipeline.router(agents=[qa_agent, code_agent, data_agent], routing_strategy="semantic")
    result = pipeline.run(task="Analyze sales data and create visualization")
    result["selected_agent"], result["confidence_score"], result["_meta"]["children"]

A pipeline is a pattern (a :class:`Pipeline` subclass, registered by name through the
``register_patterns`` hook) plus the agent that runs it (:class:`PipelineAgent`, a
:class:`~kaizen_core.agents.base.BaseAgent`). Running a pipeline is one run of that agent,
so a pipeline run has what every agent run has: a fresh interrupt scope (the children's
scopes nest in it: Ctrl+C or ``pipeline.interrupt_manager.request_interrupt(...)``
reaches every child), PRE/POST_AGENT_LOOP events, an interrupt checkpoint, ``_meta``.

Every child call goes through :meth:`PipelineRun.call`, the one place that
submits the child to the pipeline's executor (``executor=``: ``"local"`` by default, ``"ray"``;
:mod:`kaizen_core.orchestration.executors`), and that

* maps what the pattern offers onto the child's signature (:func:`map_inputs`): a child
  gets the offered values its signature names, plus the pattern's text (the task, the
  previous answer) in its first missing required text field; nothing else. No pattern
  forwards the whole history unless the child asks for it with a ``context`` (or
  ``blackboard``/``transcript``/``results``) input; see docs/orchestration.md per pattern;
* fires PRE/POST_AGENT_LOOP for the child on the pipeline's hook manager
  (``agent_id`` the child's, ``trace_id`` and ``metadata["parent_run_id"]`` the pipeline
  run's, ``metadata["step"]`` the step key, ``metadata["child_run_id"]`` at POST);
* adds the child's usage and cost to the pipeline's (``_meta["usage"]``, ``_meta["cost"]``,
  and per child in ``_meta["children"]``);
* journals the finished child's result in the pipeline checkpoint (with a checkpoint
  store configured), so :meth:`Pipeline.resume_from_checkpoint` after a crash or an
  interrupt replays finished children instead of running them again. Decisions
  (routing, worker assignment, random choices) are journaled too (:meth:`PipelineRun.decide`),
  so a resumed run takes the same path.

Children that share one :class:`~kaizen_core.permissions.ExecutionContext`
(``execution_context=`` on each) share its budget; the context's atomic reservation
makes that exact under concurrency (``call_limit``).
"""

from __future__ import annotations

import asyncio
import json
import types
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, TypeVar

from pydantic_core import to_jsonable_python

from kaizen_core._sync import run_sync
from kaizen_core.agents.base import BaseAgent
from kaizen_core.agents.run import AgentRun, RunStopped
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import (
    AgentInterrupted,
    CheckpointNotFoundError,
    ConfigError,
    InputValidationError,
    KaizenError,
    PluginError,
    ProviderError,
    StorageError,
    WorkflowBuildError,
)
from kaizen_core.orchestration.scoring import agent_name
from kaizen_core.providers.base import BaseProvider
from kaizen_core.providers.types import Completion, CompletionRequest, Usage
from kaizen_core.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from kaizen_core.control import ControlProtocol
    from kaizen_core.hooks import HookManager
    from kaizen_core.interrupts import InterruptManager
    from kaizen_core.orchestration.executors import Executor
    from kaizen_core.state import AgentState, StateManager

__all__ = [
    "Pipeline",
    "PipelineAgent",
    "PipelineRun",
    "StepOutcome",
    "StepStatus",
    "first_text",
    "map_inputs",
    "primary_text",
]

T = TypeVar("T")
StepStatus = Literal["success", "failed", "timeout", "interrupted"]


# --- what children get ----------------------------------------------------------------------
def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(to_jsonable_python(value, fallback=str))


def primary_text(values: Mapping[str, Any]) -> str | None:
    """The text a pattern routes on and hands on: ``task`` when given, else the first string value."""
    task = values.get("task")
    if task is not None:
        return _as_text(task)
    return next((v for v in values.values() if isinstance(v, str) and v), None)


def first_text(outputs: Mapping[str, Any]) -> str | None:
    """A child's answer as text: its first non-empty string output (None when it has none)."""
    return next((v for v in outputs.values() if isinstance(v, str) and v), None)


def _accepts_text(annotation: Any) -> bool:
    import typing

    if annotation in (str, Any):
        return True
    return str in typing.get_args(annotation)


def map_inputs(agent: BaseAgent, offered: Mapping[str, Any], text: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """What ``agent`` gets of what a pattern offers: ``(inputs, dropped names)``.

    * an offered value (not None) goes to the input field of the same name; a non-string
      value offered to a ``str`` field is passed as JSON text;
    * ``text`` (the pattern's task or previous answer) fills the first required input still
      missing, preferring text fields (so ``task=`` reaches a ``question`` or ``data_description``);
    * offered names the signature lacks are not passed (returned as ``dropped``).
    """
    fields = agent.signature.input_fields()
    inputs: dict[str, Any] = {}
    for name, spec in fields.items():
        value = offered.get(name)
        if value is not None:
            inputs[name] = _as_text(value) if spec.annotation is str and not isinstance(value, str) else value
    missing = [n for n, spec in fields.items() if n not in inputs and spec.required]
    if missing and text is not None:
        target = next((n for n in missing if _accepts_text(fields[n].annotation)), missing[0])
        inputs[target] = text
    dropped = [k for k, v in offered.items() if k not in fields and v is not None]
    return inputs, dropped


# --- one child call ------------------------------------------------------------------------------
@dataclass
class StepOutcome:
    """How one child call ended. ``outputs`` are its signature outputs (no ``_meta``)."""

    key: str
    agent: str
    agent_id: str
    status: StepStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    replayed: bool = False
    dropped_inputs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def error_info(self) -> dict[str, Any] | None:
        """``{"code", "type", "message"}`` of the child's error (None when it succeeded)."""
        exc = self.error
        if exc is None:
            return None
        if isinstance(exc, KaizenError):
            return {"code": exc.code, "type": type(exc).__name__, "message": exc.message}
        from kaizen_core.redaction import redact

        # The message goes into results, checkpoints and journals: never a secret (KaizenErrors redact their own).
        return {"code": None, "type": type(exc).__name__, "message": redact(str(exc))}

    def raise_error(self) -> NoReturn:
        """Re-raise the child's own exception (patterns that cannot go on without this child)."""
        assert self.error is not None, "raise_error() on a successful step"
        raise self.error

    def summary(self) -> dict[str, Any]:
        """The JSON-ready view results carry: agent, status, outputs or error."""
        out: dict[str, Any] = {"agent": self.agent, "agent_id": self.agent_id, "status": self.status}
        if self.ok:
            out["outputs"] = self.outputs
        else:
            out["error"] = self.error_info
        return out

    def child_meta(self) -> dict[str, Any]:
        """This step's entry in the pipeline's ``_meta["children"]``."""
        meta = self.meta
        entry: dict[str, Any] = {
            "step": self.key,
            "agent": self.agent,
            "agent_id": self.agent_id,
            "run_id": meta.get("run_id"),
            "status": self.status,
            "usage": meta.get("usage") or _usage_dict(Usage(cost_usd=0.0)),
            "cost": meta.get("cost", 0.0),
            "provider_calls": meta.get("provider_calls", 0),
            "latency_ms": meta.get("latency_ms", 0.0),
        }
        if self.replayed:
            entry["replayed"] = True
        if self.error is not None:
            entry["error"] = self.error_info
        if self.dropped_inputs:
            entry["dropped_inputs"] = self.dropped_inputs
        if isinstance(self.error, AgentInterrupted):
            checkpoint = _interrupt_checkpoint(self.error)
            if checkpoint:
                entry["checkpoint_id"] = checkpoint
        return entry

    def record(self) -> dict[str, Any]:
        """What the pipeline checkpoint journals for a finished child."""
        return {"status": "success", "agent": self.agent, "agent_id": self.agent_id, "outputs": self.outputs, "meta": self.meta}


def _interrupt_checkpoint(exc: AgentInterrupted) -> str | None:
    reason = getattr(exc, "reason", None)
    metadata = getattr(reason, "metadata", None) or {}
    return metadata.get("checkpoint_id")


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cost_usd": usage.cost_usd,
    }


def _usage_of(meta: Mapping[str, Any]) -> Usage:
    raw = meta.get("usage") or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cost_usd=raw.get("cost_usd"),
    )


def _split(result: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    outputs = {k: v for k, v in result.items() if k != "_meta"}
    return to_jsonable_python(outputs, fallback=str), dict(result.get("_meta") or {})


class _StepDeadline:
    """A child's ``timeout``: when it passes, the step's scope gets a GRACEFUL SYSTEM interrupt
    (the child stops and checkpoints); if the child is still running ``graceful_shutdown_timeout``
    later (it does not listen to interrupts), the calling task is cancelled."""

    def __init__(self, scope: Any, key: str, timeout: float | None) -> None:
        self.scope, self.key, self.timeout = scope, key, timeout
        self.expired = self.cancelled = False
        self.task = asyncio.current_task()
        self.cancelling = self.task.cancelling() if self.task is not None else 0
        self._handle = asyncio.get_running_loop().call_later(timeout, self._expire) if timeout is not None else None

    def _expire(self) -> None:
        from kaizen_core.interrupts import InterruptMode, InterruptSource

        self.expired = True
        message = f"pipeline step {self.key} took longer than {self.timeout:g}s"
        self.scope.request_interrupt(
            InterruptSource.SYSTEM, InterruptMode.GRACEFUL, message, {"pipeline_step": self.key, "timeout": self.timeout}
        )
        self._handle = asyncio.get_running_loop().call_later(self.scope.graceful_shutdown_timeout, self._cancel)

    def _cancel(self) -> None:
        if self.task is not None:
            self.cancelled = True
            self.task.cancel()

    def took_back_cancel(self) -> bool:
        """Whether the CancelledError being handled is this deadline's own (then it is absorbed)."""
        return self.cancelled and self.task is not None and self.task.uncancel() <= self.cancelling

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


# --- the pipeline run ------------------------------------------------------------------------------
@dataclass
class PipelineRun(AgentRun):
    """The run of a :class:`PipelineAgent`: an AgentRun plus the journal of its children."""

    #: step key -> journaled record (finished children and decisions); checkpointed.
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: every child call of this run, in the order they ended (``_meta["children"]``).
    children: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pipeline(self) -> Pipeline:
        agent = self.agent
        assert isinstance(agent, PipelineAgent)
        return agent.pipeline

    # --- children -----------------------------------------------------------------------
    async def call(
        self,
        key: str,
        agent: BaseAgent,
        offered: Mapping[str, Any],
        *,
        text: str | None = None,
        timeout: float | None = None,
    ) -> StepOutcome:
        """Run child ``agent`` as step ``key`` (unique and stable within the run) and return how it ended.

        A child's failure is returned, never raised (the pattern decides: retry, fall back,
        report, or :meth:`StepOutcome.raise_error`). ``timeout`` seconds: the child is asked
        to stop gracefully (a SYSTEM interrupt, it leaves its checkpoint) and reported as
        ``"timeout"``; if it does not stop within the grace period it is cancelled. When the
        pipeline itself is interrupted, the child stops with it and :class:`RunStopped`
        is raised after the step is recorded.
        """
        recorded = self.steps.get(key)
        if recorded is not None and recorded.get("status") == "success":
            outcome = StepOutcome(
                key=key,
                agent=recorded.get("agent", agent_name(agent)),
                agent_id=recorded.get("agent_id", agent.agent_id),
                status="success",
                outputs=dict(recorded.get("outputs") or {}),
                meta=dict(recorded.get("meta") or {}),
                replayed=True,
            )
            self._account(outcome)
            return outcome
        self.raise_if_interrupted()  # a stopping pipeline starts no more children
        inputs, dropped = map_inputs(agent, offered, text)
        await self._fire_child("pre_agent_loop", agent, key, inputs=inputs)
        outcome = await self._invoke(key, agent, inputs, timeout)
        outcome.dropped_inputs = dropped
        self._account(outcome)
        if outcome.ok:
            self.steps[key] = outcome.record()
            await self.save("running")
        await self._fire_child(
            "post_agent_loop",
            agent,
            key,
            status=outcome.status,
            child_run_id=outcome.meta.get("run_id"),
            outputs=outcome.outputs,
            usage=outcome.meta.get("usage"),
            error=outcome.error_info,
        )
        if outcome.status == "interrupted":
            self.raise_if_interrupted()
        return outcome

    async def call_many(
        self,
        calls: Sequence[tuple[str, BaseAgent, Mapping[str, Any], str | None]],
        *,
        max_workers: int | None = None,
        timeout: float | None = None,
    ) -> list[StepOutcome]:
        """:meth:`call` for each ``(key, agent, offered, text)`` concurrently, at most
        ``max_workers`` at a time (None: all at once); outcomes in the order given.

        Every child is waited for, also when the pipeline is interrupted meanwhile (each
        stops on its own and leaves its checkpoint); then RunStopped is raised.
        """
        limit = asyncio.Semaphore(max_workers) if max_workers else None

        async def one(key: str, agent: BaseAgent, offered: Mapping[str, Any], text: str | None) -> StepOutcome:
            if limit is None:
                return await self.call(key, agent, offered, text=text, timeout=timeout)
            async with limit:
                return await self.call(key, agent, offered, text=text, timeout=timeout)

        settled = await asyncio.gather(*(one(*c) for c in calls), return_exceptions=True)
        outcomes: list[StepOutcome] = []
        stopped = False
        for item in settled:
            if isinstance(item, RunStopped):
                stopped = True
            elif isinstance(item, BaseException):
                raise item
            else:
                outcomes.append(item)
        if stopped:
            raise RunStopped()
        return outcomes

    async def decide(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """A pattern's decision (a JSON value), journaled under ``decide:<key>`` so a resumed
        run makes the same one (same route, same worker, same random choice)."""
        name = f"decide:{key}"
        recorded = self.steps.get(name)
        if recorded is not None:
            value: T = recorded["value"]
            return value
        value = await compute()
        self.steps[name] = {"value": to_jsonable_python(value)}
        return value

    async def _invoke(self, key: str, agent: BaseAgent, inputs: dict[str, Any], timeout: float | None) -> StepOutcome:
        from kaizen_core.interrupts import InterruptScope, current_scope
        from kaizen_core.orchestration.executors import ChildRun, child_metadata

        name = agent_name(agent)
        # The child's run scope nests in this step's scope, itself nested in the pipeline run's:
        # the pipeline's interrupts reach the child, and a timeout can stop this child alone.
        scope = InterruptScope(
            self.pipeline.agent.config.graceful_shutdown_timeout, parent=current_scope(), run_id=f"{self.run_id}/{key}"
        )
        deadline = _StepDeadline(scope, key, timeout)
        token = scope.activate()
        try:
            # The child's own hook events (on its own hook manager) name the pipeline run as parent too.
            metadata = child_metadata(parent_run_id=self.run_id, pipeline=self.agent.agent_id, pipeline_step=key)
            child = ChildRun(agent, inputs, key=key, parent_run_id=self.run_id, scope=scope, metadata=metadata)
            result = await self.pipeline.executor.submit(child)
        except asyncio.CancelledError:
            if not deadline.took_back_cancel():
                raise  # the pipeline itself is being cancelled
            error = TimeoutError(f"step {key} did not stop within {scope.graceful_shutdown_timeout:g}s of its timeout")
            return StepOutcome(key, name, agent.agent_id, "timeout", error=error)
        except AgentInterrupted as exc:
            _, meta = _split(exc.result or {})
            status: StepStatus = "timeout" if deadline.expired else "interrupted"
            return StepOutcome(key, name, agent.agent_id, status, meta=meta, error=exc)
        except Exception as exc:
            partial = getattr(exc, "result", None)
            meta = _split(partial)[1] if isinstance(partial, Mapping) else {}
            return StepOutcome(key, name, agent.agent_id, "failed", meta=meta, error=exc)
        finally:
            deadline.close()
            scope.deactivate(token)
            scope.close()
        outputs, meta = _split(result)
        return StepOutcome(key, name, agent.agent_id, "success", outputs=outputs, meta=meta)

    def _account(self, outcome: StepOutcome) -> None:
        self.usage = self.usage + _usage_of(outcome.meta)
        self.provider_calls += int(outcome.meta.get("provider_calls") or 0)
        self.children.append(outcome.child_meta())

    async def _fire_child(self, event: str, agent: BaseAgent, key: str, **metadata: Any) -> None:
        hooks = getattr(self.agent, "_hooks", None)
        if hooks is None or not hooks.has_handlers(event):
            return
        from kaizen_core.hooks import HookEvent

        await hooks.trigger(
            HookEvent(event),
            agent_id=agent.agent_id,
            trace_id=self.run_id,
            step=key,  # pairs PRE/POST of one child when children of one agent run at once
            metadata={
                "parent_run_id": self.run_id,
                "pipeline": self.agent.agent_id,
                "pattern": self.pipeline.pattern,
                "step": key,
                "agent": agent_name(agent),
                **metadata,
            },
        )

    # --- checkpoints --------------------------------------------------------------------
    async def save(self, status: str, final_result: dict[str, Any] | None = None) -> None:
        """Checkpoint the run (its journal) when the pipeline has a checkpoint store.

        A storage failure is reported (ON_ERROR, ``_meta["storage_errors"]``), not raised:
        the children's work is not thrown away because a checkpoint could not be written.
        """
        manager = self.agent.state_manager
        if manager is None:
            return
        state = self.agent.agent_state(self, status)
        if final_result is not None:
            state.custom_state["final_result"] = to_jsonable_python(final_result, fallback=str)
        try:
            checkpoint_id = await manager.save_checkpoint(state)
        except StorageError as exc:
            await self.agent._storage_failed(self, exc, "checkpoint", status=status)
            return
        if checkpoint_id is not None:
            self.extra["checkpoint_id"] = checkpoint_id


# --- the agent that runs a pipeline ----------------------------------------------------------------
class _NoModel(BaseProvider):
    """The provider slot of a PipelineAgent: pipelines call their children, never a model."""

    name: ClassVar[str] = "pipeline"
    supports_tools: ClassVar[bool] = False

    async def complete(self, request: CompletionRequest) -> Completion:
        raise ProviderError("a pipeline does not call a model itself; its children do")


class PipelineAgent(BaseAgent):
    """A :class:`BaseAgent` that runs a :class:`Pipeline`: ``pipeline.to_agent(name=...)``.

    Its signature is derived from the pattern (:meth:`Pipeline.signature`); its result is
    the pattern's result plus ``_meta`` (children's usage summed, per-child entries under
    ``_meta["children"]``). It can be a child of another pipeline, served, and
    checkpointed like any agent.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        agent_id: str,
        config: BaseAgentConfig,
        hook_manager: HookManager | None = None,
        state_manager: StateManager | None = None,
        interrupt_manager: InterruptManager | None = None,
        control_protocol: ControlProtocol | None = None,
    ) -> None:
        self.pipeline = pipeline
        super().__init__(
            config,
            pipeline.signature(),
            provider=_NoModel(model=pipeline.pattern),
            hook_manager=hook_manager,
            agent_id=agent_id,
            state_manager=state_manager,
            interrupt_manager=interrupt_manager,
            control_protocol=control_protocol,
        )
        caps = [str(c) for c in (getattr(a, "capability", None) for a in pipeline.agents_in_order()) if c]
        self.capability = "; ".join(caps) if caps else None

    async def run_async(self, session_id: str | None = None, **inputs: Any) -> dict[str, Any]:
        """Run the pipeline on ``inputs`` (any keywords: each child gets what the pattern passes it)."""
        values = self.pipeline.validate_inputs(inputs)
        run = PipelineRun(agent=self, run_id=uuid.uuid4().hex, inputs=values, messages=[], session_id=session_id)
        return await self._execute(run)

    async def _run_strategy(self, run: AgentRun) -> dict[str, Any]:
        assert isinstance(run, PipelineRun)
        outputs = await self.pipeline.execute(run, dict(run.inputs))
        if self.state_manager is not None:  # the completed checkpoint keeps the result: resuming it returns it
            await run.save("completed", final_result=self._result(run, outputs))
        return outputs

    def _result(self, run: AgentRun, outputs: dict[str, Any]) -> dict[str, Any]:
        result = super()._result(run, outputs)
        meta = result["_meta"]
        meta["pattern"] = self.pipeline.pattern
        if isinstance(run, PipelineRun):
            meta["children"] = list(run.children)
            if run.extra.get("checkpoint_id"):
                meta["checkpoint_id"] = run.extra["checkpoint_id"]
            if run.extra.get("resumed_from"):
                meta["resumed_from"] = list(run.extra["resumed_from"])
        return result

    def agent_state(self, run: AgentRun, status: str) -> AgentState:
        state = super().agent_state(run, status)
        if isinstance(run, PipelineRun):
            state.step_number = sum(1 for k in run.steps if not k.startswith("decide:"))
            state.custom_state["pipeline"] = {"pattern": self.pipeline.pattern, "steps": run.steps}
        return state

    # --- resume -------------------------------------------------------------------------
    async def resume_from_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        """Continue the pipeline run saved as ``checkpoint_id``: finished children are replayed, not re-run."""
        state = await self._require_state_manager().load_checkpoint(checkpoint_id)
        return await self._resume(state)

    async def resume_from_latest(self) -> dict[str, Any]:
        """Continue this pipeline's newest checkpoint (same ``name`` and checkpoint store as the stopped run)."""
        state = await self._require_state_manager().resume_from_latest(self.agent_id)
        if state is None:
            raise CheckpointNotFoundError(
                f"pipeline {self.agent_id!r} has no checkpoint to resume from",
                hint="build the pipeline with the same name= and checkpoint_storage= as the stopped run",
            )
        return await self._resume(state)

    def _require_state_manager(self) -> StateManager:
        manager = self.state_manager
        if manager is None:
            raise ConfigError("resuming a pipeline needs a checkpoint store", hint="pass checkpoint_storage= or state_manager=")
        return manager

    async def _resume(self, state: AgentState) -> dict[str, Any]:
        custom = dict(state.custom_state)
        journal = custom.get("pipeline")
        if not isinstance(journal, dict) or journal.get("pattern") != self.pipeline.pattern:
            raise CheckpointNotFoundError(
                f"checkpoint {state.checkpoint_id} was not written by a {self.pipeline.pattern} pipeline"
            )
        if state.status == "completed" and isinstance(custom.get("final_result"), dict):
            final: dict[str, Any] = custom["final_result"]
            return final
        run = PipelineRun(
            agent=self,
            run_id=str(custom.get("run_id") or uuid.uuid4().hex),
            inputs=dict(custom.get("inputs") or {}),
            messages=[],
            steps=dict(journal.get("steps") or {}),
        )
        run.extra["resumed_from"] = [*custom.get("resumed_from", []), state.checkpoint_id]
        return await self._execute(run)


# --- the patterns' base class ------------------------------------------------------------------------
class Pipeline:
    """Base class of every pattern, and the factory of the nine built-in ones.

    Subclasses set :attr:`pattern` (the registered name), implement :meth:`execute` and
    :meth:`agents_in_order`, and may declare :attr:`result_fields` (the keys their result
    adds, for the derived signature). Register one through the ``register_patterns``
    hook and ``Pipeline.create("name", ...)`` builds it.

    Options every pattern takes (keywords): ``name`` (the pipeline agent's id: give one to
    resume a checkpoint from another process), ``checkpoint_storage`` / ``state_manager``,
    ``hook_manager``, ``interrupt_manager``, ``control_protocol``, ``enable_interrupts``,
    ``graceful_shutdown_timeout``, ``config`` (a BaseAgentConfig for the pipeline agent) and
    ``executor`` (where the children run: ``"local"``, ``"ray"``, ``"ray://host:port"`` or an
    :class:`~kaizen_core.orchestration.executors.Executor`; see docs/scale-out.md).
    """

    pattern: ClassVar[str] = "pipeline"
    description: ClassVar[str] = "A multi-agent pipeline."
    #: result key -> type, documented per pattern (the derived signature's outputs).
    result_fields: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        name: str | None = None,
        config: Any = None,
        checkpoint_storage: str | None = None,
        state_manager: StateManager | None = None,
        hook_manager: HookManager | None = None,
        interrupt_manager: InterruptManager | None = None,
        control_protocol: ControlProtocol | None = None,
        enable_interrupts: bool | None = None,
        graceful_shutdown_timeout: float | None = None,
        executor: str | Executor | None = None,
    ) -> None:
        from kaizen_core.orchestration.executors import get_executor

        #: Where the children run (``executor="local"`` by default, ``"ray"``, ``"ray://host:port"``).
        self.executor: Executor = get_executor(executor)
        cfg = BaseAgentConfig.from_any(config) if config is not None else BaseAgentConfig()
        updates = {
            k: v
            for k, v in {
                "checkpoint_storage": checkpoint_storage,
                "enable_interrupts": enable_interrupts,
                "graceful_shutdown_timeout": graceful_shutdown_timeout,
            }.items()
            if v is not None
        }
        self.config = BaseAgentConfig(**{**cfg.model_dump(exclude_unset=True), **updates}) if updates else cfg
        self.name = name or f"{self.pattern}-{uuid.uuid4().hex[:8]}"
        self._hook_manager = hook_manager
        self._state_manager = state_manager
        self._interrupt_manager = interrupt_manager
        self._control_protocol = control_protocol
        self._agent: PipelineAgent | None = None

    # --- what a pattern implements --------------------------------------------------------
    def agents_in_order(self) -> list[BaseAgent]:
        """Every child agent the pattern uses, each once."""
        raise NotImplementedError

    def entry_agents(self) -> list[BaseAgent]:
        """The agents that receive the pipeline's inputs (their fields make the derived inputs)."""
        return self.agents_in_order()

    def answer_agents(self) -> list[BaseAgent]:
        """The agents whose outputs the result may carry at its top level (the derived outputs)."""
        return self.agents_in_order()

    async def execute(self, run: PipelineRun, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run the pattern; return its result without ``_meta``. Every child goes through ``run.call``."""
        raise NotImplementedError

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Check the pipeline's inputs (EXEC_001). Any keywords are accepted; patterns that
        route on a text require one (``task=``, or any string input)."""
        return dict(inputs)

    def _require_text(self, inputs: Mapping[str, Any]) -> str:
        text = primary_text(inputs)
        if not text:
            raise InputValidationError(
                f"the {self.pattern} pipeline needs a task text to work on",
                hint="pass task='...' (or any string input)",
            )
        return text

    # --- the derived signature ------------------------------------------------------------
    def signature(self) -> Signature:
        """The pipeline's signature: the entry agents' inputs (plus ``task``), the pattern's
        result keys and the answering agents' outputs, every field optional."""
        annotations: dict[str, Any] = {}
        ns: dict[str, Any] = {"__module__": __name__, "__annotations__": annotations}
        inputs: dict[str, tuple[Any, str]] = {"task": (str, "The task (routing text)")}
        for agent in self.entry_agents():
            for fname, spec in agent.signature.input_fields().items():
                inputs.setdefault(fname, (spec.annotation, spec.description))
        outputs: dict[str, tuple[Any, str]] = {k: (v, "") for k, v in {**self.result_fields, "status": str}.items()}
        for agent in self.answer_agents():
            for fname, spec in agent.signature.output_fields().items():
                if fname not in inputs:
                    outputs.setdefault(fname, (spec.annotation, spec.description))
        for fname, (tp, desc) in inputs.items():
            annotations[fname] = tp | None if tp is not Any else Any
            ns[fname] = InputField(desc=desc, default=None)
        for fname, (tp, desc) in outputs.items():
            if fname in inputs:
                continue
            annotations[fname] = tp | None if tp is not Any else Any
            ns[fname] = OutputField(desc=desc, default=None)
        names = ", ".join(agent_name(a) for a in self.agents_in_order())
        ns["__doc__"] = f"{self.description} Agents: {names}."
        cls_name = "".join(part.capitalize() for part in self.pattern.replace("-", "_").split("_")) + "PipelineSignature"
        signature_cls = types.new_class(cls_name, (Signature,), exec_body=lambda body: body.update(ns))
        signature: Signature = signature_cls()
        return signature

    # --- running ----------------------------------------------------------------------------
    @property
    def agent(self) -> PipelineAgent:
        """The agent that runs this pipeline (id: the pipeline's ``name``)."""
        if self._agent is None:
            self._agent = self._new_agent(self.name)
        return self._agent

    def _new_agent(self, agent_id: str) -> PipelineAgent:
        return PipelineAgent(
            self,
            agent_id=agent_id,
            config=self.config,
            hook_manager=self._hook_manager,
            state_manager=self._state_manager,
            interrupt_manager=self._interrupt_manager,
            control_protocol=self._control_protocol,
        )

    def to_agent(self, name: str | None = None) -> PipelineAgent:
        """This pipeline as a :class:`BaseAgent` (``agent_id`` = ``name``), usable wherever an agent is."""
        if name is None or name == self.name:
            return self.agent
        return self._new_agent(name)

    async def run_async(self, **inputs: Any) -> dict[str, Any]:
        """Run the pipeline; the result is the pattern's documented dict plus ``_meta``."""
        return await self.agent.run_async(**inputs)

    def run(self, **inputs: Any) -> dict[str, Any]:
        """Blocking :meth:`run_async` (works inside a running event loop too); like ``agent.run()``
        its result refuses to be awaited (use ``run_async`` in async code)."""
        return self.agent.run(**inputs)

    async def resume_from_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        """Continue a stopped run from its checkpoint: finished children are not run again."""
        return await self.agent.resume_from_checkpoint(checkpoint_id)

    async def resume_from_latest(self) -> dict[str, Any]:
        """Continue the newest checkpoint of this pipeline (its ``name``)."""
        return await self.agent.resume_from_latest()

    def resume_from_checkpoint_sync(self, checkpoint_id: str) -> dict[str, Any]:
        return run_sync(self.resume_from_checkpoint, checkpoint_id)

    def resume_from_latest_sync(self) -> dict[str, Any]:
        return run_sync(self.resume_from_latest)

    @property
    def interrupt_manager(self) -> InterruptManager:
        """Interrupt every active run of this pipeline (and so its children) with ``request_interrupt``."""
        return self.agent.interrupt_manager

    @property
    def state_manager(self) -> StateManager | None:
        return self.agent.state_manager

    @property
    def hook_manager(self) -> HookManager:
        return self.agent.hook_manager

    async def aclose(self) -> None:
        """Release the pipeline agent's state manager (children are closed by their owners)."""
        if self._agent is not None:
            await self._agent.aclose()

    def close(self) -> None:
        run_sync(self.aclose)

    def __repr__(self) -> str:
        names = ", ".join(agent_name(a) for a in self.agents_in_order())
        return f"{type(self).__name__}(name={self.name!r}, agents=[{names}])"

    # --- registry and factories -------------------------------------------------------------
    @classmethod
    def create(cls, pattern: str, /, *args: Any, **kwargs: Any) -> Pipeline:
        """Build the pattern registered as ``pattern`` (``register_patterns`` hook) with the arguments given.

        An unknown name is KAIZEN_003, listing the installed patterns.
        """
        from kaizen_core.plugins import get_registry

        target = get_registry().load("pattern", pattern)
        if not callable(target):
            raise PluginError(f"pattern {pattern!r} is registered with {target!r}, which is not a Pipeline class")
        pipeline = target(*args, **kwargs)
        if not isinstance(pipeline, Pipeline):
            raise PluginError(f"pattern {pattern!r} built a {type(pipeline).__name__}, not a Pipeline")
        return pipeline

    @classmethod
    def sequential(cls, agents: Sequence[BaseAgent], **options: Any) -> Pipeline:
        """Each agent gets the previous one's outputs (and the pipeline's inputs); the last answers."""
        return cls.create("sequential", agents, **options)

    @classmethod
    def supervisor_worker(
        cls,
        supervisor: BaseAgent | None,
        workers: Sequence[BaseAgent],
        selection_mode: str = "semantic",
        **options: Any,
    ) -> Pipeline:
        """The supervisor splits the task into subtasks; each goes to the best-matching worker."""
        return cls.create("supervisor_worker", supervisor, workers, selection_mode=selection_mode, **options)

    @classmethod
    def router(
        cls,
        agents: Sequence[BaseAgent],
        routing_strategy: str = "semantic",
        error_handling: str = "graceful",
        fallback_agent: BaseAgent | None = None,
        max_retries: int = 3,
        **options: Any,
    ) -> Pipeline:
        """Send the task to the agent whose capability card matches it best."""
        return cls.create(
            "router",
            agents,
            routing_strategy=routing_strategy,
            error_handling=error_handling,
            fallback_agent=fallback_agent,
            max_retries=max_retries,
            **options,
        )

    @classmethod
    def ensemble(
        cls,
        agents: Sequence[BaseAgent],
        synthesizer: BaseAgent | None = None,
        discovery_mode: str = "a2a",
        top_k: int = 3,
        **options: Any,
    ) -> Pipeline:
        """The top-k matching agents answer concurrently; the synthesizer combines their answers."""
        return cls.create("ensemble", agents, synthesizer, discovery_mode=discovery_mode, top_k=top_k, **options)

    @classmethod
    def blackboard(
        cls,
        specialists: Sequence[BaseAgent],
        controller: BaseAgent,
        selection_mode: str = "semantic",
        max_iterations: int = 5,
        **options: Any,
    ) -> Pipeline:
        """Specialists add to a shared blackboard, chosen by what the controller asks for next."""
        return cls.create(
            "blackboard", specialists, controller, selection_mode=selection_mode, max_iterations=max_iterations, **options
        )

    @classmethod
    def consensus(
        cls,
        agents: Sequence[BaseAgent],
        threshold: float = 0.67,
        voting_strategy: str = "majority",
        max_rounds: int = 3,
        **options: Any,
    ) -> Pipeline:
        """Every agent votes; rounds repeat (showing the votes) until a share reaches ``threshold``."""
        return cls.create(
            "consensus", agents, threshold=threshold, voting_strategy=voting_strategy, max_rounds=max_rounds, **options
        )

    @classmethod
    def debate(cls, agents: Sequence[BaseAgent], rounds: int = 3, judge: BaseAgent | None = None, **options: Any) -> Pipeline:
        """Proponent and opponent argue ``rounds`` times; the judge rules once."""
        return cls.create("debate", agents, rounds=rounds, judge=judge, **options)

    @classmethod
    def handoff(cls, agents: Sequence[BaseAgent], **options: Any) -> Pipeline:
        """Tiers in order; the next tier takes over when one fails or is not confident enough."""
        return cls.create("handoff", agents, **options)

    @classmethod
    def parallel(
        cls,
        agents: Sequence[BaseAgent],
        aggregator: Any = None,
        max_workers: int = 5,
        timeout: float | None = 30,
        **options: Any,
    ) -> Pipeline:
        """Every agent gets the same inputs, at most ``max_workers`` at a time, each within ``timeout`` seconds."""
        return cls.create("parallel", agents, aggregator, max_workers=max_workers, timeout=timeout, **options)


def check_agents(pattern: str, agents: Any, *, role: str = "agents", minimum: int = 1) -> list[BaseAgent]:
    """The agents a pattern was given, as a list; EXEC_002 when they are not agents or too few."""
    if isinstance(agents, BaseAgent) or not isinstance(agents, Sequence | tuple | list):
        raise WorkflowBuildError(f"{pattern}: {role} must be a list of agents, got {type(agents).__name__}")
    found = list(agents)
    bad = [type(a).__name__ for a in found if not isinstance(a, BaseAgent)]
    if bad:
        raise WorkflowBuildError(f"{pattern}: {role} must be BaseAgent instances, got {', '.join(bad)}")
    if len(found) < minimum:
        raise WorkflowBuildError(f"{pattern}: needs at least {minimum} {role}, got {len(found)}")
    return found


def check_agent(pattern: str, agent: Any, role: str, *, optional: bool = False) -> BaseAgent | None:
    """One agent of a pattern (EXEC_002 when it is not one)."""
    if agent is None and optional:
        return None
    if not isinstance(agent, BaseAgent):
        raise WorkflowBuildError(f"{pattern}: {role} must be a BaseAgent, got {type(agent).__name__}")
    return agent


def check_choice(pattern: str, option: str, value: str, choices: Sequence[str]) -> str:
    """A string option normalized (``round-robin`` = ``round_robin``); EXEC_002 naming the choices."""
    normalized = str(value).replace("-", "_")
    if normalized not in choices:
        raise WorkflowBuildError(
            f"{pattern}: unknown {option} {value!r}", hint=f"choose one of: {', '.join(choices)}"
        )
    return normalized
