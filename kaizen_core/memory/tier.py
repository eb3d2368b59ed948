"""The memory tier contract (the memory-tiers hookspec).

A tier is an async key-value store for JSON-serializable values, scoped by a
namespace (``agent_id`` or ``agent_id/session_id``) so agents never see each other's
memory. Tiers are selected by URL scheme: ``memory://`` (hot, in-process),
``sqlite:///path.db`` (warm), ``redis://``, ``postgresql://``, ``s3://`` (plugins).

Rules every implementation follows (checked by ``MemoryTierSuite``):

* keys are non-empty strings; values must be JSON-serializable, else MEMORY_003;
* ``ttl`` is in seconds; an expired key behaves as absent everywhere
  (``get``, ``exists``, ``keys``, ``size``);
* two tiers with different namespaces over the same backend are fully isolated,
  including ``keys``, ``size`` and ``clear``;
* ``items(prefix)`` returns what ``keys(prefix)`` and ``get`` would, in one bulk read;
  ``get_many(keys)`` what ``get`` would for each key, in one bulk read (both have
  defaults built on ``keys``/``get``, so a tier only overrides them to go faster);
* backend failures raise :class:`MemoryBackendError` (MEMORY_001) with the URL shown
  without its password.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel


class TierStats(BaseModel):
    """Counters a tier reports; latency percentiles in milliseconds."""

    name: str = ""
    hits: int = 0
    misses: int = 0
    puts: int = 0
    deletes: int = 0
    evictions: int = 0
    promotions: int = 0
    demotions: int = 0
    size: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


class MemoryTier(ABC):
    """Abstract memory tier. Subclasses register a URL scheme via the hookspec."""

    scheme: ClassVar[str] = ""

    def __init__(self, namespace: str = "default") -> None:
        self.namespace = namespace

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> MemoryTier:
        """Build the tier from its URL."""

    @abstractmethod
    async def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired."""

    @abstractmethod
    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` (JSON-serializable) under ``key``, expiring after ``ttl`` seconds."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove ``key``; False when it was absent."""

    @abstractmethod
    async def exists(self, key: str) -> bool:
        """True when ``key`` holds a live value."""

    @abstractmethod
    async def keys(self, prefix: str = "") -> list[str]:
        """Live keys of this namespace starting with ``prefix``, sorted."""

    @abstractmethod
    async def clear(self) -> None:
        """Remove every key of this namespace (other namespaces untouched)."""

    @abstractmethod
    async def size(self) -> int:
        """Number of live keys in this namespace."""

    @abstractmethod
    async def stats(self) -> TierStats:
        """Counters and latency percentiles for this tier instance."""

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """Every live ``(key, value)`` of this namespace whose key starts with ``prefix``, sorted
        by key: a bulk read (a search scans a namespace with it). The default calls
        :meth:`keys` then :meth:`get` per key (a value that expires in between is left out);
        backends override it with one query (sqlite, postgres), one pipelined script (redis)
        or one locked pass (hot, file)."""
        found = []
        for key in await self.keys(prefix):
            value = await self.get(key)
            if value is not None:
                found.append((key, value))
        return found

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The live values of ``keys`` as ``{key: value}`` (absent, expired and ``None`` values left out,
        as :meth:`get` cannot tell them apart): a
        bulk read of known keys (a memory catching up on another writer's changes reads them
        with it). The default calls :meth:`get` per key; backends override it with one query
        (sqlite) or one locked pass (hot)."""
        found = {}
        for key in dict.fromkeys(keys):
            value = await self.get(key)
            if value is not None:
                found[key] = value
        return found

    async def put_many(self, items: dict[str, Any], ttl: float | None = None) -> None:
        """Store several values at once. The default calls :meth:`put` per item; backends
        with a bulk path (executemany, pipelines) override it."""
        for key, value in items.items():
            await self.put(key, value, ttl=ttl)

    async def close(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release connections. Safe to call twice."""


@runtime_checkable
class TextSearchable(Protocol):
    """Optional tier capability: ranked full-text search over stored text.

    The indexed text of a value is the value itself when it is a string, or its
    ``"content"`` field when it is a dict with a string ``content``. Results are
    ``(key, score)`` pairs, best first, higher score is better; expired keys never match.
    :class:`kaizen_core.memory.LongTermMemory` uses this when the tier offers it
    (the sqlite tier: FTS5 with BM25), and a ranked scan otherwise.
    """

    async def search_text(self, query: str, limit: int = 10, prefix: str = "") -> list[tuple[str, float]]: ...
