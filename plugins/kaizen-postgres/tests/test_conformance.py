"""kaizen-postgres passes the standard checkpoint-store and memory-tier suites unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from kaizen_core.memory.tier import MemoryTier
from kaizen_postgres.store import PostgresCheckpointStore
from kaizen_postgres.tier import PostgresMemoryTier
from kaizen_testing.checkpoint_suite import CheckpointStoreSuite
from kaizen_testing.memory_suite import MemoryTierSuite, TierFactory


class TestPostgresCheckpointStore(CheckpointStoreSuite):
    @pytest.fixture
    async def store(self, pg_url: str) -> AsyncIterator[PostgresCheckpointStore]:
        store = PostgresCheckpointStore.from_url(pg_url)
        await store.migrate()
        conn = await asyncpg.connect(pg_url)
        await conn.execute("TRUNCATE kaizen_checkpoints, kaizen_journal")  # fresh and empty
        await conn.close()
        yield store
        await store.close()


class TestPostgresMemoryTier(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, pg_url: str) -> TierFactory:
        async def make(namespace: str) -> MemoryTier:
            return PostgresMemoryTier.from_url(pg_url, namespace=namespace)

        return make
