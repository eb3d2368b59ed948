"""Acceptance: kill redis-server during an autonomous run, restart it; the run finishes
and its checkpoints load.

A tool kills the server in the middle of the run and a thread restarts it shortly
after. The agent's next journal append / checkpoint hits the dead server; the store's
reconnect-with-backoff rides out the outage, so the run completes normally.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.state import StateManager
from kaizen_core.tools import ToolRegistry, tool
from kaizen_redis.store import RedisCheckpointStore
from kaizen_testing.servers.redis import RedisServer


class WatchingStore(RedisCheckpointStore):
    """Records whether the server was down when the agent touched the store."""

    server: RedisServer
    calls_while_down = 0

    async def journal_append(self, stream: str, record: bytes) -> None:
        if not self.server.running:
            self.calls_while_down += 1
        await super().journal_append(stream, record)

    async def journal_append_many(self, stream: str, records: Any) -> None:  # the agent's group commit
        if not self.server.running:
            self.calls_while_down += 1
        await super().journal_append_many(stream, records)

    async def write(self, meta: Any, payload: bytes) -> None:
        if not self.server.running:
            self.calls_while_down += 1
        await super().write(meta, payload)


@pytest.mark.anyio
async def test_autonomous_run_survives_redis_restart(
    redis_server: RedisServer, key_prefix: str, tmp_path: Path
) -> None:
    restarted = threading.Event()

    @tool
    def note(text: str) -> str:
        """Record a note."""
        return f"noted {text}"

    @tool
    def crash_storage() -> str:
        """Kill redis-server now; a thread brings it back 0.5 s later."""
        redis_server.kill()

        def bring_back() -> None:
            time.sleep(0.5)
            redis_server.start()
            restarted.set()

        threading.Thread(target=bring_back, daemon=True).start()
        return "storage crashed"

    store = WatchingStore.from_url(redis_server.url, key_prefix=key_prefix, retries=10, backoff_cap=1.0)
    assert isinstance(store, WatchingStore)
    store.server = redis_server
    manager = StateManager(store, retention_count=None)
    script = [
        calls(("note", {"text": "one"})),
        calls(("crash_storage", {})),
        calls(("note", {"text": "two"})),
        calls(("note", {"text": "three"})),
        {"summary": "done despite the outage"},
    ]
    config = AutonomousConfig(
        llm_provider="mock", workspace_root=str(tmp_path), checkpoint_frequency=1,
        permission_mode="bypass", enable_interrupts=False,
    )  # fmt: skip
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script),
        tools=ToolRegistry([note, crash_storage]), agent_id=f"outage-{key_prefix}", state_manager=manager,
    )  # fmt: skip
    result = await agent.run_autonomous("take notes")
    assert result["stop_reason"] == "converged"
    assert result["summary"] == "done despite the outage"
    assert restarted.wait(timeout=60)  # the client may reconnect before the restart thread says so
    assert store.calls_while_down > 0, "the outage must overlap a storage call for this test to mean anything"

    fresh = RedisCheckpointStore.from_url(redis_server.url, key_prefix=key_prefix)
    loader = StateManager(fresh)
    metas = await loader.list_checkpoints(agent.agent_id)
    assert len(metas) >= 5  # start, one per cycle (frequency 1), completion
    for meta in metas:
        state = await loader.load_checkpoint(meta.checkpoint_id)
        assert state.agent_id == agent.agent_id
    latest = await loader.resume_from_latest(agent.agent_id)
    assert latest is not None and latest.status == "completed"
    await fresh.close()
    await store.close()
