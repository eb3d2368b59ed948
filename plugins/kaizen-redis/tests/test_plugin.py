"""Registration, lazy imports and URL handling of kaizen-redis."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kaizen_core import plugins
from kaizen_core.memory.urls import open_tier
from kaizen_core.state import AgentState, StateManager, open_store
from kaizen_redis.store import RedisCheckpointStore
from kaizen_redis.tier import RedisMemoryTier


def test_entry_point_registers_store_and_tier() -> None:
    plugins.reset()
    registry = plugins.get_registry()
    assert registry.load("storage", "redis") is RedisCheckpointStore
    assert registry.load("memory_tier", "redis") is RedisMemoryTier
    assert registry.get("storage", "redis").distribution == "kaizen-redis"


def test_importing_the_plugin_does_not_import_redis() -> None:
    code = (
        "import sys, kaizen_core, kaizen_redis; from kaizen_core import plugins; plugins.get_registry(); "
        "print('redis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_url_query_options_are_read_and_stripped(redis_url: str) -> None:
    store = RedisCheckpointStore.from_url(redis_url + "?key_prefix=deploy1&ttl=30&socket_keepalive=true")
    assert store.key_prefix == "deploy1"
    assert store.ttl == 30.0
    assert "key_prefix" not in store.conn.url and "socket_keepalive" in store.conn.url
    assert "kaizen-redis-secret" not in repr(store) and "kaizen-redis-secret" not in store.url


@pytest.mark.anyio
async def test_state_manager_from_url(redis_url: str, key_prefix: str) -> None:
    manager = StateManager(f"{redis_url}?key_prefix={key_prefix}")
    assert isinstance(manager.storage, RedisCheckpointStore)
    state = AgentState(agent_id="url-agent", conversation_history=[{"role": "user", "content": "hi"}])
    checkpoint_id = await manager.save_checkpoint(state)
    assert checkpoint_id is not None
    assert await manager.load_checkpoint(checkpoint_id) == state
    await manager.close()


@pytest.mark.anyio
async def test_key_prefix_separates_deployments(redis_url: str, key_prefix: str) -> None:
    one = open_store(redis_url, key_prefix=key_prefix + "-one")
    two = open_store(redis_url, key_prefix=key_prefix + "-two")
    async with StateManager(one) as m1, StateManager(two) as m2:
        await m1.save_checkpoint(AgentState(agent_id="shared-name"))
        assert len(await m1.list_checkpoints("shared-name")) == 1
        assert await m2.list_checkpoints("shared-name") == []
        assert await two.list_agents() == []
    await one.close()
    await two.close()


@pytest.mark.anyio
async def test_checkpoint_ttl_expires_checkpoints_and_journals(redis_url: str, key_prefix: str) -> None:
    import anyio
    import redis.asyncio as aioredis

    # Redis expires keys on its own clock, which a test cannot move: what is written is
    # checked on a store whose ttl cannot run out during the test, expiry on a short one.
    lasting = RedisCheckpointStore.from_url(redis_url, key_prefix=f"{key_prefix}-lasting", ttl=600)
    await StateManager(lasting).save_checkpoint(AgentState(agent_id="short-lived"))
    await lasting.journal_append("j", b"record")
    assert await lasting.list_agents() == ["short-lived"] and await lasting.journal_read("j") == [b"record"]
    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=f"{key_prefix}-lasting:*")]
    expiring = [k for k in keys if b":ckpt:" in k or b":journal" in k]
    assert len(expiring) == 3  # the checkpoint, the journal and its record ids
    assert all(0 < ttl <= 600_000 for ttl in [await client.pttl(k) for k in expiring])
    await client.aclose()
    await lasting.close()

    store = RedisCheckpointStore.from_url(redis_url, key_prefix=key_prefix, ttl=0.3)
    await StateManager(store).save_checkpoint(AgentState(agent_id="short-lived"))
    await store.journal_append("j", b"record")
    # Each key expires 0.3 s after its own write (the journal's after the checkpoint's): wait for both.
    with anyio.fail_after(30):  # bounds a hang only
        while await store.list_agents() or await store.journal_read("j"):
            await anyio.sleep(0.05)
    assert await store.list("short-lived") == []
    assert await store.journal_read("j") == []
    await store.close()


@pytest.mark.anyio
async def test_memory_tier_from_url_uses_native_ttl(redis_server, key_prefix: str) -> None:  # type: ignore[no-untyped-def]
    import redis.asyncio as aioredis

    tier = open_tier(redis_server.url, namespace="ttl-check", key_prefix=key_prefix)
    assert isinstance(tier, RedisMemoryTier)
    await tier.put("k", {"v": 1}, ttl=60)
    client = aioredis.Redis.from_url(redis_server.url)
    keys = [k async for k in client.scan_iter(match=f"{key_prefix}:mem:*")]
    assert len(keys) == 1
    assert 0 < await client.pttl(keys[0]) <= 60_000
    await client.aclose()
    await tier.clear()
    await tier.close()
