"""``S3MemoryTier``: a cold (archival) memory tier on S3 (``s3://bucket/prefix``).

One object per key: ``P/mem/<namespace>/<key>`` holding gzip'd JSON, with the content
hash and the expiry (epoch seconds, when a TTL was given) in the object metadata.
Segments are percent-encoded, so namespaces never overlap and a key prefix maps to an
S3 listing prefix. Expired objects are invisible and deleted when next touched.

Cold means: every operation is an HTTP round trip, and ``keys``/``size`` issue one
HEAD per key (to honour TTLs). Use it below a hot/warm tier (``TierManager``), for
archives, not as a working memory.
"""

from __future__ import annotations

import time
from typing import Any

from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, decode_value, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_s3_storage.client import S3Client, dec, enc, pack, unless_missing, unpack


def _expired(metadata: dict[str, str], now: float) -> bool:
    expires = metadata.get("expires")
    return expires is not None and float(expires) <= now


class S3MemoryTier(MemoryTier):
    """Cold memory tier on S3. Options: those of :class:`kaizen_s3_storage.store.S3CheckpointStore`."""

    scheme = "s3"

    def __init__(self, url: str, *, namespace: str = "default", **options: Any) -> None:
        super().__init__(namespace)
        self.s3 = S3Client(url, **options)
        self.url = self.s3.url
        self.bucket = self.s3.location.bucket
        self._root = self.s3.location.key("mem", enc(namespace)) + "/"
        self._counters = TierStats(name="s3")
        self._latency = LatencyRecorder()

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> S3MemoryTier:
        return cls(url, namespace=namespace, **options)

    def __repr__(self) -> str:
        return f"S3MemoryTier({self.s3.describe()!r}, namespace={self.namespace!r})"

    def _key(self, key: str) -> str:
        return self._root + enc(key)

    def _live_head(self, client: Any, object_key: str, now: float) -> bool:
        """True when the object exists and has not expired (expired ones are deleted)."""
        head = unless_missing(client.head_object, Bucket=self.bucket, Key=object_key)
        if head is None:
            return False
        if _expired(head.get("Metadata", {}), now):
            client.delete_object(Bucket=self.bucket, Key=object_key)
            return False
        return True

    async def get(self, key: str) -> Any | None:
        object_key = self._key(check_key(key))
        started = time.perf_counter()

        def op(client: Any) -> tuple[bytes, dict[str, str]] | None:
            obj = unless_missing(client.get_object, Bucket=self.bucket, Key=object_key)
            if obj is None:
                return None
            body, metadata = obj["Body"].read(), obj.get("Metadata", {})
            if _expired(metadata, time.time()):
                client.delete_object(Bucket=self.bucket, Key=object_key)
                return None
            return body, metadata

        found = await self.s3.call("get", op, MemoryBackendError)
        self._latency.add(time.perf_counter() - started)
        if found is None:
            self._counters.misses += 1
            return None
        self._counters.hits += 1
        body, metadata = found
        try:
            text = unpack(body, metadata.get("sha256")).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise MemoryBackendError(f"memory object s3://{self.bucket}/{object_key} is damaged: {exc}") from exc
        return decode_value(text)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        object_key = self._key(check_key(key))
        ttl = check_ttl(ttl)
        body, digest = pack(encode_value(value).encode("utf-8"))
        started = time.perf_counter()
        metadata = {"sha256": digest}
        if ttl is not None:
            metadata["expires"] = repr(time.time() + ttl)

        def op(client: Any) -> None:
            client.put_object(
                Bucket=self.bucket, Key=object_key, Body=body, Metadata=metadata, ContentType="application/json"
            )

        await self.s3.call("put", op, MemoryBackendError)
        self._latency.add(time.perf_counter() - started)
        self._counters.puts += 1

    async def delete(self, key: str) -> bool:
        object_key = self._key(check_key(key))

        def op(client: Any) -> bool:
            live = self._live_head(client, object_key, time.time())
            if live:
                client.delete_object(Bucket=self.bucket, Key=object_key)
            return live

        deleted = await self.s3.call("delete", op, MemoryBackendError)
        if deleted:
            self._counters.deletes += 1
        return deleted

    async def exists(self, key: str) -> bool:
        object_key = self._key(check_key(key))
        return await self.s3.call("exists", lambda c: self._live_head(c, object_key, time.time()), MemoryBackendError)

    async def keys(self, prefix: str = "") -> list[str]:
        listing = self._root + enc(prefix)
        object_keys = await self.s3.call("keys", lambda c: self.s3.list_keys(c, listing), MemoryBackendError)
        now = time.time()

        def checker(object_key: str) -> Any:
            return lambda c: self._live_head(c, object_key, now)

        live = await self.s3.gather("keys", [checker(k) for k in object_keys], MemoryBackendError)
        return sorted(dec(k[len(self._root) :]) for k, ok in zip(object_keys, live, strict=True) if ok)

    async def clear(self) -> None:
        def op(client: Any) -> None:
            self.s3.delete_keys(client, self.s3.list_keys(client, self._root))

        await self.s3.call("clear", op, MemoryBackendError)

    async def size(self) -> int:
        return len(await self.keys())

    async def stats(self) -> TierStats:
        return self._latency.report(self._counters, size=await self.size())

    async def close(self) -> None:
        self.s3.close()
