"""Memory's blocking API keeps a loop-bound redis client across calls (the core's one background loop)."""

from __future__ import annotations

from typing import Any

from kaizen_core.memory import PersistentBufferMemory


def test_redis_clients_survive_across_blocking_calls(redis_server: Any) -> None:
    """A loop-bound client (redis) opened by one blocking call is reused by the next."""
    memory = PersistentBufferMemory(redis_server.url, agent_id="sync-redis-test")
    memory.clear(stored=True)
    for i in range(3):
        memory.add_message("user", f"m{i}")
    tier = memory._get_tier()
    assert [m.content for m in memory.load()] == ["m0", "m1", "m2"]
    assert memory._get_tier() is tier
    memory.close()
    again = PersistentBufferMemory(redis_server.url, agent_id="sync-redis-test")
    assert [m.content for m in again.get_history()] == ["m0", "m1", "m2"]
    again.clear(stored=True)
    again.close()
