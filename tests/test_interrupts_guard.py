"""guard() runs the step in the caller's task and monitor() polls only when there are
handlers: the cancellation bookkeeping, nesting, threads and timeouts around that."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from typing import Any

import pytest

from kaizen_core.agents.run import call_with_timeout
from kaizen_core.errors import ProviderError
from kaizen_core.interrupts import (
    InterruptManager,
    InterruptMode,
    InterruptSource,
    StepCancelled,
    TimeoutInterruptHandler,
)
from kaizen_core.providers.types import Completion, CompletionRequest, Message

pytestmark = pytest.mark.anyio

GRACEFUL = InterruptMode.GRACEFUL
IMMEDIATE = InterruptMode.IMMEDIATE
PROGRAMMATIC = InterruptSource.PROGRAMMATIC


def _pollers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "kaizen-interrupt-poller" and not t.done()]


def _current() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


# ---------------------------------------------------------------- monitor() poller
async def test_monitor_starts_a_poller_only_when_there_are_handlers() -> None:
    manager = InterruptManager()
    async with manager.monitor(install_signals=False):
        assert _pollers() == []
    manager.add_handler(TimeoutInterruptHandler(60))
    async with manager.monitor(install_signals=False):
        assert len(_pollers()) == 1
    await asyncio.sleep(0)
    assert _pollers() == []


async def test_a_handler_added_inside_monitor_is_polled() -> None:
    manager = InterruptManager(poll_interval=0.01)
    async with manager.monitor(install_signals=False):
        await asyncio.sleep(0.02)
        manager.add_handler(TimeoutInterruptHandler(0.05))
        reason = await manager.wait(timeout=10)
    assert reason is not None and reason.metadata["handler"] == "timeout"


async def test_monitor_escalates_a_graceful_interrupt_requested_before_it_started() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.1)
    manager.request_interrupt(PROGRAMMATIC, GRACEFUL, "early")
    async with manager.monitor(install_signals=False):
        for _ in range(500):
            if manager.mode is IMMEDIATE:
                break
            await asyncio.sleep(0.01)
    assert manager.mode is IMMEDIATE and manager.reason is not None and manager.reason.message == "early"


# ---------------------------------------------------------------- guard(): cancellation bookkeeping
async def test_guard_leaves_no_pending_cancellation_after_step_cancelled() -> None:
    manager = InterruptManager()
    asyncio.get_running_loop().call_later(0.05, manager.request_interrupt, PROGRAMMATIC, IMMEDIATE)
    with pytest.raises(StepCancelled):
        await manager.guard(asyncio.sleep, 30)
    assert _current().cancelling() == 0
    await asyncio.sleep(0.01)  # the task is not cancelled again later


async def test_a_step_that_swallows_the_cancellation_returns_its_value() -> None:
    manager = InterruptManager()
    seen: list[str] = []

    async def stubborn() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
        await asyncio.sleep(0)
        return "finished anyway"

    asyncio.get_running_loop().call_later(0.05, manager.request_interrupt, PROGRAMMATIC, IMMEDIATE)
    assert await manager.guard(stubborn) == "finished anyway"
    assert seen == ["cancelled"]
    assert _current().cancelling() == 0
    await asyncio.sleep(0.01)


async def test_an_immediate_interrupt_requested_before_guard_does_not_start_the_step() -> None:
    manager = InterruptManager()
    manager.request_interrupt(PROGRAMMATIC, IMMEDIATE, "too late")
    started: list[bool] = []

    async def step() -> None:
        started.append(True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(StepCancelled) as info:
            await manager.guard(step)
        gc.collect()
    assert started == []
    assert info.value.reason.message == "too late"
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_an_overdue_graceful_interrupt_cancels_at_guard_entry() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.01)
    manager.request_interrupt(PROGRAMMATIC, GRACEFUL)
    await asyncio.sleep(0.05)
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(StepCancelled) as info:
        await manager.guard(future)
    assert future.cancelled()
    assert info.value.reason.mode is IMMEDIATE and info.value.reason.metadata["escalated"] is True


async def test_the_escalation_timer_ends_with_the_guard() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.05)

    async def step() -> str:
        manager.request_interrupt(PROGRAMMATIC, GRACEFUL)
        return "done"

    assert await manager.guard(step) == "done"
    await asyncio.sleep(0.15)
    # nothing watches the run any more (no guard, no monitor): the interrupt stays GRACEFUL
    assert manager.mode is GRACEFUL
    assert _current().cancelling() == 0


async def test_an_interrupt_from_another_thread_cancels_the_step() -> None:
    manager = InterruptManager()
    timer = threading.Timer(0.05, manager.request_interrupt, (PROGRAMMATIC, IMMEDIATE, "from a thread"))
    timer.start()
    try:
        with pytest.raises(StepCancelled) as info:
            await manager.guard(asyncio.sleep, 30)
    finally:
        timer.cancel()
    assert info.value.reason.message == "from a thread"


async def test_an_outside_cancellation_wins_over_an_interrupt() -> None:
    manager = InterruptManager()
    outer = asyncio.create_task(manager.guard(asyncio.sleep, 30))
    await asyncio.sleep(0.02)
    manager.request_interrupt(PROGRAMMATIC, IMMEDIATE)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert outer.cancelled()


# ---------------------------------------------------------------- guard(): nesting
async def test_nested_guards_the_parent_interrupt_cancels_the_outer_step() -> None:
    parent = InterruptManager()
    child = parent.create_child()
    inner_outcome: list[str] = []

    async def tool_running_a_sub_agent() -> None:
        try:
            await child.guard(asyncio.sleep, 30)
        except BaseException as exc:
            inner_outcome.append(type(exc).__name__)
            raise

    asyncio.get_running_loop().call_later(0.05, parent.request_interrupt, PROGRAMMATIC, IMMEDIATE, "parent stop")
    with pytest.raises(StepCancelled) as info:
        await parent.guard(tool_running_a_sub_agent)
    assert info.value.reason.message == "parent stop"
    assert inner_outcome == ["CancelledError"]  # as if the sub-agent ran in its own, cancelled task
    assert _current().cancelling() == 0


async def test_nested_guards_a_child_interrupt_stays_in_the_child() -> None:
    parent = InterruptManager()
    child = parent.create_child()

    async def tool_running_a_sub_agent() -> str:
        try:
            await child.guard(asyncio.sleep, 30)
        except StepCancelled as exc:
            return f"sub-agent stopped: {exc.reason.message}"
        return "sub-agent finished"

    asyncio.get_running_loop().call_later(0.05, child.request_interrupt, PROGRAMMATIC, IMMEDIATE, "child stop")
    assert await parent.guard(tool_running_a_sub_agent) == "sub-agent stopped: child stop"
    assert not parent.is_interrupted()
    assert _current().cancelling() == 0


# ---------------------------------------------------------------- guard() around the provider timeout
def _request() -> CompletionRequest:
    return CompletionRequest(messages=[Message(role="user", content="hi")])


async def _slow_provider(request: CompletionRequest) -> Completion:
    await asyncio.sleep(30)
    raise AssertionError("not reached")


async def test_provider_timeout_inside_guard_is_agent_004() -> None:
    manager = InterruptManager()
    with pytest.raises(ProviderError) as info:
        await manager.guard(call_with_timeout, _slow_provider, _request(), 0.05)
    assert info.value.code == "AGENT_003" and "0.05s" in str(info.value)


async def test_interrupt_during_a_provider_call_is_not_a_timeout() -> None:
    manager = InterruptManager()
    asyncio.get_running_loop().call_later(0.05, manager.request_interrupt, PROGRAMMATIC, IMMEDIATE)
    with pytest.raises(StepCancelled):
        await manager.guard(call_with_timeout, _slow_provider, _request(), 30)
