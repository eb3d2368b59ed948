"""The original docs' names for this store: ``PostgreSQLStorage`` and ``DatabaseStorage`` from ``kaizen_core.state``."""

from __future__ import annotations

import re

import pytest

from kaizen_postgres.store import PostgresCheckpointStore

pytestmark = pytest.mark.anyio


async def test_postgresql_storage_is_this_plugins_store(pg_url: str) -> None:
    from kaizen_core.state import PostgreSQLStorage, StateManager

    assert PostgreSQLStorage is PostgresCheckpointStore
    storage = PostgreSQLStorage(pg_url)
    manager = StateManager(storage_backend=storage)
    checkpoint_id = await manager.create_checkpoint("research agent", "before", {"papers": 3})
    assert checkpoint_id is not None and re.fullmatch(r"research_agent_step_0_\d{8}_\d{6}_[0-9a-f]{8}", checkpoint_id)
    assert (await manager.load_checkpoint(checkpoint_id)).custom_state == {"papers": 3}
    await storage.close()


async def test_database_storage_opens_postgresql(pg_url: str) -> None:
    from kaizen_core.state import AgentState, DatabaseStorage, StateManager

    class DataFlow:  # the original's DataFlow object: here anything with a database_url
        database_url = pg_url

    for storage in (DatabaseStorage(pg_url), DatabaseStorage(dataflow=DataFlow())):
        assert isinstance(storage, PostgresCheckpointStore)
        manager = StateManager(storage=storage)
        checkpoint_id = await manager.save_checkpoint(AgentState(agent_id="db-agent", step_number=4))
        assert checkpoint_id is not None and (await manager.load_checkpoint(checkpoint_id)).step_number == 4
        await storage.close()
