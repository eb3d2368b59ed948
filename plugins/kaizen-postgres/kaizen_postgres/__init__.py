"""kaizen-postgres: checkpoints and a memory tier on PostgreSQL (``postgresql://`` URLs).

Only hookimpls live here; ``asyncpg`` is imported when a store or tier is created.
"""

from __future__ import annotations

from kaizen_core.hookspecs import Register, hookimpl


@hookimpl
def register_storage_backends(register: Register) -> None:
    register(
        "postgresql",
        "kaizen_postgres.store:PostgresCheckpointStore",
        aliases=["postgres"],
        description="Checkpoints in PostgreSQL (asyncpg pool, versioned migrations, JSONB metadata)",
    )


@hookimpl
def register_memory_tiers(register: Register) -> None:
    register(
        "postgresql",
        "kaizen_postgres.tier:PostgresMemoryTier",
        aliases=["postgres"],
        description="Memory tier in PostgreSQL (JSONB values, TTL, full-text search)",
    )
