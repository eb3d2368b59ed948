"""Server down, server killed mid-run, credentials never shown (kaizen-redis)."""

from __future__ import annotations

import logging

import pytest

from kaizen_core.errors import MemoryBackendError, StorageError
from kaizen_core.state import AgentState, StateManager
from kaizen_redis.store import RedisCheckpointStore
from kaizen_redis.tier import RedisMemoryTier
from kaizen_testing.servers._process import free_port
from kaizen_testing.servers.redis import RedisServer
from kaizen_testing.servers.scenarios import kill_and_restart

PASSWORD = "hunter2-redis-pass"


@pytest.mark.anyio
async def test_server_down_at_start_is_checkpoint_003_without_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    manager = StateManager(RedisCheckpointStore.from_url(url, retries=1, backoff_cap=0.05))
    with pytest.raises(StorageError) as info:
        await manager.save_checkpoint(AgentState(agent_id="a"))
    assert info.value.code == "CHECKPOINT_003"
    message = str(info.value)
    assert "127.0.0.1" in message and "redis://" in message
    assert PASSWORD not in message
    assert PASSWORD not in caplog.text
    await manager.close()


@pytest.mark.anyio
async def test_tier_server_down_is_memory_001_without_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    tier = RedisMemoryTier.from_url(url, namespace="n", retries=1, backoff_cap=0.05)
    with pytest.raises(MemoryBackendError) as info:
        await tier.put("k", 1)
    assert info.value.code == "MEMORY_001"
    assert "127.0.0.1" in str(info.value) and PASSWORD not in str(info.value)
    assert PASSWORD not in caplog.text
    await tier.close()


@pytest.mark.anyio
async def test_wrong_password_is_clear_and_redacted(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0"
    store = RedisCheckpointStore.from_url(url, retries=1)
    with pytest.raises(StorageError) as info:
        await store.list_agents()
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    await store.close()


@pytest.mark.anyio
async def test_kill_and_restart_mid_run(redis_server: RedisServer, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await kill_and_restart(
        redis_server.url, redis_server, secrets=(redis_server.password,), key_prefix=key_prefix, retries=2
    )
    assert redis_server.password not in caplog.text


@pytest.mark.anyio
async def test_dropped_connection_is_reconnected_transparently(redis_server: RedisServer, key_prefix: str) -> None:
    """A restart between two operations is absorbed by reconnect + backoff: no error at all."""
    store = RedisCheckpointStore.from_url(redis_server.url, key_prefix=key_prefix)
    manager = StateManager(store)
    state = AgentState(agent_id="reconnect")
    first = await manager.save_checkpoint(state)
    redis_server.restart()  # every pooled connection is now dead
    state.step_number = 1
    second = await manager.save_checkpoint(state)
    assert first and second
    assert (await StateManager(store).load_checkpoint(second)) == state
    await store.close()
