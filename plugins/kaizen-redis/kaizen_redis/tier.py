"""``RedisMemoryTier``: a memory tier on Redis with native TTL (``redis://`` URLs).

Keys (``P`` is the key prefix, ``NS`` the percent-encoded namespace, so namespaces
can never overlap)::

    P:mem:NS:<key>     the JSON value (SET ... PX ttl: Redis expires it natively)
    P:memidx:NS        sorted set of the namespace's keys (score: expiry in ms, inf)

Writes and deletes update both atomically (Lua); ``keys``/``items``/``size``/``clear`` read the
index, never ``SCAN`` the whole database, and drop entries whose value expired.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis

from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, decode_value, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_redis.connection import RedisConnection, split_url

_NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

_PUT = f"""
{_NOW_MS}
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], 'inf', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
end
return 1
"""

_DELETE = """
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
"""

_KEYS = f"""
{_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = {{}}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. m) == 1 then table.insert(live, m) else redis.call('ZREM', KEYS[1], m) end
end
return live
"""

_ITEMS = f"""
{_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {{}}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[2])) == ARGV[2] then
    local v = redis.call('GET', ARGV[1] .. m)
    if v then table.insert(out, m) table.insert(out, v) else redis.call('ZREM', KEYS[1], m) end
  end
end
return out
"""

_CLEAR = """
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do redis.call('DEL', ARGV[1] .. m) end
redis.call('DEL', KEYS[1])
return 1
"""


class RedisMemoryTier(MemoryTier):
    """Memory tier on Redis. Options: ``key_prefix`` (default ``"kaizen"``) and the
    connection options of :class:`kaizen_redis.connection.RedisConnection`."""

    scheme = "redis"

    def __init__(self, url: str, *, namespace: str = "default", key_prefix: str = "kaizen", **options: Any) -> None:
        super().__init__(namespace)
        self.conn = RedisConnection(url, **options)
        self.url = self.conn.display_url
        self.key_prefix = key_prefix
        ns = quote(namespace, safe="")
        self._value_prefix = f"{key_prefix}:mem:{ns}:"
        self._index = f"{key_prefix}:memidx:{ns}"
        self._counters = TierStats(name="redis")
        self._latency = LatencyRecorder()
        self._scripts: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> RedisMemoryTier:
        clean, query = split_url(url)
        prefix = options.pop("key_prefix", None) or options.pop("prefix", None)
        prefix = prefix or query.get("key_prefix") or query.get("prefix") or "kaizen"
        options.pop("ttl", None)
        return cls(clean, namespace=namespace, key_prefix=prefix, **options)

    def __repr__(self) -> str:
        return f"RedisMemoryTier({self.url!r}, namespace={self.namespace!r})"

    def _script(self, client: Redis, source: str) -> Any:
        key = f"{id(client)}:{source}"
        if key not in self._scripts:
            self._scripts[key] = client.register_script(source)
        return self._scripts[key]

    async def get(self, key: str) -> Any | None:
        check_key(key)
        started = time.perf_counter()

        async def op(client: Redis) -> Any:
            return await client.get(self._value_prefix + key)

        raw = await self.conn.call("get", op, MemoryBackendError)
        self._latency.add(time.perf_counter() - started)
        if raw is None:
            self._counters.misses += 1
            return None
        self._counters.hits += 1
        return decode_value(raw)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        check_key(key)
        ttl = check_ttl(ttl)
        data = encode_value(value)
        started = time.perf_counter()
        ttl_ms = "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))

        async def op(client: Redis) -> None:
            await self._script(client, _PUT)(keys=[self._value_prefix + key, self._index], args=[data, ttl_ms, key])

        await self.conn.call("put", op, MemoryBackendError)
        self._latency.add(time.perf_counter() - started)
        self._counters.puts += 1

    async def delete(self, key: str) -> bool:
        check_key(key)

        async def op(client: Redis) -> int:
            return int(await self._script(client, _DELETE)(keys=[self._value_prefix + key, self._index], args=[key]))

        deleted = bool(await self.conn.call("delete", op, MemoryBackendError))
        if deleted:
            self._counters.deletes += 1
        return deleted

    async def exists(self, key: str) -> bool:
        check_key(key)

        async def op(client: Redis) -> int:
            return int(await client.exists(self._value_prefix + key))

        return bool(await self.conn.call("exists", op, MemoryBackendError))

    async def keys(self, prefix: str = "") -> list[str]:
        async def op(client: Redis) -> list[str]:
            raw = await self._script(client, _KEYS)(keys=[self._index], args=[self._value_prefix])
            return [k.decode() if isinstance(k, bytes) else k for k in raw]

        live = await self.conn.call("keys", op, MemoryBackendError)
        return sorted(k for k in live if k.startswith(prefix))

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """Keys and values under ``prefix`` in one script call (one round trip)."""

        async def op(client: Redis) -> list[Any]:
            return list(await self._script(client, _ITEMS)(keys=[self._index], args=[self._value_prefix, prefix]))

        flat = await self.conn.call("items", op, MemoryBackendError)
        pairs = []
        for i in range(0, len(flat), 2):
            key = flat[i].decode() if isinstance(flat[i], bytes) else flat[i]
            pairs.append((key, decode_value(flat[i + 1])))
        pairs.sort(key=lambda kv: kv[0])
        return pairs

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The live values of ``keys`` in one ``MGET`` (expired values are gone from redis already)."""
        wanted = [check_key(k) for k in dict.fromkeys(keys)]
        if not wanted:
            return {}

        async def op(client: Redis) -> list[Any]:
            return list(await client.mget([self._value_prefix + k for k in wanted]))

        raw = await self.conn.call("get_many", op, MemoryBackendError)
        found = {key: decode_value(value) for key, value in zip(wanted, raw, strict=True) if value is not None}
        return {key: value for key, value in found.items() if value is not None}

    async def clear(self) -> None:
        async def op(client: Redis) -> None:
            await self._script(client, _CLEAR)(keys=[self._index], args=[self._value_prefix])

        await self.conn.call("clear", op, MemoryBackendError)

    async def size(self) -> int:
        return len(await self.keys())

    async def stats(self) -> TierStats:
        return self._latency.report(self._counters, size=await self.size())

    async def ping(self) -> None:
        """Check the server answers (MEMORY_001 when not)."""

        async def op(client: Redis) -> None:
            await client.ping()

        await self.conn.call("ping", op, MemoryBackendError)

    async def close(self) -> None:
        await self.conn.close()
