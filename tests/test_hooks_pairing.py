"""HookManager: PRE/POST pairing (metadata, durations), request metadata, ON_ERROR details, spellings."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from kaizen_core.errors import ConfigError, HookError
from kaizen_core.hooks import (
    AuditHook,
    BaseHook,
    HookContext,
    HookEvent,
    HookManager,
    HookPriority,
    LoggingHook,
    hook_metadata,
)
from kaizen_core.hooks import manager as manager_module

pytestmark = pytest.mark.anyio
E = HookEvent


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def _recording(hooks: HookManager, *events: HookEvent) -> list[HookContext]:
    seen: list[HookContext] = []
    for event in events:
        hooks.register(event, seen.append, name=f"rec-{event.value}")
    return seen


async def test_metadata_written_at_pre_is_seen_at_the_matching_post() -> None:
    hooks = HookManager()

    def start(ctx: HookContext) -> None:
        ctx.metadata["span"] = f"span-for-{ctx.metadata['arg']}"
        ctx.metadata["arg"] = "rewritten"  # a rebound key counts as written

    hooks.register(E.PRE_AGENT_LOOP, start)
    seen = _recording(hooks, E.POST_AGENT_LOOP)
    await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="a", run_id="r1", metadata={"arg": "x", "inputs": {"q": 1}})
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="a", run_id="r1", metadata={"status": "success"})
    (post,) = seen
    assert post.metadata["span"] == "span-for-x" and post.metadata["arg"] == "rewritten"
    assert "inputs" not in post.metadata  # only what handlers wrote travels, not the PRE's own metadata
    assert post.metadata["status"] == "success"


async def test_post_metadata_wins_over_what_pre_handlers_wrote() -> None:
    hooks = HookManager()
    hooks.register(E.PRE_CYCLE, lambda ctx: ctx.metadata.update(status="guess"))
    seen = _recording(hooks, E.POST_CYCLE)
    await hooks.trigger(E.PRE_CYCLE, agent_id="a", run_id="r")
    await hooks.trigger(E.POST_CYCLE, agent_id="a", run_id="r", metadata={"status": "success"})
    assert seen[0].metadata["status"] == "success"


async def test_concurrent_steps_pair_by_step_id_and_nesting_is_lifo() -> None:
    clock = FakeClock()
    hooks = HookManager(clock=clock)
    hooks.register(E.PRE_TOOL_CALL, lambda ctx: ctx.metadata.update(mine=ctx.metadata["tool"]))
    seen = _recording(hooks, E.POST_TOOL_CALL, E.POST_CYCLE)
    run = {"agent_id": "a", "run_id": "r"}
    await hooks.trigger(E.PRE_TOOL_CALL, step="c1", metadata={"tool": "one"}, **run)
    clock.now += 1.0
    await hooks.trigger(E.PRE_TOOL_CALL, step="c2", metadata={"tool": "two"}, **run)
    clock.now += 1.0
    await hooks.trigger(E.POST_TOOL_CALL, step="c1", **run)  # the first call finishes first
    await hooks.trigger(E.POST_TOOL_CALL, step="c2", **run)
    assert [(c.metadata["mine"], c.duration_ms) for c in seen] == [("one", 2000.0), ("two", 1000.0)]
    assert seen[0].metadata["duration_seconds"] == 2.0

    # same key twice (nested phase): the inner POST closes the inner PRE
    await hooks.trigger(E.PRE_CYCLE, **run)
    clock.now += 5.0
    await hooks.trigger(E.PRE_CYCLE, **run)
    clock.now += 1.0
    await hooks.trigger(E.POST_CYCLE, **run)
    await hooks.trigger(E.POST_CYCLE, **run)
    assert [c.duration_ms for c in seen[2:]] == [1000.0, 6000.0]


async def test_pairs_are_per_agent_and_run() -> None:
    hooks = HookManager()
    hooks.register(E.PRE_AGENT_LOOP, lambda ctx: ctx.metadata.update(who=(ctx.agent_id, ctx.run_id)))
    seen = _recording(hooks, E.POST_AGENT_LOOP)
    for agent, run in (("a", "r1"), ("a", "r2"), ("b", "r1")):
        await hooks.trigger(E.PRE_AGENT_LOOP, agent_id=agent, run_id=run)
    for agent, run in (("b", "r1"), ("a", "r1"), ("a", "r2")):
        await hooks.trigger(E.POST_AGENT_LOOP, agent_id=agent, run_id=run)
    assert [c.metadata["who"] for c in seen] == [("b", "r1"), ("a", "r1"), ("a", "r2")]


async def test_the_callers_duration_wins_and_an_unpaired_post_has_none() -> None:
    clock = FakeClock()
    hooks = HookManager(clock=clock)
    seen = _recording(hooks, E.POST_TOOL_CALL, E.POST_CHECKPOINT_SAVE)
    await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", step="c")
    clock.now += 3.0
    await hooks.trigger(E.POST_TOOL_CALL, agent_id="a", step="c", metadata={"duration_ms": 12.5})
    await hooks.trigger(E.POST_CHECKPOINT_SAVE, agent_id="a")
    assert seen[0].duration_ms == 12.5 and seen[0].metadata["duration_seconds"] == 0.0125
    assert seen[1].duration_ms is None and "duration_seconds" not in seen[1].metadata


async def test_a_pre_is_kept_only_while_its_post_listens() -> None:
    hooks = HookManager()
    assert not hooks.has_handlers(E.PRE_CYCLE) and not hooks.has_handlers("post_cycle")
    name = hooks.register(E.POST_CYCLE, lambda ctx: None)
    assert hooks.has_handlers(E.PRE_CYCLE) and hooks.has_handlers("pre_cycle")  # the POST needs its start
    assert not hooks.has_handlers(E.PRE_TOOL_CALL) and not hooks.has_handlers(E.ON_ERROR)
    assert await hooks.trigger(E.PRE_CYCLE, agent_id="a") == []  # no PRE handler: no context, start kept
    assert hooks._open_count == 1
    await hooks.trigger(E.POST_CYCLE, agent_id="a")
    assert hooks._open_count == 0
    hooks.unregister(name)
    assert not hooks.has_handlers(E.PRE_CYCLE)
    hooks.register(E.PRE_TOOL_CALL, lambda ctx: None)
    await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", step="c")
    assert hooks._open_count == 0  # nobody listens for POST_TOOL_CALL: nothing kept


async def test_open_pres_are_dropped_when_the_run_ends_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = HookManager()
    _recording(hooks, E.POST_TOOL_CALL, E.POST_AGENT_LOOP)
    await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="a", run_id="r")
    for i in range(3):  # tool calls whose POST never comes
        await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", run_id="r", step=f"c{i}")
    await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a", run_id="other", step="c0")
    assert hooks._open_count == 5
    await hooks.trigger(E.POST_AGENT_LOOP, agent_id="a", run_id="r")
    assert hooks._open_count == 1  # only the other run's

    monkeypatch.setattr(manager_module, "_MAX_OPEN", 3)
    for i in range(10):
        await hooks.trigger(E.PRE_TOOL_CALL, agent_id="b", run_id="r", step=f"c{i}")
    assert hooks._open_count == 3
    assert {k[3] for k in hooks._open} == {"c7", "c8", "c9"}  # the oldest went first


async def test_hook_metadata_reaches_every_context_in_the_block() -> None:
    hooks = HookManager()
    seen = _recording(hooks, E.PRE_AGENT_LOOP, E.ON_ERROR)
    with hook_metadata(user_id="alice", tenant="t1"):
        await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="a")
        with hook_metadata(user_id="bob"):
            await hooks.trigger(E.ON_ERROR, agent_id="a", metadata={"tenant": "mine"})

        async def in_task() -> None:
            await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="task")

        async with anyio.create_task_group() as tg:
            tg.start_soon(in_task)
    await hooks.trigger(E.PRE_AGENT_LOOP, agent_id="after")
    assert [(c.agent_id, c.metadata.get("user_id"), c.metadata.get("tenant")) for c in seen] == [
        ("a", "alice", "t1"),
        ("a", "bob", "mine"),  # nested blocks add up; the trigger's own metadata wins
        ("task", "alice", "t1"),  # tasks started in the block inherit it
        ("after", None, None),
    ]


async def test_on_error_names_the_exception_redacted() -> None:
    hooks = HookManager()
    seen = _recording(hooks, E.ON_ERROR)

    def fail() -> None:
        raise RuntimeError("token sk-abcdefghijklmnopqrstuvwxyz rejected")

    try:
        fail()
    except RuntimeError as exc:
        await hooks.trigger(E.ON_ERROR, agent_id="a", metadata={"error": exc})
    await hooks.trigger(E.ON_ERROR, agent_id="a", metadata={"error": "a plain message"})
    first, second = (c.metadata for c in seen)
    assert isinstance(first["error"], RuntimeError) and first["error_type"] == "RuntimeError"
    assert "abcdefghijklmnop" not in first["error_message"] and "rejected" in first["error_message"]
    assert "in fail" in first["traceback"] and "abcdefghijklmnop" not in first["traceback"]
    assert second == {"error": "a plain message"}  # not an exception: left as it is


async def test_register_spellings_and_errors() -> None:
    hooks = HookManager()
    order: list[str] = []
    hooks.register(event_type=E.PRE_CYCLE, handler=lambda ctx: order.append("normal"))
    hooks.register(event=E.PRE_CYCLE, handler=lambda ctx: order.append("high"), priority=HookPriority.HIGH, name="h")
    hooks.register("pre_tool_use", lambda ctx: order.append("tool"))  # the alias's own value
    await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    await hooks.trigger(E.PRE_TOOL_CALL, agent_id="a")
    assert order == ["high", "normal", "tool"]
    with pytest.raises(HookError, match="both"):
        hooks.register(E.PRE_CYCLE, lambda ctx: None, event_type=E.POST_CYCLE)
    with pytest.raises(HookError, match="needs an event"):
        hooks.register(handler=lambda ctx: None)
    with pytest.raises(HookError, match="needs a handler"):
        hooks.register(E.PRE_CYCLE)
    with pytest.raises(HookError, match="BaseHook instances"):
        hooks.register_all([lambda ctx: None])  # type: ignore[list-item]


def test_event_aliases() -> None:
    assert E.PRE_TOOL_USE is E.PRE_TOOL_CALL and E.POST_TOOL_USE is E.POST_TOOL_CALL
    assert E("post_tool_use") is E.POST_TOOL_CALL and E("PRE_CYCLE") is E.PRE_CYCLE
    assert E.PRE_TOOL_USE not in [e for e in E if e.name == "PRE_TOOL_USE"]  # iteration lists each event once
    assert len(list(E)) == len(set(E))
    with pytest.raises(ValueError):
        E("pre_nothing")


class _InitHook(BaseHook):
    def __init__(self, **kw: Any) -> None:
        super().__init__(name="configured", **kw)
        self.events = [E.PRE_CYCLE, E.POST_CYCLE]
        self.calls: list[str] = []

    async def handle(self, context: HookContext) -> None:
        self.calls.append(context.event.value)


async def test_base_hook_configured_in_init_and_priority_override() -> None:
    hooks = HookManager()
    first = _InitHook()
    order: list[str] = []
    hooks.register(E.PRE_CYCLE, lambda ctx: order.append("critical"), priority=HookPriority.CRITICAL)
    name = hooks.register_hook(first, priority=HookPriority.CRITICAL)
    second = _InitHook(events=[E.ON_ERROR], priority=HookPriority.LOW)  # __init__ sets events after super()
    assert hooks.register_hook(second) == "configured#2"
    assert name == "configured" and hooks.handler_names(E.PRE_CYCLE)[1] == "configured"
    assert second.priority is HookPriority.LOW and _InitHook.events == []  # instance attributes only
    await hooks.trigger(E.PRE_CYCLE, agent_id="a")
    await hooks.trigger(E.POST_CYCLE, agent_id="a")
    assert first.calls == second.calls == ["pre_cycle", "post_cycle"] and order == ["critical"]


def test_builtin_documented_keywords(tmp_path: Any) -> None:
    assert LoggingHook(log_level="INFO").level == 20 and LoggingHook(log_level="debug").level == 10
    assert LoggingHook(level=30).level == 30 and LoggingHook().level == 20
    with pytest.raises(ConfigError, match="unknown log level"):
        LoggingHook(log_level="LOUD")
    with pytest.raises(ConfigError, match="both"):
        LoggingHook(level="INFO", log_level="INFO")
    assert AuditHook(storage_path=tmp_path / "logs").path == tmp_path / "logs" / "kaizen-audit.jsonl"
    assert AuditHook(tmp_path / "a.jsonl").path == tmp_path / "a.jsonl"
    with pytest.raises(ConfigError, match="both"):
        AuditHook(tmp_path / "a.jsonl", storage_path=tmp_path)


async def test_private_metadata_stays_out_of_log_lines() -> None:
    import io

    stream = io.StringIO()
    hooks = HookManager()
    hooks.register(E.PRE_CYCLE, lambda ctx: ctx.metadata.update(_span=object(), public=1))
    hooks.register_hook(LoggingHook(stream=stream))
    await hooks.trigger(E.PRE_CYCLE, agent_id="a", metadata={"cycle": 1})
    await hooks.trigger(E.POST_CYCLE, agent_id="a")
    pre, post = (json.loads(line) for line in stream.getvalue().splitlines())
    assert pre["metadata"] == {"cycle": 1, "public": 1}
    assert post["metadata"]["public"] == 1 and "_span" not in post["metadata"] and post["duration_ms"] >= 0
