"""HookManager: ordering, timeouts, failures, blocking, stats, registration rules."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import anyio
import pytest
from pydantic import ValidationError

from kaizen_core.errors import HookError
from kaizen_core.hooks import (
    BaseHook,
    HookContext,
    HookEvent,
    HookManager,
    HookPriority,
    HookResult,
    first_blocked,
)

pytestmark = pytest.mark.anyio
E = HookEvent


def test_event_values_and_phases() -> None:
    assert E.PRE_AGENT_LOOP.value == "pre_agent_loop"
    assert E("post_tool_call") is E.POST_TOOL_CALL
    assert isinstance(E.ON_ERROR, str)
    assert len(E) == 23
    assert E.PRE_MODEL_CALL.phase == E.POST_MODEL_CALL.phase == "model_call"
    assert E.PRE_CHECKPOINT_SAVE.phase == E.POST_CHECKPOINT_SAVE.phase == "checkpoint_save"
    assert E.ON_ERROR.phase is None
    assert E.PRE_CYCLE.is_pre and not E.PRE_CYCLE.is_post and E.POST_CYCLE.is_post
    assert [int(p) for p in HookPriority] == [1, 2, 3, 4, 5]


def test_failed_result_needs_error() -> None:
    with pytest.raises(ValidationError):
        HookResult(success=False)
    assert HookResult(success=False, error="x").error == "x"
    blocked = HookResult.block("not allowed")
    assert (blocked.success, blocked.blocked, blocked.reason) == (True, True, "not allowed")


async def test_priority_order_then_registration_order() -> None:
    hooks = HookManager()
    ran: list[str] = []

    def make(tag: str) -> Any:
        def handler(ctx: HookContext) -> None:
            ran.append(tag)

        handler.__qualname__ = tag
        return handler

    hooks.register(E.PRE_CYCLE, make("low"), HookPriority.LOW)
    hooks.register(E.PRE_CYCLE, make("critical"), HookPriority.CRITICAL)
    hooks.register(E.PRE_CYCLE, make("normal-1"))
    hooks.register(E.PRE_CYCLE, make("normal-2"), HookPriority.NORMAL)
    results = await hooks.trigger(E.PRE_CYCLE, agent_id="a", cycle=3)
    assert ran == ["critical", "normal-1", "normal-2", "low"]
    assert [r.hook_name for r in results] == ran
    assert hooks.handler_names(E.PRE_CYCLE) == ran


async def test_sync_and_async_handlers_receive_context() -> None:
    hooks = HookManager()
    seen: list[HookContext] = []

    async def async_handler(ctx: HookContext) -> dict[str, Any]:
        seen.append(ctx)
        return {"n": ctx.metadata["n"] + 1}

    def sync_handler(ctx: HookContext) -> HookResult:
        return HookResult(success=True, data="sync")

    hooks.register(E.POST_TOOL_CALL, async_handler)
    hooks.register(E.POST_TOOL_CALL, sync_handler)
    results = await hooks.trigger(
        E.POST_TOOL_CALL, agent_id="agent-1", run_id="run-9", cycle=2, metadata={"n": 41}
    )
    assert [r.data for r in results] == [{"n": 42}, "sync"]
    assert all(r.success and r.duration_ms >= 0 for r in results)
    ctx = seen[0]
    assert (ctx.event, ctx.agent_id, ctx.run_id, ctx.cycle) == (E.POST_TOOL_CALL, "agent-1", "run-9", 2)
    assert ctx.trace_id == "run-9"  # defaults to the run id
    assert isinstance(ctx.timestamp, float) and ctx.occurred_at.tzinfo is not None
    json.dumps({"timestamp": ctx.timestamp})  # the documented audit hook dumps it as it is


async def test_timeout_and_raise_fail_but_others_run(caplog: pytest.LogCaptureFixture) -> None:
    hooks = HookManager(default_timeout=5.0)
    ran: list[str] = []

    async def sleeper(ctx: HookContext) -> None:
        await anyio.sleep(30)
        ran.append("sleeper finished")  # never reached

    def raiser(ctx: HookContext) -> None:
        raise RuntimeError("boom in hook")

    async def good(ctx: HookContext) -> None:
        ran.append("good")

    hooks.register(E.PRE_TOOL_CALL, sleeper, HookPriority.CRITICAL, name="sleeper", timeout=0.05)
    hooks.register(E.PRE_TOOL_CALL, raiser, HookPriority.HIGH, name="raiser")
    hooks.register(E.PRE_TOOL_CALL, good, HookPriority.LOW, name="good")
    with caplog.at_level(logging.WARNING, logger="kaizen.hooks"), anyio.fail_after(10):
        results = await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a")
    by_name = {r.hook_name: r for r in results}
    assert [r.hook_name for r in results] == ["sleeper", "raiser", "good"]
    assert not by_name["sleeper"].success and by_name["sleeper"].error_code == "HOOK_002"
    assert "timed out" in (by_name["sleeper"].error or "")
    assert not by_name["raiser"].success and by_name["raiser"].error_code == "HOOK_003"
    assert "boom in hook" in (by_name["raiser"].error or "")
    assert by_name["good"].success and ran == ["good"]
    logged = [r.getMessage() for r in caplog.records if r.name == "kaizen.hooks"]
    assert any("HOOK_002" in m and "sleeper" in m for m in logged)
    assert any("HOOK_003" in m and "raiser" in m for m in logged)


async def test_handler_raising_timeout_error_itself_is_hook_002() -> None:
    hooks = HookManager()

    async def own_timeout(ctx: HookContext) -> None:
        raise TimeoutError("upstream timed out")

    hooks.register(E.ON_ERROR, own_timeout)
    (result,) = await hooks.trigger(E.ON_ERROR, agent_id="a")
    assert result.error_code == "HOOK_003"


async def test_unsupported_return_value_is_a_failure() -> None:
    hooks = HookManager()
    hooks.register(E.PRE_CYCLE, lambda ctx: 42, name="bad")  # type: ignore[arg-type, return-value]
    (result,) = await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    assert not result.success and result.error_code == "HOOK_003" and "int" in (result.error or "")


async def test_secrets_are_redacted_from_failures() -> None:
    hooks = HookManager()

    def leaky(ctx: HookContext) -> None:
        raise RuntimeError("cannot reach postgresql://bob:hunter22@db/x")

    hooks.register(E.PRE_MEMORY_LOAD, leaky)
    (result,) = await hooks.trigger(E.PRE_MEMORY_LOAD, agent_id="a")
    assert "hunter22" not in (result.error or "") and "bob:***@" in (result.error or "")


async def test_blocking_result_is_returned_and_later_hooks_still_run() -> None:
    hooks = HookManager()
    ran: list[str] = []

    def guard(ctx: HookContext) -> HookResult:
        if ctx.metadata["tool"] == "delete_file":
            return HookResult.block("deleting is not allowed here")
        return HookResult(success=True)

    hooks.register(E.PRE_TOOL_CALL, guard, HookPriority.CRITICAL)
    hooks.register(E.PRE_TOOL_CALL, lambda ctx: ran.append(ctx.metadata["tool"]), name="observer")
    results = await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", metadata={"tool": "delete_file"})
    blocked = first_blocked(results)
    assert blocked is not None and blocked.reason == "deleting is not allowed here"
    assert blocked.hook_name.endswith("guard")
    assert ran == ["delete_file"]
    assert first_blocked(await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", metadata={"tool": "read_file"})) is None


async def test_stats_counts_calls_failures_and_times() -> None:
    hooks = HookManager()
    calls = {"n": 0}

    def flaky(ctx: HookContext) -> None:
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            raise ValueError("every second call fails")

    hooks.register(E.POST_CYCLE, flaky, name="flaky")
    hooks.register(E.POST_CYCLE, lambda ctx: None, name="quiet")
    for _ in range(4):
        await hooks.trigger(E.POST_CYCLE, agent_id="a")
    stats = hooks.stats()
    assert stats["flaky"]["calls"] == 4 and stats["flaky"]["failures"] == 2
    assert stats["quiet"]["calls"] == 4 and stats["quiet"]["failures"] == 0
    for row in stats.values():
        assert row["max_ms"] >= row["mean_ms"] >= 0
        assert row["total_ms"] == pytest.approx(row["mean_ms"] * row["calls"])
    hooks.reset_stats()
    assert hooks.stats()["flaky"]["calls"] == 0


async def test_no_handlers_returns_empty_and_creates_no_context(monkeypatch: pytest.MonkeyPatch) -> None:
    import kaizen_core.hooks.manager as manager_module

    def explode(*a: Any, **k: Any) -> None:
        raise AssertionError("a HookContext was built with no handler registered")

    monkeypatch.setattr(manager_module, "HookContext", explode)
    hooks = HookManager()
    hooks.register(E.PRE_CYCLE, lambda ctx: None)
    assert not hooks.has_handlers(E.POST_CYCLE)
    assert await hooks.trigger(E.POST_CYCLE, agent_id="a") == []


async def test_unregister_by_name_function_and_hook() -> None:
    hooks = HookManager()

    def fn(ctx: HookContext) -> None:
        return None

    name = hooks.register(E.PRE_CYCLE, fn)
    hooks.register(E.POST_CYCLE, fn)
    assert hooks.has_handlers(E.PRE_CYCLE) and hooks.has_handlers(E.POST_CYCLE)
    assert hooks.unregister(fn) == 2
    assert not hooks.has_handlers(E.PRE_CYCLE) and not hooks.has_handlers(E.POST_CYCLE)
    hooks.register(E.PRE_CYCLE, fn, name="named")
    assert hooks.unregister("named") == 1 and hooks.unregister("named") == 0
    assert name.endswith("fn")

    hook = _Recorder()
    hook_name = hooks.register_hook(hook)
    assert hook_name == "recorder"
    assert hooks.has_handlers(E.PRE_AGENT_LOOP) and hooks.has_handlers(E.POST_AGENT_LOOP)
    assert hooks.unregister(hook) == 2
    assert not hooks.has_handlers(E.PRE_AGENT_LOOP)


async def test_unregister_during_trigger_does_not_disturb_the_run() -> None:
    hooks = HookManager()
    ran: list[str] = []

    def first(ctx: HookContext) -> None:
        ran.append("first")
        hooks.unregister("second")

    hooks.register(E.PRE_CYCLE, first, HookPriority.HIGH, name="first")
    hooks.register(E.PRE_CYCLE, lambda ctx: ran.append("second"), name="second")
    await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    assert ran == ["first", "second", "first"]


class _Recorder(BaseHook):
    events: ClassVar[list[HookEvent]] = [E.PRE_AGENT_LOOP, E.POST_AGENT_LOOP]
    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[HookEvent] = []

    async def handle(self, context: HookContext) -> None:
        self.seen.append(context.event)


async def test_register_hook_handles_its_events_and_shares_stats() -> None:
    hooks = HookManager()
    hook = _Recorder()
    hooks.register_hook(hook)
    await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="a")
    await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="a")
    assert hook.seen == [E.PRE_AGENT_LOOP, E.POST_AGENT_LOOP]
    assert hooks.stats()["recorder"]["calls"] == 2
    second = _Recorder()
    assert hooks.register_hook(second) == "recorder#2"


def test_registration_errors() -> None:
    hooks = HookManager()

    def fn(ctx: HookContext) -> None:
        return None

    with pytest.raises(HookError) as err:
        hooks.register("not_an_event", fn)
    assert err.value.code == "HOOK_001"
    with pytest.raises(HookError):
        hooks.register(E.PRE_CYCLE, fn, priority=9)
    with pytest.raises(HookError):
        hooks.register(E.PRE_CYCLE, fn, timeout=0)
    hooks.register(E.PRE_CYCLE, fn, name="taken")
    with pytest.raises(HookError):
        hooks.register(E.PRE_CYCLE, fn)  # same handler twice on one event
    with pytest.raises(HookError):
        hooks.register(E.POST_CYCLE, lambda ctx: None, name="taken")  # name owned by another handler
    assert hooks.register(E.PRE_CYCLE, fn, name="again") == "again"  # twice on purpose: a new explicit name

    class NoEvents(BaseHook):
        async def handle(self, context: HookContext) -> None:
            return None

    with pytest.raises(HookError):
        hooks.register_hook(NoEvents())
    assert hooks.register("pre_cycle", lambda ctx: None, name="by-string") == "by-string"


async def test_caller_cancellation_propagates() -> None:
    hooks = HookManager(default_timeout=None)
    started = anyio.Event()

    async def slow(ctx: HookContext) -> None:
        started.set()
        await anyio.sleep(30)

    hooks.register(E.PRE_CYCLE, slow)
    returned: list[Any] = []

    async def run() -> None:
        returned.append(await hooks.trigger(E.PRE_CYCLE, agent_id="a"))

    with anyio.move_on_after(5) as outer:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await started.wait()
            tg.cancel_scope.cancel()
    assert not outer.cancelled_caught
    assert returned == []  # the cancellation was not turned into a hook result


async def test_async_handlers_that_suspend_return_and_raise() -> None:
    hooks = HookManager()
    sent: list[int] = []

    async def chatty(ctx: HookContext) -> dict[str, Any]:
        send, receive = anyio.create_memory_object_stream[int](1)
        async with send, receive:
            for i in range(3):
                await send.send(i)
                sent.append(await receive.receive())
                await anyio.sleep(0)
        return {"sent": len(sent)}

    async def late_raiser(ctx: HookContext) -> None:
        await anyio.sleep(0)
        raise KeyError("late")

    async def immediate(ctx: HookContext) -> dict[str, Any]:
        return {"immediate": True}

    hooks.register(E.POST_MEMORY_SAVE, chatty, name="chatty")
    hooks.register(E.POST_MEMORY_SAVE, late_raiser, name="late")
    hooks.register(E.POST_MEMORY_SAVE, immediate, name="immediate")
    results = await hooks.trigger(E.POST_MEMORY_SAVE, agent_id="a")
    assert results[0].data == {"sent": 3} and sent == [0, 1, 2]
    assert results[1].error_code == "HOOK_003" and "KeyError" in (results[1].error or "")
    assert results[2].data == {"immediate": True}


async def test_timeout_applies_to_a_hook_that_suspends_more_than_once() -> None:
    hooks = HookManager(default_timeout=0.05)

    async def stepper(ctx: HookContext) -> None:
        await anyio.sleep(0)
        await anyio.sleep(30)

    hooks.register(E.PRE_PLAN_GENERATION, stepper)
    with anyio.fail_after(10):
        (result,) = await hooks.trigger(E.PRE_PLAN_GENERATION, agent_id="a")
    assert result.error_code == "HOOK_002"


async def test_call_observers_see_every_handler_call_and_attached_tells_a_hook_its_manager() -> None:
    calls: list[tuple[str, HookEvent, bool]] = []

    class Watcher(BaseHook):
        events: ClassVar[list[HookEvent]] = [E.POST_CYCLE]
        name = "watcher"

        def attached(self, manager: HookManager) -> None:
            self.remove = manager.observe_calls(lambda name, ev, ms, ok: calls.append((name, ev, ok)) or None)

        async def handle(self, context: HookContext) -> None:
            return None

    def broken(name: str, event: HookEvent, duration_ms: float, success: bool) -> None:
        raise RuntimeError("observer bug")

    hooks = HookManager()
    watcher = Watcher()
    hooks.register_hook(watcher)
    hooks.register(E.POST_CYCLE, lambda ctx: HookResult(success=False, error="no"), name="failing")
    hooks.observe_calls(broken)  # logged, never stops the trigger or the other observers
    results = await hooks.trigger(E.POST_CYCLE, agent_id="a")
    assert [r.hook_name for r in results] == ["watcher", "failing"]
    assert calls == [("watcher", E.POST_CYCLE, True), ("failing", E.POST_CYCLE, False)]
    watcher.remove()
    await hooks.trigger(E.POST_CYCLE, agent_id="a")
    assert len(calls) == 2


async def test_an_async_hook_using_anyio_primitives_across_a_suspension_succeeds() -> None:
    """A handler that enters an anyio cancel scope (a Lock, to_thread) and suspends inside it
    runs like any other: the manager's timeout must not interleave with the handler's scopes."""
    lock = anyio.Lock()
    seen: list[str] = []

    async def locked(context: HookContext) -> None:
        async with lock:
            await anyio.sleep(0)
            seen.append(await anyio.to_thread.run_sync(lambda: "threaded"))

    manager = HookManager(default_timeout=5.0)
    manager.register(E.POST_AGENT_LOOP, locked)
    (result,) = await manager.trigger(E.POST_AGENT_LOOP, agent_id="a")
    assert result.success, result.error
    assert seen == ["threaded"]


async def test_a_suspended_async_hook_past_its_timeout_is_hook_002() -> None:
    never = anyio.Event()

    async def stuck(context: HookContext) -> None:
        async with anyio.Lock():
            await never.wait()

    manager = HookManager(default_timeout=0.01)
    manager.register(E.POST_AGENT_LOOP, stuck)
    (result,) = await manager.trigger(E.POST_AGENT_LOOP, agent_id="a")
    assert not result.success and result.error_code == "HOOK_002"
