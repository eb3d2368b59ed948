"""Registration, lazy imports, migrations, indexes and full-text search of kaizen-postgres."""

from __future__ import annotations

import subprocess
import sys

import anyio
import asyncpg
import pytest

from kaizen_core import plugins
from kaizen_core.memory.tier import TextSearchable
from kaizen_core.memory.urls import open_tier
from kaizen_core.state import AgentState, StateManager, open_store
from kaizen_postgres.migrations import LATEST
from kaizen_postgres.store import PostgresCheckpointStore
from kaizen_postgres.tier import PostgresMemoryTier


def test_entry_point_registers_scheme_and_alias() -> None:
    plugins.reset()
    registry = plugins.get_registry()
    for scheme in ("postgresql", "postgres"):
        assert registry.load("storage", scheme) is PostgresCheckpointStore
        assert registry.load("memory_tier", scheme) is PostgresMemoryTier
    assert registry.get("storage", "postgresql").distribution == "kaizen-postgres"


def test_importing_the_plugin_does_not_import_asyncpg() -> None:
    code = (
        "import sys, kaizen_core, kaizen_postgres; from kaizen_core import plugins; plugins.get_registry(); "
        "print('asyncpg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.anyio
async def test_state_manager_from_url_and_alias(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        manager = StateManager(url)
        assert isinstance(manager.storage, PostgresCheckpointStore)
        state = AgentState(agent_id="url-agent", conversation_history=[{"role": "user", "content": url[:10]}])
        checkpoint_id = await manager.save_checkpoint(state)
        assert checkpoint_id is not None
        assert await StateManager(url).load_checkpoint(checkpoint_id) == state
        await manager.close()


@pytest.mark.anyio
async def test_migrations_run_once_even_when_racing(fresh_pg_url: str) -> None:
    stores = [PostgresCheckpointStore.from_url(fresh_pg_url) for _ in range(4)]
    applied: list[list[int]] = []

    async def migrate(store: PostgresCheckpointStore) -> None:
        applied.append(await store.migrate())

    async with anyio.create_task_group() as tg:
        for store in stores:
            tg.start_soon(migrate, store)
    assert sorted(applied, key=len) == [[], [], [], list(range(1, LATEST + 1))]
    assert await stores[0].migrate() == []
    conn = await asyncpg.connect(fresh_pg_url)
    versions = [r["version"] for r in await conn.fetch("SELECT version FROM kaizen_schema_migrations ORDER BY 1")]
    indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'kaizen%'")}
    column_types = dict(
        await conn.fetch(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('kaizen_checkpoints', 'kaizen_memory')"
        )
    )
    await conn.close()
    assert versions == list(range(1, LATEST + 1))
    assert {"kaizen_checkpoints_agent_time", "kaizen_journal_stream", "kaizen_memory_search"} <= indexes
    assert column_types["kaizen_checkpoints.meta"] == "jsonb"
    assert column_types["kaizen_checkpoints.payload"] == "bytea"
    assert column_types["kaizen_memory.value"] == "jsonb"
    for store in stores:
        await store.close()


@pytest.mark.anyio
async def test_first_use_migrates_automatically(fresh_pg_url: str) -> None:
    tier = open_tier(fresh_pg_url, namespace="auto")
    await tier.put("k", {"v": 1})
    assert await tier.get("k") == {"v": 1}
    await tier.close()


@pytest.mark.anyio
async def test_list_uses_the_agent_time_index(pg_url: str) -> None:
    store = open_store(pg_url)
    manager = StateManager(store, retention_count=None)
    await manager.save_checkpoint(AgentState(agent_id="indexed"))
    conn = await asyncpg.connect(pg_url)
    await conn.execute("SET enable_seqscan = off")
    plan = "\n".join(
        r[0]
        for r in await conn.fetch(
            "EXPLAIN SELECT checkpoint_id FROM kaizen_checkpoints WHERE agent_id = 'indexed' "
            "ORDER BY created_at DESC, step_number DESC"
        )
    )
    await conn.close()
    assert "kaizen_checkpoints_agent_time" in plan
    await store.close()


@pytest.mark.anyio
async def test_full_text_search(pg_url: str) -> None:
    tier = PostgresMemoryTier.from_url(pg_url, namespace="fts")
    other = PostgresMemoryTier.from_url(pg_url, namespace="fts-other")
    assert isinstance(tier, TextSearchable)
    await tier.put("fact/1", {"content": "The user prefers dark roasted coffee in the morning"})
    await tier.put("fact/2", "Deploys happen on Tuesdays; coffee machine is broken")
    await tier.put("fact/3", {"content": "Cats are independent animals"})
    await tier.put("note/1", {"content": "coffee tasting notes", "tag": "x"})
    await tier.put("gone", {"content": "coffee that expires"}, ttl=0.2)
    await tier.put("numbers", [1, 2, 3])
    await other.put("fact/1", {"content": "coffee in another namespace"})

    hits = await tier.search_text("Coffee mornings", limit=10)
    keys = [k for k, _ in hits]
    assert set(keys) - {"gone"} == {"fact/1", "fact/2", "note/1"}  # any word matches; other namespace never
    scores = dict(hits)
    assert scores["fact/1"] > scores["fact/2"]  # both words (stemmed: mornings -> morning) beat one
    assert [s for _, s in hits] == sorted(scores.values(), reverse=True)
    assert {k for k, _ in await tier.search_text("coffee", prefix="fact/")} == {"fact/1", "fact/2"}
    assert len(await tier.search_text("coffee", limit=1)) == 1
    assert await tier.search_text("'; DROP TABLE kaizen_memory; --") == []
    assert await tier.search_text("   ") == []
    with anyio.fail_after(60):  # bounds a hang only
        while "gone" in [k for k, _ in await tier.search_text("expires")]:
            await anyio.sleep(0.05)
    for t in (tier, other):
        await t.clear()
        await t.close()


def test_kaizen_storage_migrate_cli(fresh_pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.cli import main

    assert main(["storage", "migrate", fresh_pg_url]) == 0
    assert capsys.readouterr().out.strip() == str(list(range(1, LATEST + 1)))
    assert main(["storage", "migrate", fresh_pg_url]) == 0
    assert capsys.readouterr().out.strip() == "[]"  # already current
