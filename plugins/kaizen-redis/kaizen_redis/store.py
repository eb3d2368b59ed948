"""``RedisCheckpointStore``: checkpoints in Redis, selected by ``redis://`` URLs.

Keys (``P`` is the key prefix, default ``kaizen``)::

    P:ckpt:<checkpoint_id>     hash {meta: JSON, payload: bytes, agent: agent_id}
    P:ckpts:<agent_id>         sorted set of checkpoint ids (score created_at)
    P:agents                   set of agent ids with checkpoints
    P:journal:<stream>         list of records (append order)
    P:journal-ids:<stream>     set of record tokens (makes a retried append idempotent)

A write is one MULTI/EXEC transaction, so readers see a checkpoint whole or not at
all; deletes and index pruning are Lua scripts (atomic on the server). A delta chain is
read by one script (one round trip for any load) and a journal batch is appended by one
script (all of it or none). With ``ttl``
checkpoints and journals expire natively; expired ids are pruned from the indexes
lazily.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from redis.asyncio import Redis

from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError, ConfigError, StorageError
from kaizen_core.state.store import CheckpointMeta, CheckpointStore, Link
from kaizen_redis.connection import RedisConnection, split_url

_DELETE = """
local agent = redis.call('HGET', KEYS[1], 'agent')
if not agent then return 0 end
redis.call('DEL', KEYS[1])
local index = ARGV[1] .. agent
redis.call('ZREM', index, ARGV[2])
if redis.call('ZCARD', index) == 0 then redis.call('SREM', KEYS[2], agent) end
return 1
"""

# Drop ids whose checkpoint expired or vanished; returns the live count.
_PRUNE = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[1] .. id) == 0 then redis.call('ZREM', KEYS[1], id) end
end
local n = redis.call('ZCARD', KEYS[1])
if n == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n
"""

_APPEND = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[2]) end
if ARGV[3] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
"""


# A batch of journal records under one token: all appended once, or none.
_APPEND_MANY = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
end
if ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""

# Follow a delta chain on the server (the rule of kaizen_core.state.store.chain_base):
# returns meta, payload, meta, payload... newest first. ARGV: key prefix, id, known ids...
_READ_CHAIN = """
local known, seen, out = {}, {}, {}
for i = 3, #ARGV do known[ARGV[i]] = true end
local id = ARGV[2]
while id do
  local row = redis.call('HMGET', ARGV[1] .. id, 'meta', 'payload')
  if not row[1] then break end
  out[#out + 1] = row[1]
  out[#out + 1] = row[2] or ''
  seen[id] = true
  local ok, meta = pcall(cjson.decode, row[1])
  local base = nil
  if ok and type(meta) == 'table' and meta['kind'] == 'delta' and type(meta['base_checkpoint_id']) == 'string' then
    base = meta['base_checkpoint_id']
  end
  if base and (known[base] or seen[base]) then base = nil end
  id = base
end
return out
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisCheckpointStore(CheckpointStore):
    """Checkpoint store on Redis.

    Options (keyword or URL query): ``key_prefix`` (alias ``prefix``, default
    ``"kaizen"``) separates deployments sharing a server; ``ttl`` (seconds) makes
    checkpoints and journals expire. Connection options: ``max_connections``,
    ``retries``, ``backoff_base``, ``backoff_cap``, ``socket_timeout``, ``connect_timeout``.
    """

    scheme = "redis"

    def __init__(self, url: str, *, key_prefix: str = "kaizen", ttl: float | None = None, **options: Any) -> None:
        if ttl is not None and ttl <= 0:
            raise ConfigError(f"ttl must be positive seconds, got {ttl!r}")
        self.conn = RedisConnection(url, **options)
        self.url = self.conn.display_url
        self.key_prefix = key_prefix
        self.ttl = ttl
        self._scripts: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisCheckpointStore:
        clean, query = split_url(url)
        prefix = options.pop("key_prefix", None) or options.pop("prefix", None)
        prefix = prefix or query.get("key_prefix") or query.get("prefix") or "kaizen"
        ttl = options.pop("ttl", None)
        if ttl is None and query.get("ttl"):
            ttl = float(query["ttl"])
        return cls(clean, key_prefix=prefix, ttl=ttl, **options)

    def __repr__(self) -> str:
        return f"RedisCheckpointStore({self.url!r}, key_prefix={self.key_prefix!r})"

    # -- keys ---------------------------------------------------------------------------
    def _ckpt(self, checkpoint_id: str) -> str:
        return f"{self.key_prefix}:ckpt:{checkpoint_id}"

    def _index(self, agent_id: str) -> str:
        return f"{self.key_prefix}:ckpts:{agent_id}"

    @property
    def _agents(self) -> str:
        return f"{self.key_prefix}:agents"

    def _script(self, client: Redis, source: str) -> Any:
        key = f"{id(client)}:{source}"
        if key not in self._scripts:
            self._scripts[key] = client.register_script(source)
        return self._scripts[key]

    def _ttl_ms(self) -> int | None:
        return None if self.ttl is None else max(1, int(self.ttl * 1000))

    def location(self, checkpoint_id: str) -> str:
        return f"{self.url} key {self._ckpt(checkpoint_id)}"

    # -- contract -----------------------------------------------------------------------
    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        async def op(client: Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                key = self._ckpt(meta.checkpoint_id)
                pipe.delete(key)
                pipe.hset(key, mapping={"meta": meta.model_dump_json(), "payload": payload, "agent": meta.agent_id})
                ttl = self._ttl_ms()
                if ttl is not None:
                    pipe.pexpire(key, ttl)
                pipe.zadd(self._index(meta.agent_id), {meta.checkpoint_id: meta.created_at})
                pipe.sadd(self._agents, meta.agent_id)
                await pipe.execute()

        await self.conn.call("write", op, StorageError)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        async def op(client: Redis) -> list[Any]:
            return list(await client.hmget(self._ckpt(checkpoint_id), ["meta", "payload"]))

        raw_meta, payload = await self.conn.call("read", op, StorageError)
        if raw_meta is None:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} not found in {self.url} (prefix {self.key_prefix!r})",
                hint="list the agent's checkpoints; with a ttl, old checkpoints expire",
            )
        if payload is None:
            raise CheckpointCorruptError(f"checkpoint {checkpoint_id!r} in {self.url} has no payload")
        return self._parse_meta(checkpoint_id, raw_meta), bytes(payload)

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        async def op(client: Redis) -> builtins.list[Any]:
            script = self._script(client, _READ_CHAIN)
            return list(await script(keys=[], args=[f"{self.key_prefix}:ckpt:", checkpoint_id, *known]))

        flat = await self.conn.call("read_chain", op, StorageError)
        if not flat:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint_id!r} not found in {self.url} (prefix {self.key_prefix!r})",
                hint="list the agent's checkpoints; with a ttl, old checkpoints expire",
            )
        links: builtins.list[Link] = []
        for raw_meta, payload in zip(flat[::2], flat[1::2], strict=True):
            meta = self._parse_meta(checkpoint_id, raw_meta)
            links.append((meta, payload if isinstance(payload, bytes) else str(payload).encode()))
        return links

    def _parse_meta(self, checkpoint_id: str, raw: bytes | str) -> CheckpointMeta:
        try:
            return CheckpointMeta.model_validate_json(raw)
        except ValueError as exc:
            raise CheckpointCorruptError(
                f"metadata of checkpoint {checkpoint_id!r} in {self.url} (key {self._ckpt(checkpoint_id)}) is unreadable: {exc}"
            ) from exc

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        async def op(client: Redis) -> tuple[builtins.list[str], builtins.list[Any]]:
            ids = [_text(i) for i in await client.zrange(self._index(agent_id), 0, -1)]
            if not ids:
                return [], []
            async with client.pipeline(transaction=False) as pipe:
                for checkpoint_id in ids:
                    pipe.hget(self._ckpt(checkpoint_id), "meta")
                raws = await pipe.execute()
            if any(raw is None for raw in raws):
                await self._script(client, _PRUNE)(
                    keys=[self._index(agent_id), self._agents], args=[f"{self.key_prefix}:ckpt:", agent_id]
                )
            return ids, raws

        ids, raws = await self.conn.call("list", op, StorageError)
        metas = [self._parse_meta(i, raw) for i, raw in zip(ids, raws, strict=True) if raw is not None]
        metas = [m for m in metas if m.agent_id == agent_id]
        metas.sort(key=lambda m: (m.created_at, m.step_number), reverse=True)
        return metas

    async def delete(self, checkpoint_id: str) -> bool:
        async def op(client: Redis) -> int:
            return int(
                await self._script(client, _DELETE)(
                    keys=[self._ckpt(checkpoint_id), self._agents], args=[f"{self.key_prefix}:ckpts:", checkpoint_id]
                )
            )

        return bool(await self.conn.call("delete", op, StorageError))

    async def list_agents(self) -> builtins.list[str]:
        async def op(client: Redis) -> builtins.list[str]:
            agents = sorted(_text(a) for a in await client.smembers(self._agents))
            prune = self._script(client, _PRUNE)
            live = []
            for agent in agents:
                n = await prune(keys=[self._index(agent), self._agents], args=[f"{self.key_prefix}:ckpt:", agent])
                if int(n) > 0:
                    live.append(agent)
            return live

        return await self.conn.call("list_agents", op, StorageError)

    async def journal_append(self, stream: str, record: bytes) -> None:
        token = uuid.uuid4().hex
        ttl = self._ttl_ms()

        async def op(client: Redis) -> None:
            await self._script(client, _APPEND)(
                keys=[f"{self.key_prefix}:journal:{stream}", f"{self.key_prefix}:journal-ids:{stream}"],
                args=[token, record, "" if ttl is None else str(ttl)],
            )

        await self.conn.call("journal_append", op, StorageError)

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        if not records:
            return
        token = uuid.uuid4().hex  # one token for the batch: a retry after a lost reply appends nothing twice
        ttl = self._ttl_ms()

        async def op(client: Redis) -> None:
            await self._script(client, _APPEND_MANY)(
                keys=[f"{self.key_prefix}:journal:{stream}", f"{self.key_prefix}:journal-ids:{stream}"],
                args=[token, "" if ttl is None else str(ttl), *records],
            )

        await self.conn.call("journal_append_many", op, StorageError)

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        async def op(client: Redis) -> builtins.list[bytes]:
            records = await client.lrange(f"{self.key_prefix}:journal:{stream}", 0, -1)
            return [r if isinstance(r, bytes) else str(r).encode() for r in records]

        return await self.conn.call("journal_read", op, StorageError)

    async def journal_delete(self, stream: str) -> None:
        async def op(client: Redis) -> None:
            await client.delete(f"{self.key_prefix}:journal:{stream}", f"{self.key_prefix}:journal-ids:{stream}")

        await self.conn.call("journal_delete", op, StorageError)

    async def ping(self) -> None:
        """Check the server answers (CHECKPOINT_003 when not)."""

        async def op(client: Redis) -> None:
            await client.ping()

        await self.conn.call("ping", op, StorageError)

    async def close(self) -> None:
        await self.conn.close()
