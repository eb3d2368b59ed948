"""What runs on the cluster: the agent worker (an async Ray actor) and the shared budget keeper.

Both are plain classes here; :mod:`kaizen_ray.executor` turns them into Ray actors with
``ray.remote(...)`` when the pool starts, so importing this module does not import Ray.

:class:`AgentWorker` holds the agents it has built (cached by :attr:`AgentSpec.fingerprint`)
and runs many child runs at once on its event loop. For each child it

* resumes from the child's last checkpoint when there is one (a retry after a dead
  worker), else starts a fresh run: where that checkpoint is comes from the child's
  *locator stream* in the agent's own checkpoint store (``<agent_id>.<child_id>.executor``),
  appended on every checkpoint the child saves, so nothing lives only in Ray's memory;
* runs it inside its own interrupt scope, which :meth:`AgentWorker.interrupt` (called by
  the driver when the caller's scope is interrupted) stops gracefully;
* records the hook events the driver listens to and sends them back in batches (the driver
  fetches them while the child runs, :meth:`AgentWorker.take_events`, and the rest comes with
  the reply), which the driver triggers on the agent's own hooks;
* carries the caller's hook metadata (``parent_run_id``, ``pipeline_step``, ``traceparent``...).
"""

from __future__ import annotations

import os
import pickle
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, PrivateAttr
from pydantic_core import to_jsonable_python

from kaizen_core.errors import BudgetExceededError
from kaizen_core.hooks import BaseHook, HookContext, HookEvent, HookManager
from kaizen_core.orchestration.executors import AgentSpec
from kaizen_core.permissions import ExecutionContext
from kaizen_core.permissions.policy import BudgetReservation

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent

__all__ = ["AgentWorker", "BudgetKeeper", "ChildReply", "ChildRequest", "RemoteBudgetContext", "locator_stream"]

#: Built agents a worker keeps (by spec fingerprint) for the next children of the same agent.
MAX_AGENTS = 1024
#: The hook-metadata key telling the worker's recorder which child an event belongs to (never replayed).
CHILD_KEY = "kaizen_ray_child"


def locator_stream(agent_id: str, child_id: str) -> str:
    """The stream (in the agent's checkpoint store) listing a child's checkpoints, newest last."""
    return f"{agent_id}.{child_id}.executor"


@dataclass
class ChildRequest:
    """One child run sent to a worker (pickled by Ray)."""

    child_id: str
    spec: AgentSpec
    #: ``spec.fingerprint``, computed once by the driver (workers cache built agents by it).
    spec_key: str
    inputs: dict[str, Any]
    metadata: dict[str, Any]
    #: Hook events the driver's hooks listen to (only those are recorded and sent back).
    events: list[str] = field(default_factory=list)
    #: A BudgetKeeper actor handle when the child shares a budget; with the context's permission fields.
    budget: Any = None
    permissions: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    #: One submission of the child (its retries keep it; a resumed parent's new submission does not).
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class ChildReply:
    """How a child run ended: ``result`` or ``error`` (the child's own exception), plus its events."""

    result: dict[str, Any] | None = None
    error: BaseException | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    #: What this child spent of a shared budget (the driver adds it to the caller's context).
    spent: dict[str, Any] = field(default_factory=dict)
    resumed_from: str | None = None
    pid: int = 0


# --- the shared budget ------------------------------------------------------------------------------
class BudgetKeeper:
    """The one ExecutionContext every remote child of a shared budget charges.

    A Ray actor with one thread: its methods run one at a time, so a reservation (check and
    hold) is atomic across every worker and node, exactly like the local context's lock.
    """

    def __init__(self, limits: dict[str, Any], calls: int, spent: float, tokens: int) -> None:
        self.context = ExecutionContext(**limits)
        for _ in range(calls):  # the caller's context may have spent some already
            self.context.settle(BudgetReservation())
        self.context.record_cost(spent)
        self.context.record_tokens(tokens)

    def reserve(self) -> BudgetReservation | str:
        try:
            return self.context.reserve()
        except BudgetExceededError as exc:
            return exc.message

    def settle(self, reservation: BudgetReservation, cost: float | None, tokens: int) -> None:
        self.context.settle(reservation, cost=cost, tokens=tokens)

    def exhausted(self, estimate: float, calls: bool) -> str | None:
        return self.context.budget_exhausted(estimate, calls=calls)

    def record(self, cost: float, tokens: int, tool: str | None) -> None:
        if tool is not None:
            self.context.record_tool_usage(tool, cost)
        else:
            self.context.record_cost(cost)
        if tokens:
            self.context.record_tokens(tokens)

    def totals(self) -> dict[str, Any]:
        ctx = self.context
        return {"calls": ctx.calls_made, "spent": ctx.budget_spent, "tokens": ctx.tokens_spent, "in_flight": ctx.calls_in_flight}


class RemoteBudgetContext(ExecutionContext):
    """A child's ExecutionContext whose budget is the shared :class:`BudgetKeeper`'s.

    Permission decisions (mode, allowed/denied tools, rules) stay local; every budget
    check, hold and charge is one call to the keeper. ``spent`` is what this child charged.
    """

    _keeper: Any = PrivateAttr(default=None)
    _child_spent: dict[str, Any] = PrivateAttr(default_factory=lambda: {"calls": 0, "cost": 0.0, "tokens": 0, "tools": {}})

    @classmethod
    def connect(cls, keeper: Any, permissions: dict[str, Any]) -> RemoteBudgetContext:
        ctx = cls(**permissions)
        ctx._keeper = keeper
        return ctx

    def _call(self, method: str, *args: Any) -> Any:
        import ray

        # A blocking round trip on the worker's loop: only the synchronous checks come here (the
        # permission gate's, a failed call's settle); each model call awaits areserve/asettle.
        return ray.get(getattr(self._keeper, method).remote(*args))

    @property
    def child_spent(self) -> dict[str, Any]:
        return self._child_spent

    @property
    def budget_spent(self) -> float:
        return float(self._call("totals")["spent"])

    @property
    def tokens_spent(self) -> int:
        return int(self._call("totals")["tokens"])

    @property
    def calls_made(self) -> int:
        return int(self._call("totals")["calls"])

    @property
    def calls_in_flight(self) -> int:
        return int(self._call("totals")["in_flight"])

    def budget_exhausted(self, estimate: float = 0.0, *, calls: bool = True) -> str | None:
        reason: str | None = self._call("exhausted", estimate, calls)
        return reason

    def reserve(self) -> BudgetReservation:
        answer = self._call("reserve")
        if isinstance(answer, str):
            raise BudgetExceededError(answer, hint="raise the budget, or make the task smaller")
        reservation: BudgetReservation = answer
        return reservation

    def settle(self, reservation: BudgetReservation, *, cost: float | None = 0.0, tokens: int = 0) -> None:
        self._call("settle", reservation, cost, tokens)
        self._count(cost, tokens)

    # The model-call path awaits these: the worker's other runs go on during the round trip.
    async def areserve(self) -> BudgetReservation:
        answer = await self._keeper.reserve.remote()
        if isinstance(answer, str):
            raise BudgetExceededError(answer, hint="raise the budget, or make the task smaller")
        reservation: BudgetReservation = answer
        return reservation

    async def asettle(self, reservation: BudgetReservation, *, cost: float | None = 0.0, tokens: int = 0) -> None:
        await self._keeper.settle.remote(reservation, cost, tokens)
        self._count(cost, tokens)

    def _count(self, cost: float | None, tokens: int) -> None:
        spent = self._child_spent
        spent["calls"] += 1
        spent["cost"] += cost or 0.0
        spent["tokens"] += tokens

    def record_tokens(self, tokens: int) -> None:
        self._call("record", 0.0, tokens, None)
        self._child_spent["tokens"] += tokens

    def record_tool_usage(self, name: str, cost: float = 0.0) -> None:
        self._call("record", cost, 0, name)
        tools = self._child_spent["tools"]
        tools[name] = tools.get(name, 0) + 1
        self._child_spent["cost"] += cost

    def record_cost(self, cost: float) -> None:
        self._call("record", cost, 0, None)
        self._child_spent["cost"] += cost


# --- hook events --------------------------------------------------------------------------------------
def _portable(value: Any) -> Any:
    """Event metadata as it can cross the boundary: exceptions as they are (they pickle), pydantic
    models as models (a hook on the driver reads ``_request``/``_completion`` as the CompletionRequest
    and Completion a local run gives it), the rest as JSON values."""
    if isinstance(value, BaseException):
        return value
    if isinstance(value, BaseModel):
        return _portable_model(value)
    if isinstance(value, dict):
        return {str(k): _portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_portable(v) for v in value]
    return to_jsonable_python(value, fallback=repr)


def _portable_model(value: BaseModel) -> Any:
    """A copy of ``value`` that pickles: rebuilt from its dump, so fields excluded from dumps (a
    provider's raw SDK response) stay here; its JSON form when even that copy does not pickle."""
    try:
        copy = type(value).model_validate(value.model_dump(mode="python"))
        pickle.dumps(copy)
    except Exception:  # a model holding what pickle cannot carry: the driver gets its JSON values
        return to_jsonable_python(value, fallback=repr)
    return copy


class _Recorder(BaseHook):
    """Records the events the driver listens to, per child, and keeps each child's locator stream.

    Registered for POST_CHECKPOINT_SAVE, and for each event a driver asks for when it first
    does (:meth:`AgentWorker._record`): an event nobody listens to costs nothing here either.
    """

    name = "kaizen_ray_recorder"

    def __init__(self, worker: AgentWorker, events: list[HookEvent]) -> None:
        super().__init__(name=f"kaizen_ray_recorder:{'+'.join(e.value for e in events)}", events=events)
        self.worker = worker

    async def handle(self, context: HookContext) -> None:
        child_id = context.metadata.get(CHILD_KEY)
        state = self.worker.children.get(child_id) if isinstance(child_id, str) else None
        if state is None:
            return
        if context.event is HookEvent.POST_CHECKPOINT_SAVE and context.metadata.get("checkpoint_id"):
            await state.locate(str(context.metadata["checkpoint_id"]))
        if context.event.value in state.events:
            metadata = {k: v for k, v in context.metadata.items() if k != CHILD_KEY}
            state.recorded.append(
                {
                    "event": context.event.value,
                    "agent_id": context.agent_id,
                    "run_id": context.run_id,
                    "trace_id": context.trace_id,
                    "cycle": context.cycle,
                    "timestamp": context.timestamp,
                    "pid": os.getpid(),
                    "duration_ms": context.duration_ms,
                    "metadata": _portable(metadata),
                }
            )


@dataclass
class _ChildState:
    agent: BaseAgent
    stream: str
    events: frozenset[str]
    token: str = ""
    scope: Any = None
    recorded: list[dict[str, Any]] = field(default_factory=list)

    async def locate(self, checkpoint_id: str) -> None:
        manager = self.agent.state_manager
        if manager is not None:
            await manager.journal_append(self.stream, {"checkpoint_id": checkpoint_id})


# --- the worker -------------------------------------------------------------------------------------------
class AgentWorker:
    """An async Ray actor running many child runs concurrently on one event loop."""

    def __init__(self) -> None:
        self.agents: dict[str, BaseAgent] = {}
        self.children: dict[str, _ChildState] = {}
        self.hooks = HookManager()
        self.hooks.register_hook(_Recorder(self, [HookEvent.POST_CHECKPOINT_SAVE]))
        self.recording: set[str] = {HookEvent.POST_CHECKPOINT_SAVE.value}
        #: Interrupts that arrived before their child started here (the driver forwards as soon as
        #: its scope is interrupted; the run call may still be queued): applied when it starts.
        self.early: dict[str, tuple[str, str, str, dict[str, Any]]] = {}  # by submission token
        self.started = 0
        self.warmed = False

    def _record(self, events: list[str]) -> None:
        missing = [HookEvent(e) for e in events if e not in self.recording]
        if missing:
            self.hooks.register_hook(_Recorder(self, missing))
            self.recording.update(e.value for e in missing)

    async def ready(self) -> int:
        """Warm up, then answer the worker's process id (the pool waits for every worker to answer).

        One offline run of a mock agent imports and compiles what every child run uses, so that
        one-time cost is paid when the pool starts, not by the first children.
        """
        if not self.warmed:
            from kaizen_core.agents.base import BaseAgent

            warm = BaseAgent({"llm_provider": "mock", "enable_interrupts": False}, "question: str -> answer: str")
            await warm.run_async(question="warm-up")
            self.warmed = True
        return os.getpid()

    def stats(self) -> dict[str, Any]:
        """Process id, resident memory (bytes), CPU seconds used, agents built, runs in flight and started."""
        rss = 0
        try:
            with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as fh:
                rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        return {
            "pid": os.getpid(),
            "rss": rss,
            "cpu_s": time.process_time(),
            "agents": len(self.agents),
            "in_flight": len(self.children),
            "started": self.started,
        }

    def _agent(self, request: ChildRequest) -> BaseAgent:
        # A shared budget binds the agent to its keeper (a context of its own): such agents are built per run.
        key = request.spec_key
        agent = self.agents.get(key) if request.budget is None else None
        if agent is None:
            context = RemoteBudgetContext.connect(request.budget, request.permissions) if request.budget is not None else None
            agent = request.spec.build(hook_manager=self.hooks, execution_context=context)
            if request.budget is None:
                if len(self.agents) >= MAX_AGENTS:  # the oldest built goes (runs using it keep their reference)
                    self.agents.pop(next(iter(self.agents)))
                self.agents[key] = agent
        return agent

    async def run(self, request: ChildRequest) -> ChildReply:
        """Run (or resume) one child; its failure is returned in the reply, never raised."""
        from kaizen_core.hooks.context import hook_metadata
        from kaizen_core.interrupts import InterruptScope

        self.started += 1
        self._record(request.events)
        try:
            agent = self._agent(request)
        except Exception as exc:  # the agent cannot be built here (a class or tool not importable)
            return ChildReply(error=exc, pid=os.getpid())
        state = _ChildState(
            agent, locator_stream(agent.agent_id, request.child_id), frozenset(request.events), request.token
        )
        state.scope = InterruptScope(agent.config.graceful_shutdown_timeout, run_id=request.child_id)
        self.children[request.child_id] = state
        early = self.early.pop(request.token, None)
        if early is not None:
            state.scope.request_interrupt(*early)
        token = state.scope.activate()
        reply = ChildReply(pid=os.getpid())
        try:
            with hook_metadata(**request.metadata, **{CHILD_KEY: request.child_id}):
                checkpoint = await self._last_checkpoint(state)
                if checkpoint is not None:
                    reply.resumed_from = checkpoint
                    reply.result = await agent.resume_from_checkpoint(checkpoint)  # type: ignore[attr-defined]
                else:
                    reply.result = await agent.run_async(**request.inputs)
        except Exception as exc:
            reply.error = exc
        finally:
            state.scope.deactivate(token)
            state.scope.close()
            self.children.pop(request.child_id, None)
        reply.events = state.recorded
        context = agent._execution_context
        if isinstance(context, RemoteBudgetContext):
            reply.spent = context.child_spent
        return reply

    async def _last_checkpoint(self, state: _ChildState) -> str | None:
        manager = state.agent.state_manager
        if manager is None or not hasattr(state.agent, "resume_from_checkpoint"):
            return None
        entries = await manager.journal_read(state.stream)
        return str(entries[-1]["checkpoint_id"]) if entries else None

    def take_events(self, child_id: str, token: str) -> list[dict[str, Any]]:
        """The events child ``child_id`` recorded since the last call (the driver replays long runs'
        events while they run; the reply carries the rest)."""
        state = self.children.get(child_id)
        if state is None or state.token != token:
            return []
        taken, state.recorded = state.recorded, []
        return taken

    def interrupt(
        self, child_id: str, token: str, source: str, mode: str, message: str, metadata: dict[str, Any]
    ) -> bool:
        """Forward the caller's interrupt to submission ``token`` of child ``child_id``; one that has
        not started here yet gets it when it starts (False then)."""
        state = self.children.get(child_id)
        if state is None or state.scope is None or state.token != token:
            if len(self.early) >= 10_000:  # interrupts of children that ended before them: drop the oldest
                self.early.pop(next(iter(self.early)))
            self.early[token] = (source, mode, message, metadata)
            return False
        return bool(state.scope.request_interrupt(source, mode, message, metadata))
