"""Acceptance: redis-server stays down for longer than the store's reconnect window.

The store is given a short reconnect window (1 retry), the server is killed after
cycle 1's tool ran and restarted only in cycle 3, after the model's reply, so the
checkpoint saves and journal appends in between fail for good (CHECKPOINT_003). The
autonomous run must keep going (ON_ERROR events, no exception), save again once the
server is back, finish, and leave only checkpoints that load. The outage is driven by
lifecycle hooks, not by timers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.hooks import HookContext, HookEvent, HookManager
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.state import StateManager
from kaizen_core.tools import ToolRegistry, tool
from kaizen_redis.store import RedisCheckpointStore
from kaizen_testing.servers.redis import RedisServer


@tool
def note(text: str) -> str:
    """Record a note."""
    return f"noted {text}"


@pytest.mark.anyio
async def test_run_outlives_an_outage_longer_than_the_reconnect_window(
    redis_server: RedisServer, key_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[dict[str, Any]] = []
    down_in_cycles: set[int] = set()

    def kill_after_cycle_1(ctx: HookContext) -> None:
        if ctx.cycle == 1:
            redis_server.kill()
        if not redis_server.running and ctx.cycle:
            down_in_cycles.add(ctx.cycle)

    def restart_in_cycle_3(ctx: HookContext) -> None:
        if ctx.cycle == 3 and not redis_server.running:
            redis_server.start()

    hooks = HookManager()
    hooks.register(HookEvent.ON_ERROR, lambda ctx: errors.append(dict(ctx.metadata, cycle=ctx.cycle)))
    hooks.register(HookEvent.POST_CYCLE, kill_after_cycle_1)
    hooks.register(HookEvent.PRE_TOOL_CALL, restart_in_cycle_3)

    store = RedisCheckpointStore.from_url(
        redis_server.url, key_prefix=key_prefix, retries=1, backoff_base=0.01, backoff_cap=0.05, connect_timeout=0.5
    )
    manager = StateManager(store, retention_count=None)
    script = [
        calls(("note", {"text": "one"})),
        {"delay": 0.2, **calls(("note", {"text": "two"}))},  # the model answers while the server is down
        calls(("note", {"text": "three"})),
        calls(("note", {"text": "four"})),
        {"summary": "done despite the outage"},
    ]
    config = AutonomousConfig(
        llm_provider="mock", workspace_root=str(tmp_path), checkpoint_frequency=1,
        permission_mode="bypass", enable_interrupts=False,
    )  # fmt: skip
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script), hook_manager=hooks,
        tools=ToolRegistry([note]), agent_id=f"long-outage-{key_prefix}", state_manager=manager,
    )  # fmt: skip
    agent.storage_retry_seconds = 0.3  # keep the test fast; the default is 10 s
    try:
        with caplog.at_level(logging.WARNING):
            result = await agent.run_autonomous("take notes")
    finally:
        redis_server.start()  # no-op when it is running; never leave the session server down

    assert result["stop_reason"] == "converged"
    assert result["summary"] == "done despite the outage"
    assert [c["outcome"] for c in result["tool_calls"]] == ["success"] * 4
    assert down_in_cycles == {1, 2}, "the server must have been down across cycle 2"

    # the store gave up (the outage outlasted its reconnect window) and the run went on
    phases = [(e["phase"], e["cycle"]) for e in errors]
    assert ("checkpoint", 1) in phases and ("checkpoint", 2) in phases
    # group commit: cycle 2's two journal writes fail; cycle 3's reply is written with its first
    # tool start, after PRE_TOOL_CALL restarted the server, so cycle 3 loses nothing
    assert phases.count(("journal", 2)) == 2 and ("journal", 3) not in phases
    assert {e["error_code"] for e in errors} == {"CHECKPOINT_003"}
    assert len(result["_meta"]["storage_errors"]) == len(errors)
    assert redis_server.password not in repr(errors) + repr(result) + caplog.text

    fresh = RedisCheckpointStore.from_url(redis_server.url, key_prefix=key_prefix)
    loader = StateManager(fresh)
    metas = await loader.list_checkpoints(agent.agent_id)
    ids = {m.checkpoint_id for m in metas}
    # start, then nothing until the server is back in cycle 3, then every cycle and the completion
    assert sorted(m.step_number for m in metas) == [0, 3, 4, 5]
    for meta in metas:
        state = await loader.load_checkpoint(meta.checkpoint_id)
        assert state.agent_id == agent.agent_id
        assert meta.parent_checkpoint_id is None or meta.parent_checkpoint_id in ids
    after = next(m for m in metas if m.step_number == 3)
    state = await loader.load_checkpoint(after.checkpoint_id)
    assert [c["arguments"]["text"] for c in state.completed_tool_calls] == ["one", "two", "three"]
    latest = await loader.resume_from_latest(agent.agent_id)
    assert latest is not None and latest.status == "completed"
    assert latest.custom_state["final_result"]["summary"] == "done despite the outage"
    assert result["checkpoint_id"] == latest.checkpoint_id
    await fresh.close()
    await store.close()
