"""kaizen-redis passes the standard checkpoint-store and memory-tier suites unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kaizen_core.memory.tier import MemoryTier
from kaizen_redis.store import RedisCheckpointStore
from kaizen_redis.tier import RedisMemoryTier
from kaizen_testing.checkpoint_suite import CheckpointStoreSuite
from kaizen_testing.memory_suite import MemoryTierSuite, TierFactory


class TestRedisCheckpointStore(CheckpointStoreSuite):
    @pytest.fixture
    async def store(self, redis_url: str, key_prefix: str) -> AsyncIterator[RedisCheckpointStore]:
        store = RedisCheckpointStore.from_url(redis_url, key_prefix=key_prefix)
        yield store
        await store.close()


class TestRedisMemoryTier(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, redis_url: str, key_prefix: str) -> TierFactory:
        async def make(namespace: str) -> MemoryTier:
            return RedisMemoryTier.from_url(redis_url, namespace=namespace, key_prefix=key_prefix)

        return make
