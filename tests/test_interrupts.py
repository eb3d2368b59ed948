"""Unit tests of kaizen_core.interrupts with real asyncio tasks and real signals."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kaizen_core.errors import ConfigError, InterruptHandlerError, ShutdownTimeoutError
from kaizen_core.interrupts import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    InterruptContext,
    InterruptManager,
    InterruptMode,
    InterruptReason,
    InterruptSource,
    ResourceInterruptHandler,
    StepCancelled,
    TimeoutInterruptHandler,
    exit_code_for,
)
from kaizen_core.interrupts.handlers import current_rss_mb

pytestmark = pytest.mark.anyio

GRACEFUL = InterruptMode.GRACEFUL
IMMEDIATE = InterruptMode.IMMEDIATE


# ---------------------------------------------------------------- request / state
def test_first_request_wins() -> None:
    manager = InterruptManager()
    assert not manager.is_interrupted() and manager.reason is None
    assert manager.request_interrupt(InterruptSource.USER, message="stop please", metadata={"who": "alice"})
    assert not manager.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL, "second")
    assert manager.is_interrupted()
    reason = manager.reason
    assert reason is not None
    assert (reason.source, reason.mode, reason.message) == (InterruptSource.USER, GRACEFUL, "stop please")
    assert reason.metadata == {"who": "alice"}
    manager.reset()
    assert not manager.is_interrupted()
    assert manager.request_interrupt("programmatic", "immediate")
    assert manager.reason is not None and manager.reason.source is InterruptSource.PROGRAMMATIC


def test_immediate_escalates_graceful_but_not_the_reverse() -> None:
    manager = InterruptManager()
    manager.request_interrupt(InterruptSource.USER, GRACEFUL, "ctrl-c", {"signal": "SIGINT"})
    first = manager.reason
    assert manager.request_interrupt(InterruptSource.SYSTEM, IMMEDIATE, "hurry")
    reason = manager.reason
    assert reason is first  # same object, escalated in place
    assert reason is not None and reason.mode is IMMEDIATE
    assert reason.source is InterruptSource.USER and reason.metadata["signal"] == "SIGINT"
    assert reason.metadata["escalated"] is True and reason.metadata["escalation_message"] == "hurry"
    assert not manager.request_interrupt(InterruptSource.USER, IMMEDIATE)
    assert not manager.request_interrupt(InterruptSource.USER, GRACEFUL)
    assert manager.reason is not None and manager.reason.mode is IMMEDIATE


def test_concurrent_requests_from_threads_record_exactly_one() -> None:
    manager = InterruptManager()
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def worker(i: int) -> None:
        barrier.wait()
        results.append(manager.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL, f"thread {i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    winner = results.index(True)
    assert manager.reason is not None
    assert manager.reason.message.startswith("thread ")
    assert len(results) == 8 and winner >= 0


def test_children_receive_parent_interrupts_not_the_reverse() -> None:
    parent = InterruptManager(graceful_shutdown_timeout=2.0)
    child = parent.create_child()
    grandchild = child.create_child()
    sibling = parent.create_child()
    assert child.graceful_shutdown_timeout == 2.0

    assert sibling.request_interrupt(InterruptSource.PROGRAMMATIC, message="sibling only")
    assert not parent.is_interrupted() and not child.is_interrupted()

    parent.request_interrupt(InterruptSource.USER, GRACEFUL, "stop all", {"signal": "SIGTERM"})
    for manager in (child, grandchild):
        assert manager.reason is not None
        assert manager.reason.source is InterruptSource.USER and manager.reason.mode is GRACEFUL
        assert manager.reason.metadata["signal"] == "SIGTERM"
        assert manager.reason.metadata["propagated_from_parent"] is True
    assert sibling.reason is not None and sibling.reason.message == "sibling only"  # first request still wins

    parent.request_interrupt(InterruptSource.USER, IMMEDIATE)
    assert grandchild.reason is not None and grandchild.reason.mode is IMMEDIATE

    late = parent.create_child()
    assert late.is_interrupted() and late.reason is not None and late.reason.mode is IMMEDIATE

    parent.reset()
    assert not any(m.is_interrupted() for m in (parent, child, grandchild, sibling, late))


def test_exit_code_for() -> None:
    assert exit_code_for(None) is None
    assert exit_code_for(InterruptReason(source=InterruptSource.SYSTEM)) is None
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGINT"})) == 130
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGTERM"})) == 143
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "NOPE"})) is None


async def test_wait_returns_when_another_thread_interrupts() -> None:
    manager = InterruptManager()
    assert await manager.wait(timeout=0.01) is None
    timer = threading.Timer(0.05, manager.request_interrupt, args=(InterruptSource.PROGRAMMATIC,))
    timer.start()
    reason = await manager.wait(timeout=10)
    timer.join()
    assert reason is not None and reason.source is InterruptSource.PROGRAMMATIC


# ---------------------------------------------------------------- shutdown callbacks
async def test_shutdown_callbacks_run_in_order_with_errors_isolated(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.2)
    calls: list[str] = []

    def first() -> None:
        calls.append("first")

    def broken_sync() -> None:
        calls.append("broken_sync")
        raise RuntimeError("disk full")

    async def broken_async() -> None:
        calls.append("broken_async")
        raise ValueError("bad state")

    async def too_slow() -> None:
        calls.append("too_slow")
        await asyncio.sleep(30)

    async def last() -> None:
        await asyncio.sleep(0)
        calls.append("last")

    for cb in (first, broken_sync, broken_async, too_slow, last):
        manager.add_shutdown_callback(cb)
    manager.add_shutdown_callback(lambda: calls.append("removed"))
    manager.remove_shutdown_callback(manager._shutdown_callbacks[-1])

    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        errors = await manager.run_shutdown_callbacks()

    assert calls == ["first", "broken_sync", "broken_async", "too_slow", "last"]
    assert [type(e) for e in errors] == [InterruptHandlerError, InterruptHandlerError, ShutdownTimeoutError]
    assert [e.code for e in errors] == ["INTERRUPT_001", "INTERRUPT_001", "INTERRUPT_002"]
    assert "disk full" in errors[0].message and "bad state" in errors[1].message
    assert "did not finish" in errors[2].message
    logged = [r.getMessage() for r in caplog.records]
    assert sum("INTERRUPT_001" in m for m in logged) == 2 and sum("INTERRUPT_002" in m for m in logged) == 1


# ---------------------------------------------------------------- check()
class _Raising(BaseInterruptHandler):
    name = "raising"

    def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        raise RuntimeError("sensor offline")


class _AsyncCycleLimit(BaseInterruptHandler):
    name = "cycles"

    async def check_interrupt(self, context: InterruptContext) -> InterruptReason | None:
        await asyncio.sleep(0)
        if context.cycle >= 3:
            return self._reason("too many cycles", cycle=context.cycle)
        return None


async def test_check_runs_all_handlers_and_ignores_a_raising_one(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager()
    cycles = _AsyncCycleLimit(mode=IMMEDIATE)
    budget = BudgetInterruptHandler(1.0)
    manager.add_handler(_Raising())
    manager.add_handler(cycles)
    manager.add_handler(budget)
    manager.add_handler(budget)  # added once only
    assert [h.name for h in manager.handlers] == ["raising", "cycles", "budget"]

    with caplog.at_level(logging.WARNING, logger="kaizen.interrupts"):
        assert await manager.check(InterruptContext(agent_id="a", cycle=1)) is None
        assert not manager.is_interrupted()
        found = await manager.check(InterruptContext(agent_id="a", cycle=3, budget_spent_usd=5.0))

    assert found is not None and found.metadata["handler"] == "cycles"
    assert manager.reason is not None
    assert manager.reason.mode is IMMEDIATE and manager.reason.source is InterruptSource.SYSTEM
    assert manager.reason.metadata == {"handler": "cycles", "cycle": 3}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("INTERRUPT_001" in m and "sensor offline" in m for m in errors)

    manager.remove_handler(cycles)
    manager.remove_handler(cycles)
    assert [h.name for h in manager.handlers] == ["raising", "budget"]


# ---------------------------------------------------------------- guard()
async def test_guard_returns_the_step_value_even_with_a_graceful_interrupt_pending() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=30)

    async def step(x: int, *, y: int) -> int:
        manager.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL, "after this step")
        await asyncio.sleep(0.05)
        return x + y

    assert await manager.guard(step, 2, y=3) == 5
    assert manager.is_interrupted() and manager.mode is GRACEFUL


async def test_guard_propagates_the_step_error() -> None:
    manager = InterruptManager()

    async def step() -> None:
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        await manager.guard(step)


def slow_step(cancelled: asyncio.Event) -> Callable[[], Awaitable[str]]:
    """A step that sleeps 30 s (like a slow provider call) and sets ``cancelled`` when cancelled."""

    async def step() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    return step


async def test_guard_cancels_a_sleeping_step_on_immediate() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=60)
    cancelled = asyncio.Event()
    slow_provider_call = slow_step(cancelled)

    loop = asyncio.get_running_loop()
    loop.call_later(0.1, manager.request_interrupt, InterruptSource.PROGRAMMATIC, IMMEDIATE, "stop now")
    started = time.monotonic()
    with pytest.raises(StepCancelled) as info:
        await manager.guard(slow_provider_call())
    assert time.monotonic() - started < 10  # far below the 30 s the step would take
    assert cancelled.is_set()
    assert info.value.reason.mode is IMMEDIATE and info.value.reason.message == "stop now"
    assert info.value.code == "INTERRUPT_003"


async def test_guard_escalates_a_graceful_interrupt_after_the_timeout() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.3)
    cancelled = asyncio.Event()
    slow_provider_call = slow_step(cancelled)

    asyncio.get_running_loop().call_later(0.05, manager.request_interrupt, InterruptSource.USER, GRACEFUL, "bye")
    started = time.monotonic()
    with pytest.raises(StepCancelled) as info:
        await manager.guard(slow_provider_call)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 10  # not before the grace period, long before the step's 30 s
    assert cancelled.is_set()
    reason = info.value.reason
    assert reason.mode is IMMEDIATE and reason.source is InterruptSource.USER
    assert reason.metadata["escalated"] is True and reason.metadata["escalation_source"] == "system"


async def test_cancelling_guard_cancels_the_step() -> None:
    manager = InterruptManager()
    cancelled = asyncio.Event()
    outer = asyncio.create_task(manager.guard(slow_step(cancelled)))
    await asyncio.sleep(0.05)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert cancelled.is_set()


# ---------------------------------------------------------------- monitor(): signals and polling
def _sentinel_handler(signum: int, frame: Any) -> None:  # pragma: no cover - only identity matters
    raise AssertionError("the sentinel handler must not be called while monitor() runs")


@pytest.fixture
def sentinel_signals() -> Any:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, _sentinel_handler)
    yield
    for s, h in saved.items():
        signal.signal(s, h)


async def test_sigint_in_monitor_requests_graceful_then_immediate(sentinel_signals: None) -> None:
    manager = InterruptManager(graceful_shutdown_timeout=60)
    async with manager.monitor():
        assert signal.getsignal(signal.SIGINT) is not _sentinel_handler
        os.kill(os.getpid(), signal.SIGINT)
        reason = await manager.wait(timeout=10)
        assert reason is not None
        assert (reason.source, reason.mode) == (InterruptSource.USER, GRACEFUL)
        assert reason.metadata["signal"] == "SIGINT" and exit_code_for(reason) == 130

        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(200):
            if manager.mode is IMMEDIATE:
                break
            await asyncio.sleep(0.01)
        assert manager.mode is IMMEDIATE
    assert signal.getsignal(signal.SIGINT) is _sentinel_handler
    assert signal.getsignal(signal.SIGTERM) is _sentinel_handler


async def test_sigterm_in_monitor_cancels_a_guarded_step_after_grace(sentinel_signals: None) -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.3)
    asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    async with manager.monitor():
        with pytest.raises(StepCancelled) as info:
            await manager.guard(asyncio.sleep, 30)
    assert exit_code_for(info.value.reason) == 143
    assert info.value.reason.mode is IMMEDIATE
    assert signal.getsignal(signal.SIGTERM) is _sentinel_handler


async def test_second_signal_cancels_a_guarded_step_immediately(sentinel_signals: None) -> None:
    manager = InterruptManager(graceful_shutdown_timeout=60)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
    loop.call_later(0.15, os.kill, os.getpid(), signal.SIGINT)
    started = time.monotonic()
    async with manager.monitor():
        with pytest.raises(StepCancelled) as info:
            await manager.guard(asyncio.sleep, 30)
    assert time.monotonic() - started < 30
    assert info.value.reason.metadata["signal"] == "SIGINT" and info.value.reason.mode is IMMEDIATE


async def test_handlers_are_restored_even_when_the_block_raises(sentinel_signals: None) -> None:
    manager = InterruptManager()
    with pytest.raises(ZeroDivisionError):
        async with manager.monitor():
            _ = 1 / 0
    assert signal.getsignal(signal.SIGINT) is _sentinel_handler


async def test_no_signal_handlers_when_disabled_or_for_children(sentinel_signals: None) -> None:
    manager = InterruptManager()
    async with manager.monitor(install_signals=False):
        assert signal.getsignal(signal.SIGINT) is _sentinel_handler
    async with manager.create_child().monitor():
        assert signal.getsignal(signal.SIGINT) is _sentinel_handler


def test_no_signal_handlers_outside_the_main_thread() -> None:
    manager = InterruptManager()
    before = signal.getsignal(signal.SIGINT)
    seen: list[Any] = []

    async def run() -> None:
        async with manager.monitor():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    thread.join()
    assert seen == [before]


async def test_monitor_polls_handlers_with_the_current_context(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager(poll_interval=0.01)
    manager.add_handler(TimeoutInterruptHandler(0.2))
    started = time.monotonic()
    contexts: list[InterruptContext] = []

    def context_fn() -> InterruptContext:
        ctx = InterruptContext(agent_id="poller", run_id="r1", started_at=started, cycle=len(contexts))
        contexts.append(ctx)
        return ctx

    async with manager.monitor(context_fn, install_signals=False):
        reason = await manager.wait(timeout=10)
    assert reason is not None and reason.metadata["handler"] == "timeout"
    assert reason.source is InterruptSource.SYSTEM and time.monotonic() - started >= 0.2
    assert len(contexts) >= 2  # polled repeatedly, with a fresh context each time


async def test_monitor_survives_a_failing_context_function(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager(poll_interval=0.01)
    manager.add_handler(TimeoutInterruptHandler(60))

    def context_fn() -> InterruptContext:
        raise RuntimeError("context unavailable")

    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        async with manager.monitor(context_fn, install_signals=False):
            await asyncio.sleep(0.05)
            manager.request_interrupt(InterruptSource.PROGRAMMATIC)
    assert any("INTERRUPT_001" in r.getMessage() and "context unavailable" in r.getMessage() for r in caplog.records)
    assert manager.reason is not None and manager.reason.source is InterruptSource.PROGRAMMATIC


async def test_monitor_escalates_an_overdue_graceful_interrupt_without_guard() -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.1, poll_interval=0.01)
    async with manager.monitor(install_signals=False):
        manager.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL)
        for _ in range(500):
            if manager.mode is IMMEDIATE:
                break
            await asyncio.sleep(0.01)
    assert manager.mode is IMMEDIATE


# ---------------------------------------------------------------- built-in handlers
def test_timeout_handler() -> None:
    handler = TimeoutInterruptHandler(5, mode="immediate")
    assert handler.check_interrupt(InterruptContext(elapsed_s=4.9)) is None
    reason = handler.check_interrupt(InterruptContext(elapsed_s=5.0))
    assert reason is not None and reason.mode is IMMEDIATE and reason.metadata["timeout_seconds"] == 5.0
    # started_at wins over a stale elapsed_s snapshot
    reason = handler.check_interrupt(InterruptContext(started_at=time.monotonic() - 10, elapsed_s=0.0))
    assert reason is not None and reason.metadata["elapsed_s"] >= 10
    assert handler.check_interrupt(InterruptContext(started_at=time.monotonic())) is None
    with pytest.raises(ConfigError):
        TimeoutInterruptHandler(0)


def test_budget_handler_warns_once_and_fires_at_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    handler = BudgetInterruptHandler(1.0, warn_at=0.8)
    with caplog.at_level(logging.WARNING, logger="kaizen.interrupts"):
        assert handler.check_interrupt(InterruptContext(budget_spent_usd=0.5)) is None
        assert not caplog.records
        assert handler.check_interrupt(InterruptContext(agent_id="bot", budget_spent_usd=0.85)) is None
        assert handler.check_interrupt(InterruptContext(budget_spent_usd=0.9)) is None
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "bot" in warnings[0] and "85%" in warnings[0]
        reason = handler.check_interrupt(InterruptContext(budget_spent_usd=1.0))
    assert reason is not None and reason.source is InterruptSource.SYSTEM and reason.mode is GRACEFUL
    assert reason.metadata == {"handler": "budget", "budget_spent_usd": 1.0, "max_budget_usd": 1.0}
    handler.reset()
    assert not handler.warned
    with pytest.raises(ConfigError):
        BudgetInterruptHandler(1.0, warn_at=1.5)


def test_resource_handler_memory() -> None:
    rss = current_rss_mb()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert 1 < rss <= peak_kb / 1024 + 1
    assert ResourceInterruptHandler(max_memory_mb=rss * 100).check_interrupt(InterruptContext()) is None
    reason = ResourceInterruptHandler(max_memory_mb=1).check_interrupt(InterruptContext())
    assert reason is not None and reason.metadata["resource"] == "memory" and reason.metadata["memory_mb"] > 1
    with pytest.raises(ConfigError):
        ResourceInterruptHandler()


def test_resource_handler_cpu() -> None:
    busy = ResourceInterruptHandler(max_cpu_percent=5, cpu_window_s=0.2)
    assert busy.check_interrupt(InterruptContext()) is None  # first call only takes the baseline
    # Burn 0.3 s of CPU time (however long that takes on a loaded machine).
    cpu_end = time.process_time() + 0.3
    while time.process_time() < cpu_end:
        sum(range(1000))
    reason = busy.check_interrupt(InterruptContext())
    assert reason is not None and reason.metadata["resource"] == "cpu" and reason.metadata["cpu_percent"] >= 5

    idle = ResourceInterruptHandler(max_cpu_percent=90, cpu_window_s=0.2)
    assert idle.check_interrupt(InterruptContext()) is None
    time.sleep(0.3)
    assert idle.check_interrupt(InterruptContext()) is None
    assert idle.last_cpu_percent is not None and idle.last_cpu_percent < 90


def test_builtin_handlers_are_registered_by_name() -> None:
    from kaizen_core.plugins import get_registry

    registry = get_registry()
    assert registry.load("interrupt_handler", "timeout") is TimeoutInterruptHandler
    assert registry.load("interrupt_handler", "budget") is BudgetInterruptHandler
    assert registry.load("interrupt_handler", "resource") is ResourceInterruptHandler
