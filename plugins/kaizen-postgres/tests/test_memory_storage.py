"""PostgreSQLStorage (kaizen_core.memory.storage): resolved from the core, memories on a real PostgreSQL."""

from __future__ import annotations

import pytest

from kaizen_core.errors import ConfigError
from kaizen_core.memory import LongTermMemory
from kaizen_core.memory.storage import PostgreSQLStorage as CoreName
from kaizen_postgres.memory_storage import PostgreSQLStorage
from kaizen_postgres.tier import PostgresMemoryTier


def test_the_core_name_builds_the_plugin_class() -> None:
    storage = CoreName("postgresql://kaizen@localhost/kaizen")
    assert type(storage) is PostgreSQLStorage and isinstance(storage, CoreName)
    parts = CoreName(host="db.internal", port=5433, database="kz", user="me", password="p@ss:word")
    assert parts.url == "postgresql://me:p%40ss%3Aword@db.internal:5433/kz"
    assert "p%40ss" not in repr(parts)  # the password is not shown
    for bad in ({}, {"host": "h"}, {"database_url": "sqlite:///x.db"}, {"database_url": "postgresql://h/d", "host": "h"}):
        with pytest.raises(ConfigError):
            CoreName(**bad)


def test_long_term_memory_on_postgres_reopens_and_isolates_agents(pg_url: str) -> None:
    storage = CoreName(pg_url, max_size=2)
    memory = LongTermMemory(storage_backend=storage, agent_id="pg-bot")
    assert isinstance(memory.tier, PostgresMemoryTier) and memory.tier.namespace == "pg-bot"
    memory.forget(all=True)
    memory.add(content={"user_name": "Alice", "preferences": {"style": "formal"}}, importance=0.9, tags=["user_profile"])
    memory.add("Deploys happen on Fridays")
    (hit,) = memory.search("communication style")
    assert hit.content == {"user_name": "Alice", "preferences": {"style": "formal"}}
    other = LongTermMemory(storage_backend=storage, agent_id="another-bot")
    assert other.count() == 0
    again = LongTermMemory(storage_backend=storage, agent_id="pg-bot")
    assert again.count() == 2
    for m in (memory, other, again):
        m.close()
