"""``PostgresMemoryTier``: a memory tier in PostgreSQL (``postgresql://`` URLs).

One table, ``kaizen_memory`` (namespace, key) -> JSONB value with an optional expiry
(epoch seconds on the *server's* clock, so clients with skewed clocks agree). Expired
rows are invisible to every read and purged now and then. A generated ``tsvector``
column with a GIN index gives :meth:`PostgresMemoryTier.search_text` (full-text search
for long-term memory): the indexed text is the value when it is a string, or its
``"content"`` field.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import asyncpg

from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, decode_value, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_postgres.connection import PostgresConnection

_NOW = "extract(epoch from clock_timestamp())"
_LIVE = f"(expires_at IS NULL OR expires_at > {_NOW})"
_EXPIRES = f"CASE WHEN $4::float8 IS NULL THEN NULL ELSE {_NOW} + $4::float8 END"
_UPSERT = f"""
INSERT INTO kaizen_memory (namespace, key, value, expires_at) VALUES ($1, $2, $3::jsonb, {_EXPIRES})
ON CONFLICT (namespace, key) DO UPDATE SET
    value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()
"""
_WORD = re.compile(r"\w+", re.UNICODE)
#: purge expired rows of the namespace after this many puts from one tier instance
_PURGE_EVERY = 200


class PostgresMemoryTier(MemoryTier):
    """Memory tier on PostgreSQL. Options: those of :class:`PostgresConnection`."""

    scheme = "postgresql"

    def __init__(self, url: str, *, namespace: str = "default", **options: Any) -> None:
        super().__init__(namespace)
        self.conn = PostgresConnection(url, **options)
        self.url = self.conn.display_url
        self._counters = TierStats(name="postgresql")
        self._latency = LatencyRecorder()
        self._puts_since_purge = 0

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> PostgresMemoryTier:
        return cls(url, namespace=namespace, **options)

    def __repr__(self) -> str:
        return f"PostgresMemoryTier({self.url!r}, namespace={self.namespace!r})"

    async def migrate(self) -> list[int]:
        """Create or upgrade the tables now; returns the versions applied."""
        return await self.conn.migrate(MemoryBackendError)

    async def get(self, key: str) -> Any | None:
        check_key(key)
        started = time.perf_counter()

        async def op(c: asyncpg.Connection) -> Any:
            return await c.fetchval(
                f"SELECT value::text FROM kaizen_memory WHERE namespace = $1 AND key = $2 AND {_LIVE}",
                self.namespace, key,
            )  # fmt: skip

        raw = await self.conn.run("get", op, MemoryBackendError)
        self._latency.add(time.perf_counter() - started)
        if raw is None:
            self._counters.misses += 1
            return None
        self._counters.hits += 1
        return decode_value(raw)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.put_many({key: value}, ttl=ttl)

    async def put_many(self, items: dict[str, Any], ttl: float | None = None) -> None:
        rows = [(self.namespace, check_key(k), encode_value(v), check_ttl(ttl)) for k, v in items.items()]
        if not rows:
            return
        started = time.perf_counter()
        self._puts_since_purge += len(rows)
        purge = self._puts_since_purge >= _PURGE_EVERY

        async def op(c: asyncpg.Connection) -> None:
            if len(rows) == 1:
                await c.execute(_UPSERT, *rows[0])
            else:
                await c.executemany(_UPSERT, rows)
            if purge:
                await c.execute(
                    f"DELETE FROM kaizen_memory WHERE namespace = $1 AND expires_at <= {_NOW}", self.namespace
                )

        await self.conn.run("put", op, MemoryBackendError)
        if purge:
            self._puts_since_purge = 0
        self._latency.add(time.perf_counter() - started)
        self._counters.puts += len(rows)

    async def delete(self, key: str) -> bool:
        check_key(key)

        async def op(c: asyncpg.Connection) -> Any:
            return await c.fetchval(
                f"DELETE FROM kaizen_memory WHERE namespace = $1 AND key = $2 RETURNING {_LIVE}", self.namespace, key
            )

        live = bool(await self.conn.run("delete", op, MemoryBackendError))
        if live:
            self._counters.deletes += 1
        return live

    async def exists(self, key: str) -> bool:
        check_key(key)

        async def op(c: asyncpg.Connection) -> Any:
            return await c.fetchval(
                f"SELECT 1 FROM kaizen_memory WHERE namespace = $1 AND key = $2 AND {_LIVE}", self.namespace, key
            )

        return bool(await self.conn.run("exists", op, MemoryBackendError))

    async def keys(self, prefix: str = "") -> list[str]:
        async def op(c: asyncpg.Connection) -> list[Any]:
            return await c.fetch(
                f"SELECT key FROM kaizen_memory WHERE namespace = $1 AND left(key, $2) = $3 AND {_LIVE}",
                self.namespace, len(prefix), prefix,
            )  # fmt: skip

        return sorted(r["key"] for r in await self.conn.run("keys", op, MemoryBackendError))

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """Keys and values under ``prefix`` in one query."""

        async def op(c: asyncpg.Connection) -> list[Any]:
            return await c.fetch(
                f"SELECT key, value::text AS value FROM kaizen_memory WHERE namespace = $1 AND left(key, $2) = $3 "
                f"AND {_LIVE}",
                self.namespace, len(prefix), prefix,
            )  # fmt: skip

        rows = await self.conn.run("items", op, MemoryBackendError)
        return sorted(((r["key"], decode_value(r["value"])) for r in rows), key=lambda kv: kv[0])

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The live values of ``keys`` in one query (``key = ANY($2)``, served by the primary key)."""
        wanted = [check_key(k) for k in dict.fromkeys(keys)]
        if not wanted:
            return {}

        async def op(c: asyncpg.Connection) -> list[Any]:
            return await c.fetch(
                f"SELECT key, value::text AS value FROM kaizen_memory WHERE namespace = $1 AND key = ANY($2::text[]) "
                f"AND {_LIVE}",
                self.namespace, wanted,
            )  # fmt: skip

        rows = await self.conn.run("get_many", op, MemoryBackendError)
        found = {r["key"]: decode_value(r["value"]) for r in rows}
        return {key: value for key, value in found.items() if value is not None}

    async def clear(self) -> None:
        async def op(c: asyncpg.Connection) -> None:
            await c.execute("DELETE FROM kaizen_memory WHERE namespace = $1", self.namespace)

        await self.conn.run("clear", op, MemoryBackendError)

    async def size(self) -> int:
        async def op(c: asyncpg.Connection) -> Any:
            return await c.fetchval(
                f"SELECT count(*) FROM kaizen_memory WHERE namespace = $1 AND {_LIVE}", self.namespace
            )

        return int(await self.conn.run("size", op, MemoryBackendError))

    async def stats(self) -> TierStats:
        return self._latency.report(self._counters, size=await self.size())

    async def search_text(self, query: str, limit: int = 10, prefix: str = "") -> list[tuple[str, float]]:
        """Full-text search (PostgreSQL ``tsvector``, English stemming) over this namespace.

        Any word of ``query`` may match; results are ``(key, score)`` best first
        (``ts_rank_cd``, higher is better). Expired keys never match.
        """
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        if not words or limit <= 0:
            return []
        tsquery = " | ".join(f"'{w}'" for w in words)

        async def op(c: asyncpg.Connection) -> list[Any]:
            return await c.fetch(
                "SELECT key, ts_rank_cd(search, q) AS score FROM kaizen_memory, to_tsquery('english', $1) AS q "
                f"WHERE namespace = $2 AND left(key, $3) = $4 AND search @@ q AND {_LIVE} "
                "ORDER BY score DESC, key LIMIT $5",
                tsquery, self.namespace, len(prefix), prefix, limit,
            )  # fmt: skip

        rows = await self.conn.run("search_text", op, MemoryBackendError)
        return [(r["key"], float(r["score"])) for r in rows]

    async def close(self) -> None:
        await self.conn.close()
