"""InterruptScope.guard() runs the step in the caller's task; monitor() polls only when
there are handlers: the cancellation bookkeeping, nesting, threads and timeouts around
that. Interrupts are requested once the step is known to be running (events, not sleeps)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kaizen_core.agents.run import call_with_timeout
from kaizen_core.errors import ProviderError
from kaizen_core.interrupts import (
    InterruptManager,
    InterruptMode,
    InterruptScope,
    InterruptSource,
    StepCancelled,
    TimeoutInterruptHandler,
)
from kaizen_core.providers.types import Completion, CompletionRequest, Message

pytestmark = pytest.mark.anyio

GRACEFUL = InterruptMode.GRACEFUL
IMMEDIATE = InterruptMode.IMMEDIATE
PROGRAMMATIC = InterruptSource.PROGRAMMATIC


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _pollers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "kaizen-interrupt-poller" and not t.done()]


def _current() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


def blocked_step(started: asyncio.Event, cancelled: asyncio.Event | None = None) -> Callable[[], Awaitable[str]]:
    """A step that announces it runs, then waits forever (a stuck provider call)."""

    async def step() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if cancelled is not None:
                cancelled.set()
            raise
        return "never"

    return step


async def interrupt_when(started: asyncio.Event, scope: InterruptScope, mode: InterruptMode, message: str = "") -> None:
    await started.wait()
    scope.request_interrupt(PROGRAMMATIC, mode, message)


# ---------------------------------------------------------------- guard(): outcomes
async def test_guard_returns_the_step_value_even_with_a_graceful_interrupt_pending() -> None:
    scope = InterruptScope(graceful_shutdown_timeout=30)

    async def step(x: int, *, y: int) -> int:
        scope.request_interrupt(PROGRAMMATIC, GRACEFUL, "after this step")
        await asyncio.sleep(0)
        return x + y

    assert await scope.guard(step, 2, y=3) == 5
    assert scope.mode is GRACEFUL


async def test_guard_propagates_the_step_error() -> None:
    async def step() -> None:
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        await InterruptScope().guard(step)


async def test_guard_cancels_a_blocked_step_on_immediate() -> None:
    scope = InterruptScope(graceful_shutdown_timeout=60)
    started, cancelled = asyncio.Event(), asyncio.Event()
    requester = asyncio.create_task(interrupt_when(started, scope, IMMEDIATE, "stop now"))
    with pytest.raises(StepCancelled) as info:
        await scope.guard(blocked_step(started, cancelled))
    await requester
    assert cancelled.is_set()
    assert info.value.reason.mode is IMMEDIATE and info.value.reason.message == "stop now"
    assert _current().cancelling() == 0


async def test_a_graceful_interrupt_escalates_when_the_injected_clock_passes_the_grace() -> None:
    clock = FakeClock()
    scope = InterruptScope(graceful_shutdown_timeout=5, clock=clock)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stop_gracefully_then_let_time_pass() -> None:
        await started.wait()
        scope.request_interrupt(InterruptSource.USER, GRACEFUL, "bye")
        await asyncio.sleep(0)
        assert scope.mode is GRACEFUL and not cancelled.is_set()  # the step keeps running meanwhile
        clock.now = 5.0
        scope.escalate_if_overdue()

    requester = asyncio.create_task(stop_gracefully_then_let_time_pass())
    with pytest.raises(StepCancelled) as info:
        await scope.guard(blocked_step(started, cancelled))
    await requester
    assert cancelled.is_set()
    reason = info.value.reason
    assert reason.mode is IMMEDIATE and reason.source is InterruptSource.USER
    assert reason.metadata["escalated"] is True and reason.metadata["escalation_source"] == "system"


async def test_a_graceful_interrupt_escalates_on_its_own_when_the_grace_ends() -> None:
    scope = InterruptScope(graceful_shutdown_timeout=0.2)  # the real clock and the loop's timer
    started = asyncio.Event()
    requester = asyncio.create_task(interrupt_when(started, scope, GRACEFUL))
    with pytest.raises(StepCancelled) as info:
        await scope.guard(blocked_step(started))
    await requester
    assert info.value.reason.metadata["escalated"] is True


async def test_cancelling_the_caller_cancels_the_step() -> None:
    scope = InterruptScope()
    started, cancelled = asyncio.Event(), asyncio.Event()
    outer = asyncio.create_task(scope.guard(blocked_step(started, cancelled)))
    await started.wait()
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert cancelled.is_set()


# ---------------------------------------------------------------- guard(): cancellation bookkeeping
async def test_a_step_that_swallows_the_cancellation_returns_its_value() -> None:
    scope = InterruptScope()
    started = asyncio.Event()
    seen: list[str] = []

    async def stubborn() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
        await asyncio.sleep(0)
        return "finished anyway"

    requester = asyncio.create_task(interrupt_when(started, scope, IMMEDIATE))
    assert await scope.guard(stubborn) == "finished anyway"
    await requester
    assert seen == ["cancelled"]
    assert _current().cancelling() == 0


async def test_an_immediate_interrupt_requested_before_guard_does_not_start_the_step() -> None:
    scope = InterruptScope()
    scope.request_interrupt(PROGRAMMATIC, IMMEDIATE, "too late")
    started: list[bool] = []

    async def step() -> None:
        started.append(True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(StepCancelled) as info:
            await scope.guard(step)
        gc.collect()
    assert started == []
    assert info.value.reason.message == "too late"
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_an_overdue_graceful_interrupt_cancels_at_guard_entry() -> None:
    clock = FakeClock()
    scope = InterruptScope(graceful_shutdown_timeout=1, clock=clock)
    scope.request_interrupt(PROGRAMMATIC, GRACEFUL)
    clock.now = 1.0
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(StepCancelled) as info:
        await scope.guard(future)
    assert future.cancelled()
    assert info.value.reason.mode is IMMEDIATE and info.value.reason.metadata["escalated"] is True


async def test_the_escalation_timer_ends_with_the_guard() -> None:
    clock = FakeClock()
    scope = InterruptScope(graceful_shutdown_timeout=1, clock=clock)

    async def step() -> str:
        scope.request_interrupt(PROGRAMMATIC, GRACEFUL)
        return "done"

    assert await scope.guard(step) == "done"
    clock.now = 2.0
    await asyncio.sleep(0)
    # nothing watches the run any more (no guard, no monitor): the interrupt stays GRACEFUL
    assert scope.mode is GRACEFUL
    assert _current().cancelling() == 0


async def test_an_interrupt_from_another_thread_cancels_the_step() -> None:
    scope = InterruptScope()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def from_a_thread() -> None:
        asyncio.run_coroutine_threadsafe(started.wait(), loop).result()
        scope.request_interrupt(PROGRAMMATIC, IMMEDIATE, "from a thread")

    thread = threading.Thread(target=from_a_thread)
    thread.start()
    with pytest.raises(StepCancelled) as info:
        await scope.guard(blocked_step(started))
    await asyncio.to_thread(thread.join)
    assert info.value.reason.message == "from a thread"


async def test_an_outside_cancellation_wins_over_an_interrupt() -> None:
    scope = InterruptScope()
    started = asyncio.Event()
    outer = asyncio.create_task(scope.guard(blocked_step(started)))
    await started.wait()
    scope.request_interrupt(PROGRAMMATIC, IMMEDIATE)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert outer.cancelled()


# ---------------------------------------------------------------- guard(): nesting
async def test_nested_guards_the_parent_interrupt_cancels_the_outer_step() -> None:
    parent = InterruptScope()
    child = InterruptScope(parent=parent)
    started = asyncio.Event()
    inner_outcome: list[str] = []

    async def tool_running_a_sub_agent() -> None:
        try:
            await child.guard(blocked_step(started))
        except BaseException as exc:
            inner_outcome.append(type(exc).__name__)
            raise

    requester = asyncio.create_task(interrupt_when(started, parent, IMMEDIATE, "parent stop"))
    with pytest.raises(StepCancelled) as info:
        await parent.guard(tool_running_a_sub_agent)
    await requester
    assert info.value.reason.message == "parent stop"
    assert inner_outcome == ["CancelledError"]  # as if the sub-agent ran in its own, cancelled task
    assert _current().cancelling() == 0


async def test_nested_guards_a_child_interrupt_stays_in_the_child() -> None:
    parent = InterruptScope()
    child = InterruptScope(parent=parent)
    started = asyncio.Event()

    async def tool_running_a_sub_agent() -> str:
        try:
            await child.guard(blocked_step(started))
        except StepCancelled as exc:
            return f"sub-agent stopped: {exc.reason.message}"
        return "sub-agent finished"

    requester = asyncio.create_task(interrupt_when(started, child, IMMEDIATE, "child stop"))
    assert await parent.guard(tool_running_a_sub_agent) == "sub-agent stopped: child stop"
    await requester
    assert not parent.is_interrupted()
    assert _current().cancelling() == 0


# ---------------------------------------------------------------- monitor(): the poller
async def test_monitor_starts_a_poller_only_when_there_are_handlers() -> None:
    manager = InterruptManager()
    async with manager.monitor(signals=False):
        assert _pollers() == []
    manager.add_handler(TimeoutInterruptHandler(60))
    async with manager.monitor(signals=False):
        assert len(_pollers()) == 1
    assert _pollers() == []


async def test_a_handler_added_inside_monitor_is_polled() -> None:
    clock = FakeClock()
    manager = InterruptManager(poll_interval=0.01, clock=clock)
    async with manager.monitor(signals=False) as scope:
        clock.now = 10.0
        manager.add_handler(TimeoutInterruptHandler(5))
        reason = await scope.wait(timeout=60)
    assert reason is not None and reason.metadata["handler"] == "timeout"
    assert reason.metadata["elapsed_s"] == 10.0  # measured on the manager's clock


# ---------------------------------------------------------------- guard() around the provider timeout
def _request() -> CompletionRequest:
    return CompletionRequest(messages=[Message(role="user", content="hi")])


async def _stuck_provider(request: CompletionRequest) -> Completion:
    await asyncio.Event().wait()
    raise AssertionError("not reached")


async def test_provider_timeout_inside_guard_is_an_execution_timeout() -> None:
    from kaizen_core.errors import ExecutionTimeoutError

    with pytest.raises(ProviderError) as info:
        await InterruptScope().guard(call_with_timeout, _stuck_provider, _request(), 0.05)
    assert isinstance(info.value, ExecutionTimeoutError) and "0.05s" in str(info.value)


async def test_interrupt_during_a_provider_call_is_not_a_timeout() -> None:
    scope = InterruptScope()
    started = asyncio.Event()

    async def provider(request: CompletionRequest) -> Completion:
        started.set()
        return await _stuck_provider(request)

    requester = asyncio.create_task(interrupt_when(started, scope, IMMEDIATE))
    with pytest.raises(StepCancelled):
        await scope.guard(call_with_timeout, provider, _request(), 3600)
    await requester


# ---------------------------------------------------------------- guard(): steps started before they are watched
async def test_an_immediate_request_made_before_the_step_suspends_cancels_it_where_it_suspends() -> None:
    scope = InterruptScope()
    cancelled = asyncio.Event()

    async def step() -> str:
        scope.request_interrupt(PROGRAMMATIC, IMMEDIATE, "asked by the step")  # before any suspension
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    with pytest.raises(StepCancelled) as info:
        await asyncio.wait_for(scope.guard(step), 60)  # the bound only turns a hang into a failure
    assert cancelled.is_set() and info.value.reason.message == "asked by the step"
    assert _current().cancelling() == 0


async def test_a_graceful_request_before_the_first_suspension_cancels_a_side_effect_free_step() -> None:
    scope = InterruptScope(graceful_shutdown_timeout=60)

    async def model_call() -> str:
        scope.request_interrupt(PROGRAMMATIC, GRACEFUL, "stop")
        await asyncio.Event().wait()
        return "never"

    with pytest.raises(StepCancelled) as info:
        await asyncio.wait_for(scope.guard(model_call, side_effect_free=True), 60)
    assert info.value.reason.mode is GRACEFUL  # cancelled at once, not escalated
    assert _current().cancelling() == 0


async def test_a_graceful_request_before_the_first_suspension_lets_a_step_with_side_effects_finish() -> None:
    scope = InterruptScope(graceful_shutdown_timeout=60)

    async def tool() -> str:
        scope.request_interrupt(PROGRAMMATIC, GRACEFUL, "after this step")
        for _ in range(3):
            await asyncio.sleep(0)
        return "written"

    assert await scope.guard(tool) == "written"
    assert scope.mode is GRACEFUL and _current().cancelling() == 0


async def test_a_step_that_finishes_without_suspending_returns_even_after_an_immediate_request() -> None:
    scope = InterruptScope()

    async def step() -> str:
        scope.request_interrupt(PROGRAMMATIC, IMMEDIATE, "too late for this step")
        return "answered"

    assert await scope.guard(step, side_effect_free=True) == "answered"
    assert scope.mode is IMMEDIATE and _current().cancelling() == 0


async def test_a_step_that_suspends_many_times_gets_every_value_and_error_it_awaits() -> None:
    loop = asyncio.get_running_loop()

    async def step() -> list[Any]:
        seen: list[Any] = [await asyncio.sleep(0, result="first")]
        failing: asyncio.Future[int] = loop.create_future()
        loop.call_soon(failing.set_exception, LookupError("from a future"))
        try:
            await failing
        except LookupError as exc:
            seen.append(str(exc))
        ready: asyncio.Future[int] = loop.create_future()
        loop.call_soon(ready.set_result, 42)
        seen.append(await ready)
        return seen

    assert await InterruptScope().guard(step) == ["first", "from a future", 42]


async def test_a_guarded_step_dropped_while_suspended_is_closed() -> None:
    scope = InterruptScope()
    closed: list[bool] = []

    async def step() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            closed.append(True)

    guarded = scope.guard(step)
    guarded.send(None)  # the step runs and suspends (driven by hand, as a task would)
    guarded.close()  # the task is dropped: the step's cleanup runs
    assert closed == [True]
    assert not scope._listeners  # nothing left watching the scope


async def test_a_provider_that_suspends_after_some_work_still_times_out() -> None:
    from kaizen_core.errors import ExecutionTimeoutError

    async def provider(request: CompletionRequest) -> Completion:
        _ = [m.content for m in request.messages]  # work before the first suspension
        await asyncio.sleep(0)
        return await _stuck_provider(request)

    with pytest.raises(ExecutionTimeoutError, match=r"0\.05s"):
        await call_with_timeout(provider, _request(), 0.05)
    assert _current().cancelling() == 0


async def test_a_provider_that_answers_without_suspending_returns_its_completion() -> None:
    answer = Completion(content="hi")

    async def provider(request: CompletionRequest) -> Completion:
        return answer

    assert await call_with_timeout(provider, _request(), 0.05) is answer
    assert await call_with_timeout(provider, _request(), None) is answer
