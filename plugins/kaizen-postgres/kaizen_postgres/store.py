"""``PostgresCheckpointStore``: checkpoints in PostgreSQL (``postgresql://`` URLs).

Tables (created by :mod:`kaizen_postgres.migrations` on first use):
``kaizen_checkpoints`` (metadata as JSONB, payload as bytea, indexed by agent_id +
time) and ``kaizen_journal`` (one row per record, ordered by a bigserial id). A write
is one ``INSERT ... ON CONFLICT DO UPDATE`` statement: atomic, and safe under
concurrent writers from any number of processes. A delta chain is read by one recursive
query (one round trip for any load); a journal batch is one transaction.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg

from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError, StorageError
from kaizen_core.state.store import CheckpointMeta, CheckpointStore, Link
from kaizen_postgres.connection import PostgresConnection

_UPSERT = """
INSERT INTO kaizen_checkpoints (checkpoint_id, agent_id, created_at, step_number, meta, payload)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (checkpoint_id) DO UPDATE SET
    agent_id = EXCLUDED.agent_id, created_at = EXCLUDED.created_at, step_number = EXCLUDED.step_number,
    meta = EXCLUDED.meta, payload = EXCLUDED.payload, written_at = now()
"""


# Follow a delta chain (the rule of kaizen_core.state.store.chain_base), newest first.
_READ_CHAIN = """
WITH RECURSIVE chain AS (
    SELECT checkpoint_id, meta, payload, 0 AS n, ARRAY[checkpoint_id] AS path
    FROM kaizen_checkpoints WHERE checkpoint_id = $1
  UNION ALL
    SELECT c.checkpoint_id, c.meta, c.payload, chain.n + 1, chain.path || c.checkpoint_id
    FROM chain JOIN kaizen_checkpoints c ON c.checkpoint_id = chain.meta->>'base_checkpoint_id'
    WHERE chain.meta->>'kind' = 'delta'
      AND NOT (c.checkpoint_id = ANY($2::text[]))
      AND NOT (c.checkpoint_id = ANY(chain.path))
)
SELECT checkpoint_id, meta::text AS meta, payload FROM chain ORDER BY n
"""


class PostgresCheckpointStore(CheckpointStore):
    """Checkpoint store on PostgreSQL through an asyncpg pool.

    Options: ``min_size``/``max_size`` (pool), ``retries``, ``backoff_base``,
    ``backoff_cap``, ``connect_timeout``, ``command_timeout``, ``migrate`` (default True:
    apply migrations on first use; set False when a DBA runs ``kaizen storage migrate``).
    """

    scheme = "postgresql"

    def __init__(self, url: str, **options: Any) -> None:
        self.conn = PostgresConnection(url, **options)
        self.url = self.conn.display_url

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresCheckpointStore:
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"PostgresCheckpointStore({self.url!r})"

    def location(self, checkpoint_id: str) -> str:
        return f"{self.url} table kaizen_checkpoints, checkpoint_id={checkpoint_id!r}"

    async def migrate(self) -> list[int]:
        """Create or upgrade the tables now (``kaizen storage migrate URL``); returns versions applied."""
        return await self.conn.migrate(StorageError)

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        async def op(c: asyncpg.Connection) -> None:
            await c.execute(
                _UPSERT, meta.checkpoint_id, meta.agent_id, meta.created_at, meta.step_number,
                meta.model_dump_json(), payload,
            )  # fmt: skip

        await self.conn.run("write", op, StorageError)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        async def op(c: asyncpg.Connection) -> Any:
            return await c.fetchrow(
                "SELECT meta::text AS meta, payload FROM kaizen_checkpoints WHERE checkpoint_id = $1", checkpoint_id
            )

        row = await self.conn.run("read", op, StorageError)
        if row is None:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} not found in {self.url}", hint="list the agent's checkpoints"
            )
        return self._meta(checkpoint_id, row["meta"]), bytes(row["payload"])

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        async def op(c: asyncpg.Connection) -> builtins.list[Any]:
            return await c.fetch(_READ_CHAIN, checkpoint_id, list(known))

        rows = await self.conn.run("read_chain", op, StorageError)
        if not rows:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} not found in {self.url}", hint="list the agent's checkpoints"
            )
        return [(self._meta(r["checkpoint_id"], r["meta"]), bytes(r["payload"])) for r in rows]

    def _meta(self, checkpoint_id: str, raw: str) -> CheckpointMeta:
        try:
            return CheckpointMeta.model_validate_json(raw)
        except ValueError as exc:
            raise CheckpointCorruptError(
                f"metadata of checkpoint {checkpoint_id!r} at {self.location(checkpoint_id)} is unreadable: {exc}"
            ) from exc

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        async def op(c: asyncpg.Connection) -> builtins.list[Any]:
            return await c.fetch(
                "SELECT checkpoint_id, meta::text AS meta FROM kaizen_checkpoints WHERE agent_id = $1 "
                "ORDER BY created_at DESC, step_number DESC",
                agent_id,
            )

        return [self._meta(r["checkpoint_id"], r["meta"]) for r in await self.conn.run("list", op, StorageError)]

    async def delete(self, checkpoint_id: str) -> bool:
        async def op(c: asyncpg.Connection) -> str:
            return await c.execute("DELETE FROM kaizen_checkpoints WHERE checkpoint_id = $1", checkpoint_id)

        status = await self.conn.run("delete", op, StorageError)
        return status.split()[-1] != "0"

    async def list_agents(self) -> builtins.list[str]:
        async def op(c: asyncpg.Connection) -> builtins.list[Any]:
            return await c.fetch("SELECT DISTINCT agent_id FROM kaizen_checkpoints ORDER BY agent_id")

        return [r["agent_id"] for r in await self.conn.run("list_agents", op, StorageError)]

    async def journal_append(self, stream: str, record: bytes) -> None:
        token = uuid.uuid4()  # a retried insert after a lost reply is not recorded twice

        async def op(c: asyncpg.Connection) -> None:
            await c.execute(
                "INSERT INTO kaizen_journal (stream, token, record) VALUES ($1, $2, $3) ON CONFLICT (token) DO NOTHING",
                stream, token, record,
            )  # fmt: skip

        await self.conn.run("journal_append", op, StorageError)

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        rows = [(stream, uuid.uuid4(), record) for record in records]  # tokens: a retried batch lands once

        async def op(c: asyncpg.Connection) -> None:
            async with c.transaction():
                await c.executemany(
                    "INSERT INTO kaizen_journal (stream, token, record) VALUES ($1, $2, $3) ON CONFLICT (token) DO NOTHING",
                    rows,
                )

        if rows:
            await self.conn.run("journal_append_many", op, StorageError)

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        async def op(c: asyncpg.Connection) -> builtins.list[Any]:
            return await c.fetch("SELECT record FROM kaizen_journal WHERE stream = $1 ORDER BY id", stream)

        return [bytes(r["record"]) for r in await self.conn.run("journal_read", op, StorageError)]

    async def journal_delete(self, stream: str) -> None:
        async def op(c: asyncpg.Connection) -> None:
            await c.execute("DELETE FROM kaizen_journal WHERE stream = $1", stream)

        await self.conn.run("journal_delete", op, StorageError)

    async def close(self) -> None:
        await self.conn.close()
