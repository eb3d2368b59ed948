"""Versioned schema migrations, applied once per database under an advisory lock.

Each migration runs in the same transaction as its bookkeeping row, so a crash leaves
the schema at a known version; concurrent processes wait on the advisory lock and
then find the work done. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from typing import Any

#: arbitrary constant: the advisory lock every Kaizen process takes while migrating
LOCK_ID = 0x4B41495A454E  # "KAIZEN"

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "checkpoints and journals",
        """
        CREATE TABLE kaizen_checkpoints (
            checkpoint_id text PRIMARY KEY,
            agent_id      text NOT NULL,
            created_at    double precision NOT NULL,
            step_number   bigint NOT NULL,
            meta          jsonb NOT NULL,
            payload       bytea NOT NULL,
            written_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX kaizen_checkpoints_agent_time
            ON kaizen_checkpoints (agent_id, created_at DESC, step_number DESC);
        CREATE TABLE kaizen_journal (
            id         bigserial PRIMARY KEY,
            stream     text NOT NULL,
            token      uuid NOT NULL UNIQUE,
            record     bytea NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX kaizen_journal_stream ON kaizen_journal (stream, id);
        """,
    ),
    (
        2,
        "memory tier",
        """
        CREATE TABLE kaizen_memory (
            namespace  text NOT NULL,
            key        text NOT NULL,
            value      jsonb NOT NULL,
            expires_at double precision,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (namespace, key)
        );
        CREATE INDEX kaizen_memory_expires ON kaizen_memory (expires_at) WHERE expires_at IS NOT NULL;
        """,
    ),
    (
        3,
        "memory full-text search",
        """
        ALTER TABLE kaizen_memory ADD COLUMN search tsvector GENERATED ALWAYS AS (
            to_tsvector('english'::regconfig, CASE
                WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}'
                WHEN jsonb_typeof(value) = 'object' AND jsonb_typeof(value -> 'content') = 'string'
                    THEN value ->> 'content'
                ELSE '' END)
        ) STORED;
        CREATE INDEX kaizen_memory_search ON kaizen_memory USING gin (search);
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]


async def apply_migrations(conn: Any) -> list[int]:
    """Bring the database to :data:`LATEST`; returns the versions applied now ([] when current)."""
    applied_now: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS kaizen_schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM kaizen_schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO kaizen_schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(version)
    return applied_now
