"""kaizen-s3-storage passes the standard checkpoint-store and memory-tier suites unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kaizen_core.memory.tier import MemoryTier
from kaizen_s3_storage.store import S3CheckpointStore
from kaizen_s3_storage.tier import S3MemoryTier
from kaizen_testing.checkpoint_suite import CheckpointStoreSuite
from kaizen_testing.memory_suite import MemoryTierSuite, TierFactory


class TestS3CheckpointStore(CheckpointStoreSuite):
    @pytest.fixture
    async def store(self, s3_url: str, s3_options: dict[str, str]) -> AsyncIterator[S3CheckpointStore]:
        store = S3CheckpointStore.from_url(s3_url, **s3_options)
        yield store
        await store.close()


class TestS3MemoryTier(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, s3_url: str, s3_options: dict[str, str]) -> TierFactory:
        async def make(namespace: str) -> MemoryTier:
            return S3MemoryTier.from_url(s3_url, namespace=namespace, **s3_options)

        return make
