"""HotMemoryTier: the in-process ``memory://`` tier (bounded, LRU/LFU/FIFO, TTL).

Values are validated and kept as compact JSON text, so a caller mutating a value it
got back never changes what is stored (same semantics as the persistent tiers).

Backends: ``memory://`` gives a private store; ``memory://NAME`` shares the
process-wide store called ``NAME`` between every tier opened on it (each tier still
sees only its own namespace). ``max_size`` bounds the number of live entries *per
namespace*; when a put would exceed it, expired entries are dropped first, then one
entry is evicted by the policy:

* ``lru``: the least recently read or written;
* ``lfu``: the least frequently read or written (ties: the oldest of them);
* ``fifo``: the oldest written (reads do not matter).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

from kaizen_core.errors import ConfigError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, decode_value, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_core.urls import split_url

__all__ = ["EvictionPolicy", "HotMemoryTier", "HotStore"]

EvictionPolicy = Literal["lru", "lfu", "fifo"]
_POLICIES = ("lru", "lfu", "fifo")


@dataclass(slots=True)
class _Entry:
    text: str
    expires_at: float | None
    freq: int = 1


def _group(key: str) -> str:
    """The group of a key: up to and including its first ``/`` (the whole key without one)."""
    cut = key.find("/")
    return key if cut < 0 else key[: cut + 1]


class _Table:
    """One namespace's entries, in recency (or insertion) order, and its keys grouped by their
    first ``/`` segment, so a prefix read (``meta/writers/`` beside 100k ``entry/`` keys) looks at
    the keys of its group only. Every change goes through ``add`` and ``remove``."""

    __slots__ = ("entries", "groups")

    def __init__(self) -> None:
        self.entries: OrderedDict[str, _Entry] = OrderedDict()
        self.groups: dict[str, set[str]] = {}

    def add(self, key: str, entry: _Entry) -> None:
        self.entries[key] = entry
        group = self.groups.get(_group(key))
        if group is None:
            group = self.groups[_group(key)] = set()
        group.add(key)

    def remove(self, key: str) -> None:
        del self.entries[key]
        name = _group(key)
        group = self.groups[name]
        group.discard(key)
        if not group:
            del self.groups[name]

    def clear(self) -> None:
        self.entries.clear()
        self.groups.clear()

    def candidates(self, prefix: str) -> Iterable[str]:
        """A superset of the keys starting with ``prefix`` (its group when it names one)."""
        if "/" in prefix:
            return self.groups.get(_group(prefix), ())
        if prefix:
            return [k for name, group in self.groups.items() if name.startswith(prefix) for k in group]
        return self.entries


@dataclass
class HotStore:
    """The backend of hot tiers: one table per namespace, guarded by a lock."""

    tables: dict[str, _Table] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def table(self, namespace: str) -> _Table:
        table = self.tables.get(namespace)
        if table is None:
            table = self.tables[namespace] = _Table()
        return table


_named_stores: dict[str, HotStore] = {}
_named_lock = threading.Lock()


def _named_store(name: str) -> HotStore:
    with _named_lock:
        store = _named_stores.get(name)
        if store is None:
            store = _named_stores[name] = HotStore()
        return store


class HotMemoryTier(MemoryTier):
    """Bounded in-process tier. See the module docstring for eviction rules.

    ``clock`` is the wall clock TTLs are measured on (seconds; ``time.time`` by default).
    Tiers sharing a named store should share a clock too, as expiry times are stored as
    absolute times; tests inject one they move by hand instead of waiting for a TTL.
    """

    scheme: ClassVar[str] = "memory"

    def __init__(
        self,
        namespace: str = "default",
        *,
        max_size: int | None = 10_000,
        eviction: EvictionPolicy | None = None,
        default_ttl: float | None = None,
        store: HotStore | None = None,
        clock: Callable[[], float] = time.time,
        eviction_policy: EvictionPolicy | None = None,
    ) -> None:
        super().__init__(namespace)
        if eviction is not None and eviction_policy is not None and eviction != eviction_policy:
            raise ConfigError(
                f"eviction={eviction!r} and eviction_policy={eviction_policy!r} disagree",
                hint="they are the same option (eviction_policy is the documented spelling): pass one",
            )
        eviction = eviction or eviction_policy or "lru"
        if eviction not in _POLICIES:
            raise ConfigError(f"unknown eviction policy {eviction!r}", hint="use 'lru', 'lfu' or 'fifo'")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1):
            raise ConfigError(f"max_size must be a positive integer or None, got {max_size!r}")
        self.max_size = max_size
        self.eviction: EvictionPolicy = eviction
        self.default_ttl = check_ttl(default_ttl)
        self._store = store if store is not None else HotStore()
        self._tab = self._store.table(namespace)
        self._table = self._tab.entries
        self._lock = self._store.lock
        self._stats = TierStats(name=f"memory:{namespace}")
        self._latency = LatencyRecorder()
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> HotMemoryTier:
        """``memory://`` (private store) or ``memory://NAME`` (shared named store).

        Query parameters ``max_size``, ``eviction`` (or ``eviction_policy``) and ``default_ttl`` are accepted too;
        keyword options win over them.
        """
        rest, raw_query = split_url(url, "memory")
        query: dict[str, Any] = dict(raw_query)
        if "max_size" in query:
            query["max_size"] = None if query["max_size"] in ("", "none") else int(query["max_size"])
        if "default_ttl" in query:
            query["default_ttl"] = float(query["default_ttl"])
        query.update(options)
        name = unquote(rest).strip("/")
        store = _named_store(name) if name else None
        return cls(namespace, store=store, **query)

    # -- helpers (call with the lock held) -------------------------------------------------
    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._table.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            self._tab.remove(key)
            return None
        return entry

    def _purge_expired(self, now: float) -> None:
        dead = [k for k, e in self._table.items() if e.expires_at is not None and e.expires_at <= now]
        for key in dead:
            self._tab.remove(key)

    def _evict_one(self) -> None:
        if self.eviction == "lfu":
            victim = min(self._table.items(), key=lambda kv: kv[1].freq)[0]
        else:  # lru and fifo both evict from the front of the ordered table
            victim = next(iter(self._table))
        self._tab.remove(victim)
        self._stats.evictions += 1

    # -- contract ----------------------------------------------------------------------------
    async def get(self, key: str) -> Any | None:
        start = time.perf_counter()
        check_key(key)
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is None:
                self._stats.misses += 1
                self._latency.add(time.perf_counter() - start)
                return None
            entry.freq += 1
            if self.eviction == "lru":
                self._table.move_to_end(key)
            text = entry.text
            self._stats.hits += 1
        value = decode_value(text)
        self._latency.add(time.perf_counter() - start)
        return value

    def peek(self, key: str) -> bool:
        """True when ``key`` is live, without touching recency, frequency or stats."""
        with self._lock:
            return self._live(key, self._clock()) is not None

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        check_key(key)
        ttl = check_ttl(ttl) if ttl is not None else self.default_ttl
        text = encode_value(value)
        now = self._clock()
        expires_at = None if ttl is None else now + ttl
        with self._lock:
            old = self._table.get(key)
            if old is not None:
                old.text, old.expires_at = text, expires_at
                old.freq += 1
                if self.eviction == "lru":
                    self._table.move_to_end(key)
            else:
                if self.max_size is not None and len(self._table) >= self.max_size:
                    self._purge_expired(now)
                    while len(self._table) >= self.max_size:
                        self._evict_one()
                self._tab.add(key, _Entry(text, expires_at))
            self._stats.puts += 1

    async def delete(self, key: str) -> bool:
        check_key(key)
        with self._lock:
            found = self._live(key, self._clock()) is not None
            if found:
                self._tab.remove(key)
                self._stats.deletes += 1
            return found

    async def exists(self, key: str) -> bool:
        check_key(key)
        return self.peek(key)

    def _live_texts(self, keys: Iterable[str], now: float) -> list[tuple[str, str]]:
        table = self._table
        found = []
        for key in keys:
            entry = table.get(key)
            if entry is not None and (entry.expires_at is None or entry.expires_at > now):
                found.append((key, entry.text))
        return found

    async def keys(self, prefix: str = "") -> list[str]:
        """Live keys under ``prefix``; only the keys of the prefix's group are looked at (and its
        expired keys dropped)."""
        now = self._clock()
        with self._lock:
            table = self._table
            found: list[str] = []
            dead: list[str] = []
            for key in self._tab.candidates(prefix):
                if key.startswith(prefix):
                    expires = table[key].expires_at
                    (dead if expires is not None and expires <= now else found).append(key)
            for key in dead:
                self._tab.remove(key)
            return sorted(found)

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """One locked pass over the prefix's group (expired keys skipped, not purged); it touches
        no recency, frequency or stats."""
        now = self._clock()
        with self._lock:
            texts = sorted(
                (k, t) for k, t in self._live_texts(self._tab.candidates(prefix), now) if k.startswith(prefix)
            )
        return [(key, decode_value(text)) for key, text in texts]

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """One locked pass over the given keys; like :meth:`items`, it touches no recency, frequency or stats."""
        wanted = [check_key(k) for k in dict.fromkeys(keys)]
        now = self._clock()
        with self._lock:
            texts = self._live_texts(wanted, now)
        found = {key: decode_value(text) for key, text in texts}
        return {key: value for key, value in found.items() if value is not None}

    async def clear(self) -> None:
        with self._lock:
            self._tab.clear()

    async def size(self) -> int:
        with self._lock:
            self._purge_expired(self._clock())
            return len(self._table)

    async def stats(self) -> TierStats:
        return self._latency.report(self._stats, size=await self.size())

    async def close(self) -> None:
        """Nothing to release (the store lives as long as its references)."""
