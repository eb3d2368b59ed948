"""RunManager: starts runs, records their events, answers their requests, stops them.

One per server process. A run executes in the process that received its POST (its
*worker*), in a task of the manager's task group, inside its own
:class:`~kaizen_core.interrupts.InterruptScope` (the agent's run scope nests in it, so
``POST /runs/{id}/interrupt`` stops exactly that run, gracefully, leaving a checkpoint).
Everything a client reads (records, events) goes through the :class:`RunStore`, so any
process on the same storage URL answers for any run; what only the worker can do
(deliver an answer, interrupt) travels to it through its inbox in the store.

Each worker renews a lease in the store (a heartbeat every ``lease / 3`` seconds); a worker
whose lease ran out died without a shutdown (``--workers N`` gives processes random ids, so
no restarted process would find its runs): the other workers claim its unfinished runs and
resume them from their checkpoints (a single-shot run starts again from its inputs).

Event types on a run's stream: ``status``, ``cycle``, ``model_call``, ``permission``, ``tool_call``,
``tool_result``, ``checkpoint``, ``progress``, ``approval_request`` / ``question`` (with
``request_id``), ``response`` (the request's outcome: ``answered`` / ``timeout`` /
``cancelled``), then one final ``completed`` / ``failed`` / ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio
from anyio.abc import TaskGroup

from kaizen_core.control.messages import ControlRequest, ControlResponse
from kaizen_core.errors import AgentInterrupted, InputValidationError, KaizenError, RuntimeExecutionError
from kaizen_core.hooks import BaseHook, HookContext, HookEvent
from kaizen_core.interrupts import InterruptMode, InterruptScope, InterruptSource
from kaizen_core.redaction import redact, redacted_traceback
from kaizen_serve.errors import HTTPError
from kaizen_serve.served import ServedAgent
from kaizen_serve.store import TERMINAL, RunEvent, RunRecord, RunStore
from kaizen_serve.transport import HTTPTransport, ServeControlProtocol, current_run, reset_current_run, set_current_run

__all__ = ["LocalRun", "RunManager"]

logger = logging.getLogger("kaizen.serve")

_REQUEST_EVENTS = {"approval": "approval_request", "question": "question"}


def _clean(value: Any) -> Any:
    """JSON-ready copy of ``value`` with secrets redacted from every string."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return redact(str(value))


@dataclass
class LocalRun:
    """A run executing in this process (the :class:`~kaizen_serve.transport.RunChannel` of its agent).

    Events and record snapshots are queued in order and written by one writer task, so
    the agent never waits on the store and a hook never awaits (lifecycle hooks must not
    suspend inside anyio primitives); :meth:`flush` waits until everything queued is stored.
    """

    manager: RunManager
    record: RunRecord
    served: ServedAgent
    inputs: dict[str, Any]
    resume_from: str | None = None
    scope: InterruptScope = field(default_factory=InterruptScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    changed: anyio.Event = field(default_factory=anyio.Event)
    count: int = 0
    stopping: bool = False  # interrupted by the server shutting down: resume on the next start
    #: Cancelled when the server stops while the run waits for an answer (see begin_shutdown).
    cancel_scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    #: Events stored by this process's writer (ids ``base + 1`` on) and the stored status:
    #: live readers of a local run read these instead of the store.
    base: int = 0
    written: list[RunEvent] = field(default_factory=list)
    stored_status: str = "queued"
    _queue: list[RunEvent | RunRecord] = field(default_factory=list)
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _drained: anyio.Event = field(default_factory=anyio.Event)
    _closed: bool = False

    def emit(self, type: str, data: dict[str, Any]) -> RunEvent:
        """Queue an event for the run's stream (ids are consecutive: the stream position)."""
        self.count += 1
        event = RunEvent(id=self.count, run_id=self.record.run_id, type=type, data=_clean(data))
        self._push(event)
        return event

    def save(self) -> None:
        """Queue a snapshot of the run record."""
        self._push(self.record.model_copy(deep=True))

    def _push(self, item: RunEvent | RunRecord) -> None:
        self._queue.append(item)
        self._wake.set()

    async def flush(self) -> None:
        """Wait until every queued event and snapshot is in the store."""
        while self._queue:
            self._drained = anyio.Event() if self._drained.is_set() else self._drained
            await self._drained.wait()

    async def writer(self) -> None:
        """Write the queue to the store in order (one task per run) until the run is closed."""
        store = self.manager.store
        while True:
            while self._queue:
                # One write per batch: the events queued so far in one append, and of several
                # snapshots in a row only the last (each is the whole record). Order is kept.
                batch = _leading_batch(self._queue)
                try:
                    if isinstance(batch[0], RunEvent):
                        await store.append_events(self.record.run_id, batch)  # type: ignore[arg-type]
                        self.written.extend(batch)  # type: ignore[arg-type]
                    else:
                        await store.save(batch[-1])  # type: ignore[arg-type]
                        self.stored_status = batch[-1].status  # type: ignore[union-attr]
                except KaizenError as exc:  # the store is down: keep the batch, retry shortly
                    logger.warning("run %s: storing events failed, retrying: %s", self.record.run_id, exc)
                    await anyio.sleep(self.manager.poll_interval)
                    continue
                del self._queue[: len(batch)]
                self.notify()
            self._drained.set()
            if self._closed:
                return
            self._wake = anyio.Event()
            if not self._queue:
                await self._wake.wait()

    def notify(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    def interrupt(self, source: InterruptSource, mode: InterruptMode, message: str) -> None:
        """Ask the run to stop; its pending requests are closed at once (as not approved), so
        the run reaches its next interrupt check instead of waiting out an approval timeout."""
        self.scope.request_interrupt(source, mode, message)
        for request_id in list(self.record.pending):
            self.manager.transport.answer(request_id, {}, error="the run was interrupted")
        self.notify()

    # --- RunChannel (the HTTP transport) ----------------------------------------------------
    async def control_request(self, request: ControlRequest) -> None:
        if not request.expects_response:
            self.emit("progress" if request.request_type == "progress" else "notification", request.data)
            return
        kind = _REQUEST_EVENTS.get(request.request_type, request.request_type)
        data = _clean({"request_id": request.id, "kind": request.request_type, **request.data})
        self.record.pending[request.id] = data
        self.save()
        self.emit(kind, data)
        if self.stopping:  # asked while the server stops: the next server asks again
            self.cancel_scope.cancel()

    async def control_closed(self, request: ControlRequest, response: ControlResponse | None) -> None:
        if self.record.pending.pop(request.id, None) is None:
            return
        self.save()
        if response is None or (response.error and self.scope.is_interrupted()):
            outcome = "cancelled" if self.scope.is_interrupted() else "timeout"
            self.emit("response", {"request_id": request.id, "outcome": outcome})
            return
        self.emit("response", {"request_id": request.id, "outcome": "answered", **response.data})


class RunEventsHook(BaseHook):
    """Turns lifecycle events of a served run into events on its stream."""

    name = "kaizen-serve-events"
    events = [
        HookEvent.POST_CYCLE,
        HookEvent.POST_MODEL_CALL,
        HookEvent.PRE_TOOL_CALL,
        HookEvent.POST_TOOL_CALL,
        HookEvent.POST_CHECKPOINT_SAVE,
        HookEvent.POST_PERMISSION_CHECK,
    ]

    async def handle(self, context: HookContext) -> None:
        # Never suspends: the run's writer task stores what is queued here.
        run = current_run()
        if not isinstance(run, LocalRun):
            return None
        meta = context.metadata
        event = context.event
        if event is HookEvent.POST_CYCLE:
            run.emit("cycle", {"cycle": context.cycle, "cost_usd": meta.get("cost_usd")})
        elif event is HookEvent.POST_MODEL_CALL:
            model_keys = ("provider", "model", "response_model", "usage", "duration_ms", "cost_usd_call", "error_type")
            run.emit("model_call", {k: meta.get(k) for k in model_keys})
        elif event is HookEvent.PRE_TOOL_CALL:
            run.emit("tool_call", {k: meta.get(k) for k in ("tool", "tool_call_id", "arguments")})
        elif event is HookEvent.POST_TOOL_CALL:
            data = {k: meta.get(k) for k in ("tool", "tool_call_id", "outcome", "duration_ms", "error")}
            result = meta.get("result")
            data["result"] = result[:2000] if isinstance(result, str) else result
            run.emit("tool_result", data)
        elif event is HookEvent.POST_PERMISSION_CHECK:
            keys = ("tool", "call_id", "decision", "initial_decision", "reason")
            run.emit("permission", {k: meta.get(k) for k in keys})
        elif event is HookEvent.POST_CHECKPOINT_SAVE:
            checkpoint_id = meta.get("checkpoint_id")
            if checkpoint_id:
                run.record.checkpoint_id = str(checkpoint_id)
                run.save()
                run.emit("checkpoint", {"checkpoint_id": checkpoint_id, "step_number": meta.get("step_number")})
        return None


class RunManager:
    """The runs of one server process (see the module docstring)."""

    #: Managers started in this process (a stop signal reaches them all).
    _started: ClassVar[list[RunManager]] = []

    def __init__(
        self,
        agents: dict[str, ServedAgent],
        store: RunStore,
        *,
        worker_id: str | None = None,
        poll_interval: float = 0.2,
        keepalive: float = 15.0,
        lease: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.agents = agents
        self.store = store
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        #: Seconds without a heartbeat after which a worker is taken for dead (wall clock: ``clock``).
        self.lease = lease
        self.clock = clock
        self._heartbeats = 0
        #: Dead workers found with nothing left to take over -> their last heartbeat (not looked at again
        #: until it changes: a worker with a stable id may come back).
        self._gone: dict[str, float] = {}
        self.transport = HTTPTransport()
        self.control = ServeControlProtocol(self.transport)
        self.local: dict[str, LocalRun] = {}
        self.stopping = False
        self._stopped = anyio.Event()
        self._tg: TaskGroup | None = None
        self._inbox_seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self, tg: TaskGroup) -> None:
        """Start delivering control messages and the inbox poller; resume runs left to resume."""
        self._tg = tg
        self._loop = asyncio.get_running_loop()
        RunManager._started.append(self)
        _chain_stop_signals()
        await self.control.start()
        self._inbox_seen = len(await self.store.inbox(self.worker_id))
        await self.store.register_worker(self.worker_id)
        await self.store.heartbeat(self.worker_id, self.clock())
        tg.start_soon(self._poll_inbox)
        tg.start_soon(self._keep_lease)
        await self.resume_left_runs()

    def begin_shutdown(self) -> None:
        """Stop accepting runs; interrupt the local ones gracefully (they leave checkpoints); end streams."""
        if self.stopping:
            return
        self.stopping = True
        self._stopped.set()
        for run in list(self.local.values()):
            run.stopping = True
            run.scope.request_interrupt(InterruptSource.SYSTEM, InterruptMode.GRACEFUL, "server shutting down")
            if run.record.pending:
                # Waiting for a person: stop it where it is, like a crash. The journal has the
                # model's reply, so the next server resumes from the last checkpoint and asks again.
                run.cancel_scope.cancel()
            run.notify()

    @classmethod
    def stop_all_threadsafe(cls) -> None:
        """:meth:`begin_shutdown` every started manager, from a signal handler or another thread."""
        for manager in list(cls._started):
            if manager._loop is not None:
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    manager._loop.call_soon_threadsafe(manager.begin_shutdown)

    async def shutdown(self) -> None:
        """:meth:`begin_shutdown`, then wait for the local runs to stop."""
        self.begin_shutdown()
        if self in RunManager._started:
            RunManager._started.remove(self)
        for run in list(self.local.values()):
            await run.done.wait()
        await self.control.stop()

    # --- runs ---------------------------------------------------------------------------------
    def served(self, name: str) -> ServedAgent:
        served = self.agents.get(name)
        if served is None:
            raise HTTPError.not_found(f"agent {name!r}")
        return served

    async def submit(self, name: str, inputs: dict[str, Any], *, key_name: str | None = None) -> LocalRun:
        """Validate ``inputs`` against the agent's signature and start the run (EXEC_001 when invalid)."""
        served = self.served(name)
        if self.stopping:
            raise HTTPError.limit("the server is shutting down")
        values = served.signature.validate_inputs(inputs)
        record = RunRecord(
            run_id=uuid.uuid4().hex,
            agent=name,
            worker=self.worker_id,
            key_name=key_name,
            agent_id=served.agent_id,
        )
        record.inputs = _clean(values)
        run = LocalRun(self, record, served, inputs=values)
        await self.store.create(record)
        await self.store.track(self.worker_id, record.run_id, started=True)
        run.emit("status", {"status": "queued"})
        self._spawn(run)
        return run

    def _spawn(self, run: LocalRun) -> None:
        assert self._tg is not None, "RunManager.start() was not called (is the app's lifespan running?)"
        self.local[run.record.run_id] = run
        self._tg.start_soon(run.writer)
        self._tg.start_soon(self._execute, run)

    def _prepare(self, agent: Any) -> Any:
        """Connect an agent to the server: HTTP control transport, event hook, interrupt scope."""
        if getattr(agent, "_kaizen_serve_prepared", False):
            return agent
        agent.interrupt_manager  # noqa: B018 - created now: runs are watched, so interrupts reach them
        agent.control_protocol = self.control
        agent.hook_manager.register_hook(RunEventsHook())
        agent._kaizen_serve_prepared = True
        return agent

    async def _execute(self, run: LocalRun) -> None:
        record = run.record
        token = set_current_run(run)
        scope_token = run.scope.activate()
        # The final event is queued before the terminal snapshot: whoever reads a terminal
        # status from the store finds the final event there too.
        agent: Any = None
        try:
            record.status = "running"
            run.save()
            run.emit("status", {"status": "running", "resumed_from": run.resume_from})
            agent = self._prepare(run.served.build())
            result = None
            with run.cancel_scope:
                if run.resume_from is not None and hasattr(agent, "resume_from_checkpoint"):
                    result = await agent.resume_from_checkpoint(run.resume_from)
                else:
                    result = await agent.run_async(**run.inputs)
            if result is None:  # cancelled by a stopping server: resume from the last checkpoint
                raise AgentInterrupted("the server stopped while the run waited for an answer")
            record.result = _clean(dict(result))
            run.emit("completed", {"result": record.result})
            record.status = "completed"
        except AgentInterrupted as exc:
            partial = exc.result or {}
            record.checkpoint_id = partial.get("checkpoint_id") or record.checkpoint_id
            record.error = exc.to_dict()
            record.resume_on_start = run.stopping
            run.emit(
                "interrupted",
                {"checkpoint_id": record.checkpoint_id, "message": exc.message, "resumable": run.stopping},
            )
            record.status = "interrupted"
        except Exception as exc:
            if isinstance(exc, KaizenError):
                error = exc
            else:
                logger.error("run %s of %s failed\n%s", record.run_id, record.agent, redacted_traceback(exc))
                error = RuntimeExecutionError(f"the run failed: {type(exc).__name__}", hint="see the server log")
            record.error = error.to_dict()
            run.emit("failed", {"error": record.error})
            record.status = "failed"
        finally:
            record.pending.clear()
            run.save()
            run._closed = True
            run._wake.set()
            with anyio.CancelScope(shield=True):
                try:
                    if agent is not None and run.served.fresh:
                        await _close(agent)  # a per-run agent's provider and store connections
                    await run.flush()
                    if record.resume_on_start:
                        await self.store.mark_resumable(record.run_id)
                    await self.store.track(self.worker_id, record.run_id, started=False)
                finally:
                    run.scope.close()
                    run.scope.deactivate(scope_token)
                    reset_current_run(token)
                    self.local.pop(record.run_id, None)
                    run.done.set()
                    run.notify()

    async def get(self, run_id: str) -> RunRecord:
        local = self.local.get(run_id)
        if local is not None:
            return local.record
        record = await self.store.get(run_id)
        if record is None:
            raise HTTPError.not_found(f"run {run_id!r}")
        return record

    async def wait(self, run: LocalRun) -> RunRecord:
        """Wait until a local run ends (or the server stops it)."""
        await run.done.wait()
        return run.record

    async def interrupt(self, run_id: str, mode: str = "graceful", message: str = "") -> RunRecord:
        """Ask run ``run_id`` to stop (its worker saves a checkpoint); 409 when it already ended."""
        record = await self.get(run_id)
        if record.status in TERMINAL:
            raise HTTPError.bad_request(f"run {run_id} already ended ({record.status})", status=409)
        text = message or "interrupted through the HTTP API"
        local = self.local.get(run_id)
        if local is not None:
            local.interrupt(InterruptSource.PROGRAMMATIC, InterruptMode(mode), text)
        else:
            await self.store.send(
                record.worker or "", {"type": "interrupt", "run_id": run_id, "mode": mode, "message": text}
            )
        return record

    async def respond(self, run_id: str, request_id: str, data: dict[str, Any], *, key_name: str | None = None) -> None:
        """Answer the pending request ``request_id`` of run ``run_id`` (404/409 when it is not pending)."""
        record = await self.get(run_id)
        pending = record.pending.get(request_id)
        if pending is None:
            if record.status in TERMINAL:
                raise HTTPError.bad_request(f"run {run_id} already ended ({record.status})", status=409)
            raise HTTPError.bad_request(f"request {request_id!r} of run {run_id} is not pending", status=409)
        answer = _answer(pending.get("kind", "approval"), data)
        if key_name:
            answer["by"] = key_name
        if run_id in self.local:
            self.transport.answer(request_id, answer)
        else:
            message = {"type": "response", "run_id": run_id, "request_id": request_id, "data": answer}
            await self.store.send(record.worker or "", message)

    async def _poll_inbox(self) -> None:
        """Deliver answers and interrupts other processes left for this worker's runs."""
        while not self.stopping:
            with anyio.move_on_after(self.poll_interval):
                await self._stopped.wait()
            try:
                messages = await self.store.inbox(self.worker_id, self._inbox_seen)
            except KaizenError as exc:
                logger.warning("kaizen-serve inbox unreadable: %s", exc)
                continue
            self._inbox_seen += len(messages)
            for message in messages:
                local = self.local.get(str(message.get("run_id")))
                if local is None:
                    continue
                if message.get("type") == "response":
                    self.transport.answer(str(message["request_id"]), dict(message.get("data") or {}))
                elif message.get("type") == "interrupt":
                    mode = InterruptMode(message.get("mode", "graceful"))
                    local.interrupt(InterruptSource.PROGRAMMATIC, mode, str(message.get("message", "")))

    async def resume_left_runs(self) -> list[str]:
        """Resume the runs a stopped server left resumable (claimed first: one process resumes each),
        and the runs this worker id started and never finished (the process was killed)."""
        for run_id in await self.store.unfinished(self.worker_id):
            record = await self.store.get(run_id)
            await self.store.track(self.worker_id, run_id, started=False)
            if record is None or record.status in TERMINAL or record.worker != self.worker_id:
                continue  # ended, or already taken over by another worker when this one's lease ran out
            record.status = "interrupted"
            record.resume_on_start = True
            record.pending.clear()
            record.error = AgentInterrupted("the server stopped without finishing the run").to_dict()
            await self.store.save(record)
            await self.store.mark_resumable(run_id)
        resumed: list[str] = []
        for run_id in await self.store.resumable():
            record = await self.store.get(run_id)
            if record is None or not record.resume_on_start or record.agent not in self.agents:
                continue
            claimed = await self.store.claim(run_id, self.worker_id)
            if claimed is not None:
                await self._resume(claimed)
                resumed.append(run_id)
        return resumed

    async def _resume(self, claimed: RunRecord) -> None:
        """Execute a run this worker claimed, from its last checkpoint (its stream continues)."""
        claimed.worker = self.worker_id
        claimed.resume_on_start = False
        claimed.error = None
        claimed.pending.clear()
        served = self.agents[claimed.agent]
        run = LocalRun(self, claimed, served, inputs=dict(claimed.inputs or {}), resume_from=claimed.checkpoint_id)
        if not served.autonomous:
            run.resume_from = None  # a single-shot run starts again from its inputs
        run.count = run.base = await self.store.event_count(claimed.run_id)
        await self.store.track(self.worker_id, claimed.run_id, started=True)
        self._spawn(run)

    async def _keep_lease(self) -> None:
        """Renew this worker's lease every ``lease / 3`` s, and take over the runs of dead workers."""
        while not self.stopping:
            with anyio.move_on_after(self.lease / 3):
                await self._stopped.wait()
            if self.stopping:
                return
            try:
                self._heartbeats += 1
                await self.store.heartbeat(self.worker_id, self.clock(), reset=self._heartbeats % 100 == 0)
                await self.take_over_dead_workers()
            except KaizenError as exc:  # the store is down: try again at the next beat
                logger.warning("kaizen-serve lease not renewed: %s", exc)

    async def take_over_dead_workers(self) -> list[str]:
        """Claim and resume the unfinished runs of workers whose lease ran out; their ids."""
        taken: list[str] = []
        now = self.clock()
        for worker in await self.store.workers():
            if worker == self.worker_id:
                continue
            beat = await self.store.last_heartbeat(worker)
            if beat is None or now - beat <= self.lease or self._gone.get(worker) == beat:
                continue  # alive (or its lease is being reset right now), or already emptied
            unfinished = await self.store.unfinished(worker)
            if not unfinished:
                self._gone[worker] = beat
            for run_id in unfinished:
                record = await self.store.get(run_id)
                if record is None or record.status in TERMINAL:
                    await self.store.track(worker, run_id, started=False)  # it ended; only the note was lost
                    continue
                if record.agent not in self.agents:
                    continue  # a server that serves this agent takes it
                claimed = await self.store.claim(run_id, self.worker_id, orphaned_by=worker)
                if claimed is None:
                    continue
                await self.store.track(worker, run_id, started=False)
                logger.warning("run %s: worker %s stopped renewing its lease; resuming it here", run_id, worker)
                await self._resume(claimed)
                taken.append(run_id)
        return taken

    # --- events ---------------------------------------------------------------------------
    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[RunEvent | None]:
        """The run's events after id ``after``, live until the run ends; ``None`` is a keep-alive tick."""
        await self.get(run_id)  # 404 for an unknown run
        last_tick = time.monotonic()
        while True:
            local = self.local.get(run_id)
            if local is not None and after >= local.base:
                # A run of this process: what its writer stored, from memory (no store read).
                changed: anyio.Event | None = local.changed
                status = local.stored_status
                new = local.written[after - local.base :]
            else:
                changed = None
                record = await self.store.get(run_id)  # the stored status: its final event is stored before it
                status = record.status if record is not None else "failed"
                new = await self.store.events(run_id, after)
            for event in new:
                after = event.id
                last_tick = time.monotonic()
                yield event
            if status in TERMINAL:
                return
            if self.stopping and local is None:  # a local run still writes its final event first
                return
            with anyio.move_on_after(self.poll_interval if changed is None else self.keepalive):
                if changed is not None:
                    await changed.wait()
                else:
                    await self._stopped.wait()
            if time.monotonic() - last_tick >= self.keepalive:
                last_tick = time.monotonic()
                yield None


async def _close(agent: Any) -> None:
    try:
        await agent.aclose()
    except Exception as exc:  # the run is over; a failing close is only logged
        logger.warning("closing agent %s failed: %s", getattr(agent, "agent_id", "?"), redact(str(exc)))


def _leading_batch(queue: list[RunEvent | RunRecord]) -> list[RunEvent | RunRecord]:
    """The items at the head of ``queue`` of the same kind (events, or record snapshots)."""
    kind = type(queue[0])
    end = 1
    while end < len(queue) and type(queue[end]) is kind:
        end += 1
    return queue[:end]


def _chain_stop_signals() -> None:
    """Let SIGINT/SIGTERM reach the run managers first, then the server's own handler (uvicorn's).

    Installed once the server has installed its handlers (the app's lifespan runs after
    that); the server puts its originals back when it stops, which removes these too.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous) or getattr(previous, "_kaizen_serve", False):
            continue

        def handler(sig: int, frame: Any, previous: Any = previous) -> None:
            RunManager.stop_all_threadsafe()
            previous(sig, frame)

        handler._kaizen_serve = True  # type: ignore[attr-defined]
        signal.signal(signum, handler)


def _answer(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The control-protocol answer for a request of ``kind`` from a response body."""
    if kind == "approval":
        approved = data.get("approved")
        if not isinstance(approved, bool):
            raise HTTPError(422, InputValidationError("an approval answer needs 'approved': true or false"))
        return {"approved": approved, **({"reason": str(data["reason"])[:500]} if data.get("reason") else {})}
    answer = data.get("answer")
    if not isinstance(answer, str):
        raise HTTPError(422, InputValidationError("a question's answer needs 'answer': a string"))
    return {"answer": answer}
