"""RayExecutor: child runs on a pool of Ray async actors (``executor="ray"`` / ``"ray://host:port"``).

    pipeline = Pipeline.parallel(agents, max_workers=50, executor="ray")              # local ray.init()
    pipeline = Pipeline.parallel(agents, executor="ray://10.0.0.1:6379?actors=8")     # a running cluster
    results = agent.run_many(batch, executor=RayExecutor("10.0.0.1:6379", actors=8, max_concurrency=200))

The pool starts on the first submitted child: ``ray.init`` (unless the process is already
connected) and ``actors`` :class:`~kaizen_ray.worker.AgentWorker` actors spread over the
nodes, each running up to ``max_concurrency`` children on its event loop. A child is sent
as an :class:`~kaizen_core.orchestration.executors.AgentSpec` plus its inputs, and the
agent is rebuilt on the worker from its config (cached there). Backpressure: at most
``actors * max_concurrency`` children are in flight; later submissions wait for a slot
before anything is sent (nothing queues in Ray's mailboxes or object store), each going to
the least-loaded worker. The driver awaits each child's ObjectRef on its event loop: the
non-blocking form of a ``ray.wait(num_returns=1)`` loop, which would block that loop.

Failures: a worker that dies (its process killed, its node lost) fails its children with
a Ray actor error; each is sent again (up to ``max_retries`` times) to another worker,
which resumes it from its last checkpoint (see :mod:`kaizen_ray.worker`); the dead worker
is restarted by Ray and rejoins the pool. Interrupts of the caller's scope (Ctrl+C, a
pipeline interrupt, a step timeout) are forwarded to the child, which stops gracefully
and leaves its checkpoint. Children sharing an ``execution_context=`` with limits charge
one :class:`~kaizen_ray.worker.BudgetKeeper` actor.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
import weakref
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from kaizen_core.errors import ConfigError, RuntimeExecutionError
from kaizen_core.orchestration.executors import AgentSpec, ChildRun, LocalExecutor

if TYPE_CHECKING:
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.permissions import ExecutionContext
    from kaizen_ray.worker import ChildReply, ChildRequest

__all__ = ["RayExecutor"]

_INT_OPTIONS = ("actors", "max_concurrency", "max_retries")
_FLOAT_OPTIONS = ("num_cpus", "event_flush_seconds")


class RayExecutor:
    """A pool of Ray async actors running child runs. See the module docstring.

    ``address``: None for a local ``ray.init()``, else the cluster's GCS address
    (``"10.0.0.1:6379"``, what ``ray start --head --port 6379`` prints). ``actors``: workers
    in the pool; ``max_concurrency``: children per worker at once; ``num_cpus``: CPUs each
    worker reserves for scheduling (agent runs wait on I/O: a fraction is enough);
    ``max_retries``: times a child is sent again after its worker died; ``event_flush_seconds``:
    how often the hook events of a child still running are fetched and triggered here (None:
    only with its reply; only children whose agent has hooks are polled); ``runtime_env`` and
    ``init_options`` go to ``ray.init``.
    """

    name: ClassVar[str] = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        actors: int = 2,
        max_concurrency: int = 100,
        num_cpus: float = 0.25,
        max_retries: int = 3,
        event_flush_seconds: float | None = 5.0,
        namespace: str = "kaizen",
        runtime_env: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if actors < 1 or max_concurrency < 1:
            raise ConfigError("ray executor: actors and max_concurrency must be at least 1")
        if max_retries < 0:
            raise ConfigError("ray executor: max_retries must be 0 or more")
        self.address = address
        self.actors = actors
        self.max_concurrency = max_concurrency
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.event_flush_seconds = event_flush_seconds
        self.namespace = namespace
        self.runtime_env = runtime_env
        self.init_options = dict(init_options or {})
        self._workers: list[Any] = []
        self._load: list[int] = []
        self._keepers: dict[int, tuple[ExecutionContext, Any]] = {}
        self._specs: weakref.WeakKeyDictionary[BaseAgent, tuple[AgentSpec, str]] = weakref.WeakKeyDictionary()
        self._start_lock = threading.Lock()
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self._local = LocalExecutor()

    @classmethod
    def from_url(cls, url: str = "ray", **options: Any) -> RayExecutor:
        """``"ray"`` (local ``ray.init()``) or ``"ray://host:port?actors=4&max_concurrency=200"``;
        ``options`` win over the URL's query."""
        parts = urlsplit(url)
        if parts.scheme not in ("", "ray") or (parts.scheme == "" and url != "ray"):
            raise ConfigError(f"not a ray executor URL: {url!r}", hint="use 'ray' or 'ray://host:port'")
        query: dict[str, Any] = dict(parse_qsl(parts.query))
        for key in _INT_OPTIONS:
            if key in query:
                query[key] = int(query[key])
        for key in _FLOAT_OPTIONS:
            if key in query:
                query[key] = float(query[key])
        unknown = set(query) - {*_INT_OPTIONS, *_FLOAT_OPTIONS, "namespace"}
        if unknown:
            raise ConfigError(f"ray executor URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}")
        address = parts.netloc or None
        return cls(address, **{**query, **options})

    @property
    def capacity(self) -> int:
        """Children in flight at most (``actors * max_concurrency``)."""
        return self.actors * self.max_concurrency

    # --- the pool -------------------------------------------------------------------------
    def _start(self) -> None:
        """Connect to Ray and start the workers (once; blocking, run in a thread)."""
        with self._start_lock:
            if self._workers:
                return
            import ray

            from kaizen_ray.worker import AgentWorker

            if not ray.is_initialized():
                options: dict[str, Any] = {"namespace": self.namespace, "log_to_driver": False, **self.init_options}
                if self.runtime_env is not None:
                    options["runtime_env"] = self.runtime_env
                if self.address is None:
                    options.setdefault("include_dashboard", False)
                ray.init(address=self.address, **options)
            worker_cls = ray.remote(AgentWorker)
            workers: list[Any] = [  # actor handles (Ray's typing sees the plain class)
                worker_cls.options(
                    # headroom above the children it is given, so interrupt() is never queued behind runs
                    max_concurrency=self.max_concurrency + 8,
                    max_restarts=-1,
                    max_task_retries=0,
                    num_cpus=self.num_cpus,
                    scheduling_strategy="SPREAD",
                ).remote()
                for _ in range(self.actors)
            ]
            ray.get([w.ready.remote() for w in workers])
            self._load = [0] * len(workers)
            self._workers = workers

    async def start(self) -> None:
        """Start the pool now (it starts on the first child otherwise)."""
        if not self._workers:
            await asyncio.to_thread(self._start)

    def _slots_here(self) -> asyncio.Semaphore:
        # One semaphore per event loop: blocking pipeline.run() calls each run their own loop.
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            self._slots = {lp: s for lp, s in self._slots.items() if not lp.is_closed()}
            slots = self._slots[loop] = asyncio.Semaphore(self.capacity)
        return slots

    async def stats(self) -> list[dict[str, Any]]:
        """Per worker: pid, resident memory (bytes), agents built, runs in flight and started."""
        await self.start()
        return list(await asyncio.gather(*(w.stats.remote() for w in self._workers)))

    def worker_pids(self) -> list[int]:
        """The process ids of the workers (blocking)."""
        import ray

        self._start()
        return list(ray.get([w.ready.remote() for w in self._workers]))

    async def aclose(self) -> None:
        """Stop the workers and budget keepers (Ray itself stays connected)."""
        import ray

        for handle in [*self._workers, *(keeper for _, keeper in self._keepers.values())]:
            ray.kill(handle, no_restart=True)
        self._workers, self._load, self._keepers = [], [], {}

    # --- submitting -----------------------------------------------------------------------
    async def submit(self, child: ChildRun) -> dict[str, Any]:
        """Run ``child`` on a worker; its result, or its own exception raised here."""
        from kaizen_core.orchestration.pipeline import PipelineAgent

        if isinstance(child.agent, PipelineAgent):
            # A nested pipeline coordinates here; its own children go to its own executor.
            return await self._local.submit(child)
        await self.start()
        request = await self._request(child)
        async with self._slots_here():
            reply = await self._run(child, request)
        await self._deliver(child, request, reply)
        if reply.error is not None:
            raise reply.error
        assert reply.result is not None
        return reply.result

    async def _request(self, child: ChildRun) -> ChildRequest:
        from kaizen_ray.worker import ChildRequest

        agent = child.agent
        described = self._specs.get(agent)
        if described is None:
            spec = AgentSpec.from_agent(agent)
            described = self._specs[agent] = (spec, spec.fingerprint)
        hooks = agent._hooks
        events = [e for e in _event_names() if hooks is not None and hooks.has_handlers(e)]
        request = ChildRequest(
            child_id=child.child_id,
            spec=described[0],
            spec_key=described[1],
            inputs=child.inputs,
            metadata=_jsonable(child.metadata),  # carries the caller's traceparent (child_metadata)
            events=events,
        )
        context = agent._execution_context
        if context is not None and context.has_limits:
            request.budget = await self._keeper(context)
            request.permissions = context.model_dump(exclude={"budget_limit", "token_limit", "call_limit"})
            request.permissions.update(
                budget_limit=context.budget_limit, token_limit=context.token_limit, call_limit=context.call_limit
            )
        return request

    async def _keeper(self, context: ExecutionContext) -> Any:
        entry = self._keepers.get(id(context))
        if entry is not None and entry[0] is context:
            return entry[1]
        import ray

        from kaizen_ray.worker import BudgetKeeper

        limits = {"budget_limit": context.budget_limit, "token_limit": context.token_limit, "call_limit": context.call_limit}
        keeper = (
            ray.remote(BudgetKeeper)
            .options(num_cpus=0, max_concurrency=1, name=f"kaizen-budget-{uuid.uuid4().hex[:12]}")
            .remote(limits, context.calls_made, context.budget_spent, context.tokens_spent)
        )
        self._keepers[id(context)] = (context, keeper)
        return keeper

    def _pick(self, avoid: set[int]) -> int:
        """The least-loaded worker, preferring those a retried child has not died on."""
        candidates = [i for i in range(len(self._workers)) if i not in avoid] or list(range(len(self._workers)))
        return min(candidates, key=lambda i: self._load[i])

    async def _run(self, child: ChildRun, request: ChildRequest) -> ChildReply:
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        last: BaseException | None = None
        died_on: set[int] = set()
        for attempt in range(self.max_retries + 1):
            request.attempt = attempt
            index = self._pick(died_on)
            self._load[index] += 1
            try:
                return await self._await(child, request, self._workers[index])
            except (RayActorError, ActorDiedError, ActorUnavailableError) as exc:
                last = exc  # the worker died: another one resumes the child from its checkpoint
                died_on.add(index)
            finally:
                self._load[index] -= 1
        raise RuntimeExecutionError(
            f"child {child.key} of run {child.parent_run_id}: its Ray worker died {self.max_retries + 1} time(s)",
            hint="check the cluster's nodes (ray status); raise max_retries for flaky nodes",
        ) from last

    async def _await(self, child: ChildRun, request: ChildRequest, worker: Any) -> ChildReply:
        """Wait for the reply, forwarding the caller's interrupts (a second one escalates)."""
        import ray

        ref = worker.run.remote(request)
        reply = asyncio.ensure_future(_as_future(ref))
        forwarded: Any = None
        flush = self.event_flush_seconds if request.events else None
        try:
            while True:
                reason = child.scope.reason
                if reason is not None and (forwarded is None or reason.mode is not forwarded):
                    forwarded = reason.mode
                    worker.interrupt.remote(
                        request.child_id,
                        request.token,
                        reason.source.value,
                        reason.mode.value,
                        reason.message,
                        _jsonable(reason.metadata),
                    )
                waiter = asyncio.ensure_future(child.scope.wait()) if reason is None else None
                pending = {reply} if waiter is None else {reply, waiter}
                # after a forwarded interrupt, look again for an escalation now and then
                timeout = None if waiter else 0.2
                if flush is not None:
                    timeout = flush if timeout is None else min(timeout, flush)
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
                if waiter is not None:
                    waiter.cancel()
                if reply.done():
                    result: ChildReply = reply.result()
                    return result
                if flush is not None:
                    await self._replay(child.agent, await worker.take_events.remote(request.child_id, request.token), 0)
        except asyncio.CancelledError:
            ray.cancel(ref)  # the caller gave up on the child (a step past its grace period)
            reply.cancel()
            raise

    async def _deliver(self, child: ChildRun, request: ChildRequest, reply: ChildReply) -> None:
        """The child's hook events to the agent's hooks, its spending to the shared context, and the
        locator stream dropped once the child succeeded (its result is here now)."""
        agent = child.agent
        await self._replay(agent, reply.events, reply.pid)
        context = agent._execution_context
        if reply.spent and context is not None:
            _charge(context, reply.spent)
        if reply.error is None and agent.state_manager is not None:
            from kaizen_ray.worker import locator_stream

            await agent.state_manager.journal_delete(locator_stream(agent.agent_id, request.child_id))

    @staticmethod
    async def _replay(agent: BaseAgent, events: list[dict[str, Any]], pid: int) -> None:
        """Trigger a child's recorded events on the agent's own hooks, in the order they happened."""
        hooks = agent._hooks
        if hooks is None:
            return
        for event in events:
            # When and where it happened (the context's own timestamp is the replay's).
            metadata = {**event["metadata"], "remote_timestamp": event["timestamp"], "worker_pid": event["pid"] or pid}
            if event["duration_ms"] is not None:
                metadata.setdefault("duration_ms", event["duration_ms"])
            await hooks.trigger(
                event["event"],
                agent_id=event["agent_id"],
                run_id=event["run_id"],
                trace_id=event["trace_id"],
                cycle=event["cycle"],
                metadata=metadata,
            )

    def __repr__(self) -> str:
        where = self.address or "local"
        return f"RayExecutor({where!r}, actors={self.actors}, max_concurrency={self.max_concurrency})"


def _charge(context: ExecutionContext, spent: dict[str, Any]) -> None:
    """Add a remote child's spending to the caller's shared context (so ``calls_made`` etc. are true here)."""
    from kaizen_core.permissions.policy import BudgetReservation

    for _ in range(int(spent.get("calls", 0))):
        context.settle(BudgetReservation())  # nothing is held here: every call of this context ran remotely
    for name, count in dict(spent.get("tools", {})).items():
        for _ in range(int(count)):
            context.record_tool_usage(name)
    if spent.get("cost"):
        context.record_cost(float(spent["cost"]))
    if spent.get("tokens"):
        context.record_tokens(int(spent["tokens"]))


async def _as_future(ref: Any) -> Any:
    return await ref


def _event_names() -> list[str]:
    from kaizen_core.hooks import HookEvent

    return sorted({e.value for e in HookEvent})


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=repr)
