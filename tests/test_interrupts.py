"""Unit tests of kaizen_core.interrupts: per-run scopes, the manager, handlers, callbacks.

Time is injected (``FakeClock``) wherever a test is about durations; nothing waits on
the machine's speed."""

from __future__ import annotations

import asyncio
import logging
import resource
import threading
import time

import pytest

from kaizen_core.errors import AgentInterrupted, ConfigError, InterruptHandlerError, ShutdownTimeoutError
from kaizen_core.interrupts import (
    BaseInterruptHandler,
    BudgetInterruptHandler,
    InterruptContext,
    InterruptManager,
    InterruptMode,
    InterruptReason,
    InterruptScope,
    InterruptSignal,
    InterruptSource,
    InterruptType,
    ResourceInterruptHandler,
    TimeoutInterruptHandler,
    current_scope,
    exit_code_for,
    exit_code_for_exception,
)
from kaizen_core.interrupts.handlers import current_rss_mb

pytestmark = pytest.mark.anyio

GRACEFUL = InterruptMode.GRACEFUL
IMMEDIATE = InterruptMode.IMMEDIATE


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---------------------------------------------------------------- scope state
def test_first_request_wins() -> None:
    scope = InterruptScope()
    assert not scope.is_interrupted() and scope.reason is None and scope.mode is None
    assert scope.request_interrupt(InterruptSource.USER, message="stop please", metadata={"who": "alice"})
    assert not scope.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL, "second")
    reason = scope.reason
    assert reason is not None and scope.is_interrupted()
    assert (reason.source, reason.mode, reason.message) == (InterruptSource.USER, GRACEFUL, "stop please")
    assert reason.metadata == {"who": "alice"}


def test_immediate_escalates_graceful_but_not_the_reverse() -> None:
    scope = InterruptScope()
    scope.request_interrupt(InterruptSource.USER, GRACEFUL, "ctrl-c", {"signal": "SIGINT"})
    first = scope.reason
    assert scope.request_interrupt(InterruptSource.SYSTEM, IMMEDIATE, "hurry")
    reason = scope.reason
    assert reason is first  # same object, escalated in place
    assert reason is not None and reason.mode is IMMEDIATE
    assert reason.source is InterruptSource.USER and reason.metadata["signal"] == "SIGINT"
    assert reason.metadata["escalated"] is True and reason.metadata["escalation_message"] == "hurry"
    assert not scope.request_interrupt(InterruptSource.USER, IMMEDIATE)
    assert not scope.request_interrupt(InterruptSource.USER, GRACEFUL)
    assert scope.mode is IMMEDIATE


def test_concurrent_requests_from_threads_record_exactly_one() -> None:
    scope = InterruptScope()
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def worker(i: int) -> None:
        barrier.wait()
        results.append(scope.request_interrupt(InterruptSource.PROGRAMMATIC, GRACEFUL, f"thread {i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert scope.reason is not None and scope.reason.message.startswith("thread ")


def test_nested_scopes_hear_their_parent_not_the_reverse() -> None:
    parent = InterruptScope(graceful_shutdown_timeout=2.0)
    child = InterruptScope(parent=parent)
    grandchild = InterruptScope(parent=child)
    sibling = InterruptScope(parent=parent)
    assert parent.children == [child, sibling] and grandchild.parent is child

    assert sibling.request_interrupt(InterruptSource.PROGRAMMATIC, message="sibling only")
    assert not parent.is_interrupted() and not child.is_interrupted()

    parent.request_interrupt(InterruptSource.USER, GRACEFUL, "stop all", {"signal": "SIGTERM"})
    for scope in (child, grandchild):
        assert scope.reason is not None
        assert scope.reason.source is InterruptSource.USER and scope.reason.mode is GRACEFUL
        assert scope.reason.metadata["signal"] == "SIGTERM"
        assert scope.reason.metadata["propagated_from_parent"] is True
    assert sibling.reason is not None and sibling.reason.message == "sibling only"  # first request still wins

    parent.request_interrupt(InterruptSource.USER, IMMEDIATE)
    assert grandchild.mode is IMMEDIATE

    late = InterruptScope(parent=parent)  # a sub-run started while the parent is stopping
    assert late.mode is IMMEDIATE

    late.close()
    assert late not in parent.children and late.parent is None


def test_escalate_if_overdue_uses_the_scope_clock(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    scope = InterruptScope(graceful_shutdown_timeout=5.0, clock=clock)
    assert not scope.escalate_if_overdue()  # nothing pending
    scope.request_interrupt(InterruptSource.USER, GRACEFUL, "bye")
    clock.advance(4.9)
    assert not scope.escalate_if_overdue() and scope.mode is GRACEFUL
    clock.advance(0.1)
    with caplog.at_level(logging.WARNING, logger="kaizen.interrupts"):
        assert scope.escalate_if_overdue()
    reason = scope.reason
    assert reason is not None and reason.mode is IMMEDIATE and reason.source is InterruptSource.USER
    assert reason.metadata["escalated"] is True and reason.metadata["escalation_source"] == "system"
    # the graceful-shutdown timeout is reported with its own error class (code from the table)
    assert any(ShutdownTimeoutError.code in r.getMessage() for r in caplog.records)


async def test_wait_returns_when_another_thread_interrupts() -> None:
    scope = InterruptScope()
    assert await scope.wait(timeout=0) is None
    thread = threading.Thread(target=scope.request_interrupt, args=(InterruptSource.PROGRAMMATIC,))
    thread.start()
    reason = await scope.wait(timeout=60)
    thread.join()
    assert reason is not None and reason.source is InterruptSource.PROGRAMMATIC


def test_context_fills_in_the_run_timing_from_the_scope_clock() -> None:
    clock = FakeClock()
    scope = InterruptScope(clock=clock, run_id="r1", context_fn=lambda: InterruptContext(agent_id="a", cycle=2))
    clock.advance(7)
    context = scope.context()
    assert (context.agent_id, context.run_id, context.cycle) == ("a", "r1", 2)
    assert context.elapsed_s == 7 and context.current_elapsed() == 7
    clock.advance(3)  # a stale snapshot still tells the true age
    assert context.current_elapsed() == 10


# ---------------------------------------------------------------- exit codes
def test_exit_code_for() -> None:
    assert exit_code_for(None) is None
    assert exit_code_for(InterruptReason(source=InterruptSource.SYSTEM)) is None
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGINT"})) == 130
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGTERM"})) == 143
    assert exit_code_for(InterruptReason(source=InterruptSource.USER, metadata={"signal": "NOPE"})) is None


def test_exit_code_for_exception() -> None:
    sigterm = AgentInterrupted("x", reason=InterruptReason(source=InterruptSource.USER, metadata={"signal": "SIGTERM"}))
    timeout = AgentInterrupted("x", reason=InterruptReason(source=InterruptSource.SYSTEM))
    assert exit_code_for_exception(sigterm) == 143
    assert exit_code_for_exception(timeout) is None
    assert exit_code_for_exception(RuntimeError("x")) is None
    assert exit_code_for_exception(ExceptionGroup("g", [RuntimeError("x"), ExceptionGroup("h", [sigterm])])) == 143


# ---------------------------------------------------------------- manager: runs
async def test_each_monitor_opens_a_fresh_scope_and_it_is_current_inside() -> None:
    manager = InterruptManager()
    assert current_scope() is None
    async with manager.monitor(signals=False, run_id="first") as first:
        assert current_scope() is first and manager.runs == [first] and manager.scope_for("first") is first
        manager.request_interrupt(InterruptSource.PROGRAMMATIC, IMMEDIATE, "stop the first run")
    assert current_scope() is None and manager.runs == [] and manager.scope_for("first") is None
    async with manager.monitor(signals=False, run_id="second") as second:
        assert second is not first and not second.is_interrupted()  # nothing carried over
    assert first.is_interrupted()


async def test_manager_request_interrupts_every_active_run_and_a_scope_only_its_own() -> None:
    manager = InterruptManager()
    assert not manager.request_interrupt(InterruptSource.PROGRAMMATIC)  # no run: nothing to stop
    async with manager.monitor(signals=False) as a:
        async with manager.monitor(signals=False) as b, InterruptManager().monitor(signals=False) as other:
            assert manager.runs == [a, b]
            assert b.parent is a and other.parent is b  # opened inside a run: nested in it
            b.request_interrupt(InterruptSource.PROGRAMMATIC)
            assert not a.is_interrupted() and other.is_interrupted()
    # two runs side by side (not nested): one task each
    started = [asyncio.Event(), asyncio.Event()]
    done = asyncio.Event()
    scopes: list[InterruptScope] = []

    async def run(i: int) -> None:
        async with manager.monitor(signals=False) as scope:
            scopes.append(scope)
            started[i].set()
            await done.wait()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(run(0))
        await started[0].wait()
        tg.create_task(run(1))
        await started[1].wait()
        assert scopes[0].parent is None and scopes[1].parent is None
        scopes[0].request_interrupt(InterruptSource.PROGRAMMATIC, message="only the first")
        assert not scopes[1].is_interrupted()
        assert manager.reason is not None and manager.reason.message == "only the first"
        assert manager.request_interrupt(InterruptSource.USER, GRACEFUL, "the whole agent")
        assert scopes[1].reason is not None and scopes[1].reason.message == "the whole agent"
        done.set()


async def test_handlers_are_reset_when_a_run_starts_alone() -> None:
    resets: list[str] = []

    class Counting(BaseInterruptHandler):
        name = "counting"

        def check_interrupt(self, context: InterruptContext) -> None:
            return None

        def reset(self) -> None:
            resets.append("reset")

    manager = InterruptManager()
    manager.add_handler(Counting())
    async with manager.monitor(signals=False):
        assert resets == ["reset"]
        async with manager.monitor(signals=False):  # another run of the agent is going: keep its state
            assert resets == ["reset"]
    async with manager.monitor(signals=False):
        assert resets == ["reset", "reset"]


# ---------------------------------------------------------------- manager: handlers
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


async def test_poll_runs_all_handlers_and_skips_a_raising_one(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager()
    cycles = _AsyncCycleLimit(mode=IMMEDIATE)
    budget = BudgetInterruptHandler(1.0)
    manager.add_handler(_Raising())
    manager.add_handler(cycles)
    manager.add_handler(budget)
    manager.add_handler(budget)  # added once only
    assert [h.name for h in manager.handlers] == ["raising", "cycles", "budget"]
    context = InterruptContext(agent_id="a", cycle=1)
    scope = InterruptScope(manager=manager, context_fn=lambda: context)

    with caplog.at_level(logging.WARNING, logger="kaizen.interrupts"):
        assert await scope.poll() is None and not scope.is_interrupted()
        context.cycle, context.budget_spent_usd = 3, 5.0
        found = await scope.poll()

    assert found is not None and found.metadata["handler"] == "cycles"
    assert scope.reason is not None and scope.reason.mode is IMMEDIATE
    assert scope.reason.source is InterruptSource.SYSTEM and scope.reason.metadata == {"handler": "cycles", "cycle": 3}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    # Two polls, one ERROR: a handler failing on every poll is reported once per run (then at DEBUG).
    assert len(errors) == 1 and InterruptHandlerError.code in errors[0] and "sensor offline" in errors[0]

    manager.remove_handler(cycles)
    manager.remove_handler(cycles)
    assert [h.name for h in manager.handlers] == ["raising", "budget"]


async def test_poll_survives_a_failing_context_function(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager()
    manager.add_handler(TimeoutInterruptHandler(60))

    def context_fn() -> InterruptContext:
        raise RuntimeError("context unavailable")

    scope = InterruptScope(manager=manager, context_fn=context_fn)
    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        assert await scope.poll() is None
    assert any(
        InterruptHandlerError.code in r.getMessage() and "context unavailable" in r.getMessage() for r in caplog.records
    )


# ---------------------------------------------------------------- shutdown callbacks
async def test_shutdown_callbacks_run_in_order_with_errors_isolated(caplog: pytest.LogCaptureFixture) -> None:
    manager = InterruptManager(graceful_shutdown_timeout=0.2)
    calls: list[str] = []
    never = asyncio.Event()

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
        await never.wait()

    async def last() -> None:
        await asyncio.sleep(0)
        calls.append("last")

    for cb in (first, broken_sync, broken_async, too_slow, last):
        manager.add_shutdown_callback(cb)

    def removed() -> None:
        calls.append("removed")

    manager.add_shutdown_callback(removed)
    manager.remove_shutdown_callback(removed)

    with caplog.at_level(logging.ERROR, logger="kaizen.interrupts"):
        errors = await manager.run_shutdown_callbacks()

    assert calls == ["first", "broken_sync", "broken_async", "too_slow", "last"]
    assert [type(e) for e in errors] == [InterruptHandlerError, InterruptHandlerError, ShutdownTimeoutError]
    assert "disk full" in errors[0].message and "bad state" in errors[1].message
    assert "did not finish within 0.2s" in errors[2].message
    logged = [r.getMessage() for r in caplog.records]
    assert sum(InterruptHandlerError.code in m for m in logged) == 2
    assert sum(ShutdownTimeoutError.code in m for m in logged) == 1


# ---------------------------------------------------------------- built-in handlers
def test_timeout_handler() -> None:
    clock = FakeClock()
    handler = TimeoutInterruptHandler(5, mode="immediate")
    assert handler.check_interrupt(InterruptContext(elapsed_s=4.9)) is None
    reason = handler.check_interrupt(InterruptContext(elapsed_s=5.0))
    assert reason is not None and reason.mode is IMMEDIATE and reason.metadata["timeout_seconds"] == 5.0
    context = InterruptContext(started_at=clock(), clock=clock)  # a snapshot taken at the start
    assert handler.check_interrupt(context) is None
    clock.advance(10)
    reason = handler.check_interrupt(context)
    assert reason is not None and reason.metadata["elapsed_s"] == 10
    with pytest.raises(ConfigError):
        TimeoutInterruptHandler(0)


def test_budget_handler_warns_once_per_run_and_fires_at_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    handler = BudgetInterruptHandler(1.0, warn_at=0.8)
    with caplog.at_level(logging.WARNING, logger="kaizen.interrupts"):
        assert handler.check_interrupt(InterruptContext(run_id="r1", budget_spent_usd=0.5)) is None
        assert not caplog.records and not handler.warned
        assert handler.check_interrupt(InterruptContext(agent_id="bot", run_id="r1", budget_spent_usd=0.85)) is None
        assert handler.check_interrupt(InterruptContext(run_id="r1", budget_spent_usd=0.9)) is None
        assert handler.check_interrupt(InterruptContext(run_id="r2", budget_spent_usd=0.9)) is None  # another run
        reason = handler.check_interrupt(InterruptContext(run_id="r1", budget_spent_usd=1.0))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "bot" in warnings[0] and "85%" in warnings[0]
    assert reason is not None and reason.source is InterruptSource.SYSTEM and reason.mode is GRACEFUL
    assert reason.metadata == {
        "handler": "budget",
        "interrupt_signal": "budget_exceeded",
        "budget_spent_usd": 1.0,
        "run_spent_usd": 1.0,
        "max_budget_usd": 1.0,
        "track_by": "run",
    }
    assert reason.interrupt_signal is InterruptSignal.BUDGET_EXCEEDED and reason.interrupt_type is InterruptType.SYSTEM
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
    wall, cpu = FakeClock(), FakeClock()
    handler = ResourceInterruptHandler(max_cpu_percent=50, cpu_window_s=1.0, clock=wall, cpu_clock=cpu)
    assert handler.check_interrupt(InterruptContext()) is None  # first call only takes the baseline
    wall.advance(0.5)
    cpu.advance(0.5)  # a busy half second: the window is not over, so it does not trip
    assert handler.check_interrupt(InterruptContext()) is None and handler.last_cpu_percent is None
    wall.advance(0.5)
    cpu.advance(0.1)  # 0.6 s of CPU over a 1 s window: 60 %
    reason = handler.check_interrupt(InterruptContext())
    assert reason is not None and reason.metadata["resource"] == "cpu"
    assert reason.metadata["cpu_percent"] == 60.0 and reason.metadata["max_cpu_percent"] == 50
    wall.advance(2)  # the next window starts where that one ended: two idle seconds
    assert handler.check_interrupt(InterruptContext()) is None and handler.last_cpu_percent == 0.0
    wall.advance(1)
    cpu.advance(0.4)  # 40 %: under the limit
    assert handler.check_interrupt(InterruptContext()) is None
    assert handler.last_cpu_percent == pytest.approx(40.0)


def test_resource_handler_default_clocks_measure_this_process() -> None:
    handler = ResourceInterruptHandler(max_cpu_percent=10_000, cpu_window_s=0.01)
    assert handler.cpu_percent() is None  # the baseline
    cpu_end = time.process_time() + 0.1  # burn 0.1 s of CPU, however long that takes
    while time.process_time() < cpu_end:
        sum(range(1000))
    percent = handler.cpu_percent()
    assert percent is not None and percent > 0


def test_builtin_handlers_are_registered_by_name() -> None:
    from kaizen_core.plugins import get_registry

    registry = get_registry()
    assert registry.load("interrupt_handler", "timeout") is TimeoutInterruptHandler
    assert registry.load("interrupt_handler", "budget") is BudgetInterruptHandler
    assert registry.load("interrupt_handler", "resource") is ResourceInterruptHandler
