"""Server down, server killed mid-run, credentials never shown (kaizen-postgres)."""

from __future__ import annotations

import logging

import pytest

from kaizen_core.errors import MemoryBackendError, StorageError
from kaizen_core.state import AgentState, StateManager
from kaizen_postgres.store import PostgresCheckpointStore
from kaizen_postgres.tier import PostgresMemoryTier
from kaizen_testing.servers._process import free_port
from kaizen_testing.servers.postgres import PostgresServer
from kaizen_testing.servers.scenarios import kill_and_restart

PASSWORD = "hunter2-pg-pass"


@pytest.mark.anyio
async def test_server_down_at_start_is_checkpoint_003_without_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://kaizen:{PASSWORD}@127.0.0.1:{free_port()}/kaizen"
    manager = StateManager(PostgresCheckpointStore.from_url(url, retries=1, backoff_cap=0.05))
    with pytest.raises(StorageError) as info:
        await manager.save_checkpoint(AgentState(agent_id="a"))
    assert info.value.code == "CHECKPOINT_003"
    assert "127.0.0.1" in str(info.value) and "postgresql://" in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    await manager.close()


@pytest.mark.anyio
async def test_tier_server_down_is_memory_001_without_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://kaizen:{PASSWORD}@127.0.0.1:{free_port()}/kaizen"
    tier = PostgresMemoryTier.from_url(url, namespace="n", retries=1, backoff_cap=0.05)
    with pytest.raises(MemoryBackendError) as info:
        await tier.get("k")
    assert info.value.code == "MEMORY_001"
    assert "127.0.0.1" in str(info.value) and PASSWORD not in str(info.value)
    assert PASSWORD not in caplog.text
    await tier.close()


@pytest.mark.anyio
async def test_wrong_password_is_clear_and_redacted(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://kaizen:{PASSWORD}@127.0.0.1:{postgres_server.port}/kaizen"
    store = PostgresCheckpointStore.from_url(url, retries=1)
    with pytest.raises(StorageError) as info:
        await store.list_agents()
    assert "password" in str(info.value).lower()  # asyncpg says authentication failed
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    await store.close()


@pytest.mark.anyio
async def test_kill_and_restart_mid_run(
    postgres_server: PostgresServer, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await kill_and_restart(pg_url, postgres_server, secrets=(postgres_server.password,), retries=2)
    assert postgres_server.password not in caplog.text


@pytest.mark.anyio
async def test_dropped_connection_is_reconnected_transparently(postgres_server: PostgresServer, pg_url: str) -> None:
    store = PostgresCheckpointStore.from_url(pg_url)
    manager = StateManager(store)
    state = AgentState(agent_id="reconnect")
    assert await manager.save_checkpoint(state)
    postgres_server.restart()  # pooled connections are now dead
    state.step_number = 1
    second = await manager.save_checkpoint(state)
    assert second is not None
    assert (await StateManager(store).load_checkpoint(second)) == state
    await store.close()
