"""``S3CheckpointStore``: checkpoints as objects in S3 (``s3://bucket/prefix``).

Object layout under the URL's prefix ``P``::

    P/ckpt/<checkpoint_id>                      gzip("KZP1" + links), metadata: sha256 of the
                                                content, index key
    P/idx/<agent_id>/<inv time>-<inv step>-<id>[~<meta>]  the checkpoint's metadata (JSON body;
                                                also inline in the name when it fits)
    P/journal/<stream>/<time ns>-<seq>-<uuid>   one journal record
    P/journal/<stream>/<time ns>-<seq>-<uuid>.batch  a batch of records (``journal_append_many``)

One GET per load: a checkpoint object packs its own link (metadata + payload) followed by
the links of its delta chain down to the full snapshot, so ``read_chain`` is one request
whatever the chain's length. Writing a delta reuses the base's packed links, cached from
the last write or read of that agent (one extra GET of the base on a cache miss). The
byte-driven snapshot policy of the StateManager keeps a chain's bytes near a snapshot's,
so an object stays within about twice a snapshot. Objects written before packing (one
link: meta length + meta JSON + payload) still load, one GET per link.

Segments are percent-encoded. A PUT is atomic in S3, so a reader sees a whole
checkpoint or none; the data object is written before its index entry, so a listed
checkpoint is always readable. Index keys embed an *inverted* timestamp and step, so
S3's lexicographic listing returns the newest checkpoint first. A damaged object or a
content-hash mismatch is CHECKPOINT_002.
"""

from __future__ import annotations

import base64
import builtins
import functools
import itertools
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Collection, Sequence
from typing import Any

from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError, StorageError
from kaizen_core.state.store import CheckpointMeta, CheckpointStore, Link, chain_base
from kaizen_s3_storage.client import S3Client, dec, enc, pack, unless_missing, unpack

_TIME_SPAN = 10**17  # microseconds: sortable until the year 5138
_STEP_SPAN = 10**12
_HEADER = struct.Struct(">I")
_INLINE_LIMIT = 900  # S3 keys may have 1024 bytes; leave room for the prefix
_PACKED = b"KZP1"  # a packed object: links (meta length, meta, payload length, payload)...
_BATCH = b"KZJ1"  # a journal batch object: (record length, record)...
_BATCH_SUFFIX = ".batch"
#: Agents whose newest packed chain is kept in memory (a delta write reuses it).
_CACHED_CHAINS = 64

# A link as stored: the metadata JSON and the payload.
_RawLink = tuple[bytes, bytes]


def _pack_links(links: Sequence[_RawLink]) -> bytes:
    parts = [_PACKED]
    for meta_json, payload in links:
        parts += [_HEADER.pack(len(meta_json)), meta_json, _HEADER.pack(len(payload)), payload]
    return b"".join(parts)


def _unpack_links(data: bytes) -> list[_RawLink]:
    """The links of an object (struct.error / ValueError when damaged); old objects hold one."""
    if not data.startswith(_PACKED):  # written before packing: meta length + meta + payload
        (size,) = _HEADER.unpack_from(data)
        return [(data[_HEADER.size : _HEADER.size + size], data[_HEADER.size + size :])]
    links: list[_RawLink] = []
    pos = len(_PACKED)
    while pos < len(data):
        (meta_len,) = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        meta_json = data[pos : pos + meta_len]
        pos += meta_len
        (payload_len,) = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        payload = data[pos : pos + payload_len]
        pos += payload_len
        if len(meta_json) != meta_len or len(payload) != payload_len:
            raise ValueError("truncated link")
        links.append((meta_json, payload))
    if not links:
        raise ValueError("no links")
    return links


def index_name(meta: CheckpointMeta, meta_json: bytes) -> str:
    """Sortable name: newest (then highest step) first in lexicographic order.

    The metadata itself rides in the name (``~`` + base64 of its zlib'd JSON) when it
    fits, so listing an agent is one LIST request instead of one GET per checkpoint.
    """
    micros = min(_TIME_SPAN - 1, max(0, round(meta.created_at * 1_000_000)))
    step = min(_STEP_SPAN - 1, max(0, meta.step_number))
    name = f"{_TIME_SPAN - 1 - micros:017d}-{_STEP_SPAN - 1 - step:012d}-{enc(meta.checkpoint_id)}"
    inline = base64.urlsafe_b64encode(zlib.compress(meta_json, 9)).decode()
    return f"{name}~{inline}" if len(name) + len(inline) <= _INLINE_LIMIT else name


def _inline_meta(name: str) -> CheckpointMeta | None:
    _, sep, inline = name.partition("~")
    if not sep:
        return None
    return CheckpointMeta.model_validate_json(zlib.decompress(base64.urlsafe_b64decode(inline)))


class _JournalClock:
    """Strictly increasing nanosecond stamps within this process (append order)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()
        self._seq = itertools.count()

    def stamp(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:020d}-{next(self._seq) % 1_000_000:06d}"


_clock = _JournalClock()


class S3CheckpointStore(CheckpointStore):
    """Checkpoint store on S3 or any S3-compatible service.

    Options (keyword, or URL query for the first three): ``endpoint_url`` (MinIO, Ceph,
    moto...; also ``AWS_ENDPOINT_URL``), ``region_name``, ``profile_name``, explicit
    ``aws_access_key_id``/``aws_secret_access_key``/``aws_session_token`` (prefer the
    environment), ``retries``, ``connect_timeout``, ``read_timeout``, ``max_concurrency``.
    """

    scheme = "s3"

    def __init__(self, url: str, **options: Any) -> None:
        self.s3 = S3Client(url, **options)
        self.url = self.s3.url
        self.bucket = self.s3.location.bucket
        # agent id -> (checkpoint id, its packed links): the base of that agent's next delta
        self._chains: dict[str, tuple[str, list[_RawLink]]] = {}
        self._chains_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3CheckpointStore:
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"S3CheckpointStore({self.s3.describe()!r})"

    def _data_key(self, checkpoint_id: str) -> str:
        return self.s3.location.key("ckpt", enc(checkpoint_id))

    def _index_prefix(self, agent_id: str) -> str:
        return self.s3.location.key("idx", enc(agent_id)) + "/"

    def _journal_prefix(self, stream: str) -> str:
        return self.s3.location.key("journal", enc(stream)) + "/"

    def location(self, checkpoint_id: str) -> str:
        return f"s3://{self.bucket}/{self._data_key(checkpoint_id)}"

    def _cached_chain(self, agent_id: str, checkpoint_id: str) -> list[_RawLink] | None:
        with self._chains_lock:
            cached = self._chains.get(agent_id)
        return cached[1] if cached is not None and cached[0] == checkpoint_id else None

    def _remember_chain(self, agent_id: str, checkpoint_id: str, links: list[_RawLink]) -> None:
        with self._chains_lock:
            self._chains.pop(agent_id, None)
            self._chains[agent_id] = (checkpoint_id, links)
            while len(self._chains) > _CACHED_CHAINS:
                del self._chains[next(iter(self._chains))]

    def _get_links(self, client: Any, checkpoint_id: str) -> list[_RawLink] | None:
        """GET one object's links (None when missing); CHECKPOINT_002 when damaged."""
        obj = unless_missing(client.get_object, Bucket=self.bucket, Key=self._data_key(checkpoint_id))
        if obj is None:
            return None
        try:
            return _unpack_links(unpack(obj["Body"].read(), obj.get("Metadata", {}).get("sha256")))
        except (ValueError, struct.error) as exc:
            raise CheckpointCorruptError(
                f"checkpoint object {self.location(checkpoint_id)} is unreadable: {exc}",
                hint="restore it from a bucket version or delete it",
            ) from exc

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        meta_json = meta.model_dump_json().encode()
        data_key = self._data_key(meta.checkpoint_id)
        index_key = self._index_prefix(meta.agent_id) + index_name(meta, meta_json)
        base_id = meta.base_checkpoint_id if meta.kind == "delta" else None
        cached_base = self._cached_chain(meta.agent_id, base_id) if base_id else None

        def op(client: Any) -> list[_RawLink]:
            base_links = cached_base
            if base_id is not None and base_links is None:
                base_links = self._get_links(client, base_id) or []  # a missing base: the load reports it
            links = [(meta_json, payload), *(base_links or [])]
            body, digest = pack(_pack_links(links))
            old_index = self._index_of(client, data_key)
            client.put_object(
                Bucket=self.bucket, Key=data_key, Body=body, ContentType="application/octet-stream",
                Metadata={"sha256": digest, "index-key": enc(index_key)},
            )  # fmt: skip
            client.put_object(Bucket=self.bucket, Key=index_key, Body=meta_json, ContentType="application/json")
            if old_index and old_index != index_key:
                client.delete_object(Bucket=self.bucket, Key=old_index)
            return links

        links = await self.s3.call("write", op, StorageError)
        self._remember_chain(meta.agent_id, meta.checkpoint_id, links)

    def _index_of(self, client: Any, data_key: str) -> str | None:
        head = unless_missing(client.head_object, Bucket=self.bucket, Key=data_key)
        raw = head.get("Metadata", {}).get("index-key") if head is not None else None
        return dec(raw) if raw else None

    def _parse_link(self, checkpoint_id: str, raw: _RawLink) -> Link:
        try:
            return CheckpointMeta.model_validate_json(raw[0]), raw[1]
        except ValueError as exc:
            raise CheckpointCorruptError(
                f"checkpoint object {self.location(checkpoint_id)} has unreadable metadata: {exc}",
                hint="restore it from a bucket version or delete it",
            ) from exc

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        links = await self.s3.call("read", lambda c: self._get_links(c, checkpoint_id), StorageError)
        if links is None:
            raise CheckpointNotFoundError(f"checkpoint {checkpoint_id!r} not found in {self.url}")
        return self._parse_link(checkpoint_id, links[0])

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        """One GET for a packed object; objects written before packing cost one GET per link."""
        chain: builtins.list[Link] = []
        seen: set[str] = set()
        current: str | None = checkpoint_id
        while current is not None:
            fetched = current
            raw = await self.s3.call("read", functools.partial(self._get_links, checkpoint_id=fetched), StorageError)
            if raw is None:
                if not chain:
                    raise CheckpointNotFoundError(f"checkpoint {checkpoint_id!r} not found in {self.url}")
                break  # a missing base: the caller reports the broken chain
            if fetched == checkpoint_id:
                last = self._parse_link(fetched, raw[-1])[0]
                if last.kind == "full":  # a complete packed chain: the base of this agent's next delta
                    self._remember_chain(last.agent_id, checkpoint_id, raw)
            for link in raw:
                meta, payload = self._parse_link(fetched, link)
                if meta.checkpoint_id != current:
                    break
                chain.append((meta, payload))
                seen.add(current)
                current = chain_base(meta, known, seen)
                if current is None:
                    break
            if current == fetched:  # the object does not hold the checkpoint it is named after
                raise CheckpointCorruptError(
                    f"checkpoint object {self.location(fetched)} holds another checkpoint",
                    hint="restore it from a bucket version or delete it",
                )
            # current is not None here: the chain goes on past this object's links (an object
            # written before packing holds one link): fetch the next one.
        return chain

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        prefix = self._index_prefix(agent_id)
        keys = await self.s3.call("list", lambda c: self.s3.list_keys(c, prefix), StorageError)
        metas: builtins.list[CheckpointMeta] = []
        fetch: builtins.list[str] = []
        for key in keys:
            try:
                inline = _inline_meta(key[len(prefix) :])
            except (ValueError, zlib.error) as exc:
                raise CheckpointCorruptError(f"index key s3://{self.bucket}/{key} is unreadable: {exc}") from exc
            if inline is None:
                fetch.append(key)
            else:
                metas.append(inline)

        def getter(key: str) -> Any:
            return lambda c: c.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        bodies = await self.s3.gather("list", [getter(k) for k in fetch], StorageError)
        for key, body in zip(fetch, bodies, strict=True):
            if body is None:  # deleted while listing
                continue
            try:
                metas.append(CheckpointMeta.model_validate_json(body))
            except ValueError as exc:
                raise CheckpointCorruptError(f"index object s3://{self.bucket}/{key} is unreadable: {exc}") from exc
        metas.sort(key=lambda m: (m.created_at, m.step_number), reverse=True)
        return metas

    async def delete(self, checkpoint_id: str) -> bool:
        data_key = self._data_key(checkpoint_id)

        def op(client: Any) -> bool:
            head = unless_missing(client.head_object, Bucket=self.bucket, Key=data_key)
            if head is None:
                return False
            raw = head.get("Metadata", {}).get("index-key")
            if raw:
                client.delete_object(Bucket=self.bucket, Key=dec(raw))
            client.delete_object(Bucket=self.bucket, Key=data_key)
            return True

        return await self.s3.call("delete", op, StorageError)

    async def list_agents(self) -> builtins.list[str]:
        root = self.s3.location.key("idx") + "/"
        prefixes = await self.s3.call("list_agents", lambda c: self.s3.list_prefixes(c, root), StorageError)
        return sorted(dec(p[len(root) :].rstrip("/")) for p in prefixes)

    async def journal_append(self, stream: str, record: bytes) -> None:
        key = f"{self._journal_prefix(stream)}{_clock.stamp()}-{uuid.uuid4().hex}"
        await self.s3.call(
            "journal_append", lambda c: c.put_object(Bucket=self.bucket, Key=key, Body=record), StorageError
        )

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        if not records:
            return
        body = _BATCH + b"".join(_HEADER.pack(len(r)) + r for r in records)
        key = f"{self._journal_prefix(stream)}{_clock.stamp()}-{uuid.uuid4().hex}{_BATCH_SUFFIX}"
        await self.s3.call(
            "journal_append_many", lambda c: c.put_object(Bucket=self.bucket, Key=key, Body=body), StorageError
        )

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        prefix = self._journal_prefix(stream)
        keys = sorted(await self.s3.call("journal_read", lambda c: self.s3.list_keys(c, prefix), StorageError))

        def getter(key: str) -> Any:
            return lambda c: c.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        bodies = await self.s3.gather("journal_read", [getter(k) for k in keys], StorageError)
        records: builtins.list[bytes] = []
        for key, body in zip(keys, bodies, strict=True):
            if body is None:
                continue
            if not key.endswith(_BATCH_SUFFIX):
                records.append(body)
                continue
            if not body.startswith(_BATCH):
                raise CheckpointCorruptError(f"journal batch s3://{self.bucket}/{key} is unreadable")
            pos = len(_BATCH)
            while pos < len(body):
                (size,) = _HEADER.unpack_from(body, pos)
                pos += _HEADER.size
                records.append(body[pos : pos + size])
                pos += size
        return records

    async def journal_delete(self, stream: str) -> None:
        prefix = self._journal_prefix(stream)

        def op(client: Any) -> None:
            self.s3.delete_keys(client, self.s3.list_keys(client, prefix))

        await self.s3.call("journal_delete", op, StorageError)

    async def close(self) -> None:
        self.s3.close()


__all__ = ["S3CheckpointStore", "index_name"]
