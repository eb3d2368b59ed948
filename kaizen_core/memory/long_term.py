"""Short- and long-term memory: entries with importance and tags, keyword and semantic search.

``ShortTermMemory`` is session scoped and expires (TTL); ``LongTermMemory`` persists
through any tier URL. Both store :class:`MemoryEntry` values under ``entry/<id>`` and
offer ``add``, ``get``, ``search``, ``forget`` and ``all``.

Keyword search (``search``):

* when the tier implements :class:`~kaizen_core.memory.tier.TextSearchable` (the sqlite
  tier: FTS5 with BM25), its ranking is used;
* otherwise a scan ranks every entry: for each query word found in the entry the score
  adds ``occurrences * log(1 + N / entries_containing_word)`` (a TF-IDF sum), then
  multiplies by ``0.5 + importance``. Entries sharing no word score 0 and are omitted.
  Ties go to the more recent entry. Words are ``\\w+`` tokens, case-insensitive; there is
  no stemming (``cats`` does not match ``cat``).

Semantic search (``LongTermMemory.search_similar``) needs an embedding provider (any
:class:`~kaizen_core.providers.BaseProvider` implementing ``embed()``, or a registered
provider name such as ``"sentence-transformers"``). Vectors are stored beside the
entries under ``vec/<id>`` (with the model name, recomputed if the model changes) and
compared by cosine similarity in a linear scan. Without a provider it raises MEMORY_001:
it never silently falls back to keyword search.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from kaizen_core.errors import ConfigError, MemoryBackendError, MemoryValueError
from kaizen_core.memory.events import fire
from kaizen_core.memory.tier import MemoryTier, TextSearchable
from kaizen_core.providers.similarity import cosine_similarity

__all__ = ["LongTermMemory", "MemoryEntry", "ShortTermMemory", "keyword_rank", "tokenize"]

ENTRY_PREFIX = "entry/"
VECTOR_PREFIX = "vec/"
_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words."""
    return _WORD.findall(text.lower())


class MemoryEntry(BaseModel):
    """One remembered fact. ``score`` is set on search results only (not stored)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    content: str
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = None
    created_at: float = Field(default_factory=time.time)
    expires_at: float | None = None
    score: float | None = Field(default=None, exclude=True)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def keyword_rank(query: str, entries: Iterable[MemoryEntry], limit: int) -> list[MemoryEntry]:
    """Rank ``entries`` for ``query`` with the documented TF-IDF scan (module docstring)."""
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms or limit <= 0:
        return []
    docs = [(e, Counter(tokenize(e.content))) for e in entries]
    n = len(docs)
    df = {t: sum(1 for _, counts in docs if t in counts) for t in terms}
    scored: list[MemoryEntry] = []
    for entry, counts in docs:
        raw = sum(counts[t] * math.log(1 + n / df[t]) for t in terms if counts[t])
        if raw > 0:
            scored.append(entry.model_copy(update={"score": raw * (0.5 + entry.importance)}))
    scored.sort(key=lambda e: (e.score or 0.0, e.created_at), reverse=True)
    return scored[:limit]


def _check_importance(importance: float) -> float:
    if isinstance(importance, bool) or not isinstance(importance, int | float) or not 0.0 <= importance <= 1.0:
        raise MemoryValueError(f"importance must be a number in [0, 1], got {importance!r}")
    return float(importance)


class _EntryStore:
    """Shared implementation over one tier namespace."""

    def __init__(self, tier: MemoryTier, *, agent_id: str, hook_manager: Any = None) -> None:
        self.tier = tier
        self.agent_id = agent_id
        self.hook_manager = hook_manager

    async def _put_entry(self, entry: MemoryEntry, ttl: float | None) -> None:
        meta = {"entry_id": entry.id, "tags": entry.tags, "kind": type(self).__name__}
        await fire(self.hook_manager, "PRE_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)
        await self.tier.put(ENTRY_PREFIX + entry.id, entry.stored(), ttl=ttl)
        await fire(self.hook_manager, "POST_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)

    @staticmethod
    def _parse(raw: Any) -> MemoryEntry:
        try:
            return MemoryEntry.model_validate(raw)
        except ValidationError as exc:
            raise MemoryBackendError(f"stored memory entry is unreadable: {exc}") from exc

    async def get(self, entry_id: str) -> MemoryEntry | None:
        """The entry with ``entry_id``, or None."""
        raw = await self.tier.get(ENTRY_PREFIX + entry_id)
        return None if raw is None else self._parse(raw)

    async def all(self) -> list[MemoryEntry]:
        """Every live entry, oldest first."""
        entries = []
        for key in await self.tier.keys(ENTRY_PREFIX):
            raw = await self.tier.get(key)
            if raw is not None:
                entries.append(self._parse(raw))
        entries.sort(key=lambda e: e.created_at)
        return entries

    async def count(self) -> int:
        return len(await self.tier.keys(ENTRY_PREFIX))

    async def _can_search_text(self) -> bool:
        if not isinstance(self.tier, TextSearchable):
            return False
        available = getattr(self.tier, "text_search_available", None)
        return bool(await available()) if available is not None else True

    async def _scan_search(self, query: str, limit: int) -> list[MemoryEntry]:
        return keyword_rank(query, await self.all(), limit)

    async def search(self, query: str, limit: int = 5) -> list[MemoryEntry]:
        """Keyword search, best first (see the module docstring for the ranking)."""
        meta = {"query": query, "limit": limit, "kind": type(self).__name__}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        if await self._can_search_text():
            searchable: Any = self.tier
            hits = await searchable.search_text(query, limit=limit, prefix=ENTRY_PREFIX)
            results = []
            for key, score in hits:
                raw = await self.tier.get(key)
                if raw is not None:
                    results.append(self._parse(raw).model_copy(update={"score": score}))
        else:
            results = await self._scan_search(query, limit)
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "results": len(results)}
        )
        return results

    async def forget(
        self,
        entry_id: str | None = None,
        *,
        tags: Iterable[str] | None = None,
        older_than: float | None = None,
        below_importance: float | None = None,
        all: bool = False,
    ) -> int:
        """Delete entries; returns how many.

        ``entry_id`` deletes one entry. Otherwise every entry matching ALL given filters
        is deleted: ``tags`` (has any of them), ``older_than`` (seconds since created),
        ``below_importance``. With no filter at all nothing is deleted unless ``all=True``.
        """
        if entry_id is not None:
            removed = await self.tier.delete(ENTRY_PREFIX + entry_id)
            await self.tier.delete(VECTOR_PREFIX + entry_id)
            return int(removed)
        if tags is None and older_than is None and below_importance is None and not all:
            raise MemoryValueError(
                "forget() needs an entry_id, a filter (tags, older_than, below_importance) or all=True"
            )
        wanted = set(tags or ())
        now = time.time()
        removed_count = 0
        for entry in await self.all():
            if wanted and not wanted.intersection(entry.tags):
                continue
            if older_than is not None and now - entry.created_at < older_than:
                continue
            if below_importance is not None and entry.importance >= below_importance:
                continue
            if await self.tier.delete(ENTRY_PREFIX + entry.id):
                removed_count += 1
            await self.tier.delete(VECTOR_PREFIX + entry.id)
        return removed_count

    async def close(self) -> None:
        await self.tier.close()


class ShortTermMemory(_EntryStore):
    """Session-scoped memory with a TTL (default one hour) in a hot tier.

    ``store`` defaults to a private in-process tier; pass a URL to share it. The
    namespace is ``<agent_id>/<session_id>``, so sessions never see each other.
    """

    def __init__(
        self,
        session_id: str,
        *,
        agent_id: str = "agent",
        ttl: float = 3600.0,
        store: str | MemoryTier = "memory://",
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.codec import check_ttl
        from kaizen_core.memory.urls import open_tier

        if not session_id:
            raise ConfigError("ShortTermMemory needs a session_id")
        self.session_id = session_id
        self.ttl = check_ttl(ttl)
        tier = open_tier(store, namespace=f"{agent_id}/{session_id}", **tier_options)
        super().__init__(tier, agent_id=agent_id, hook_manager=hook_manager)

    async def add(
        self,
        content: str,
        importance: float = 0.5,
        tags: Iterable[str] = (),
        *,
        ttl: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryEntry:
        """Remember ``content`` for ``ttl`` seconds (default: the memory's TTL)."""
        life = self.ttl if ttl is None else ttl
        entry = MemoryEntry(
            content=content,
            importance=_check_importance(importance),
            tags=list(tags),
            metadata=metadata or {},
            session_id=self.session_id,
            expires_at=None if life is None else time.time() + life,
        )
        await self._put_entry(entry, life)
        return entry


class LongTermMemory(_EntryStore):
    """Persistent memory of one agent through a tier URL (namespace ``agent_id``)."""

    def __init__(
        self,
        store: str | MemoryTier,
        agent_id: str,
        *,
        embedding_provider: Any = None,
        embedding_model: str | None = None,
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.urls import open_tier

        if not agent_id:
            raise ConfigError("LongTermMemory needs an agent_id (its namespace)")
        tier = open_tier(store, namespace=agent_id, **tier_options)
        super().__init__(tier, agent_id=agent_id, hook_manager=hook_manager)
        self._provider_spec = embedding_provider
        self._provider: Any = None
        self.embedding_model = embedding_model

    # -- embeddings ------------------------------------------------------------------------
    @property
    def embedding_provider(self) -> Any:
        """The provider used for ``embed()``: the one given (instance or registered name), else
        the installed default embedding provider (kaizen-sentence-transformers), resolved on first use."""
        if self._provider is None:
            from kaizen_core.providers.selection import resolve_embedding_provider

            self._provider = resolve_embedding_provider(self._provider_spec, self.embedding_model)
        return self._provider

    def _require_provider(self) -> Any:
        provider = self.embedding_provider
        if provider is None:
            raise MemoryBackendError(
                "semantic search needs an embedding provider and none is configured",
                hint="pip install kaizen-sentence-transformers, or pass embedding_provider= (a llamacpp/openai/ollama "
                "provider or its name), "
                "or use search() for keyword search",
            )
        return provider

    def _model_name(self) -> str:
        provider = self._require_provider()
        return str(self.embedding_model or getattr(provider, "model", "") or type(provider).__name__)

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        provider = self._require_provider()
        result = await provider.embed(texts, model=self.embedding_model)
        vectors = [list(map(float, v)) for v in result.vectors]
        if len(vectors) != len(texts):
            raise MemoryBackendError(
                f"embedding provider returned {len(vectors)} vectors for {len(texts)} texts"
            )
        return vectors

    async def _store_vector(self, entry_id: str, vector: list[float], model: str) -> None:
        await self.tier.put(VECTOR_PREFIX + entry_id, {"model": model, "vector": vector})

    async def add(
        self,
        content: str,
        importance: float = 0.5,
        tags: Iterable[str] = (),
        *,
        metadata: dict[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryEntry:
        """Remember ``content``; with an embedding provider its vector is stored too."""
        entry = MemoryEntry(
            content=content,
            importance=_check_importance(importance),
            tags=list(tags),
            metadata=metadata or {},
            expires_at=None if ttl is None else time.time() + ttl,
        )
        await self._put_entry(entry, ttl)
        if self.embedding_provider is not None:
            (vector,) = await self._embed([content])
            await self._store_vector(entry.id, vector, self._model_name())
        return entry

    async def search_similar(self, query: str, limit: int = 5, min_similarity: float = 0.0) -> list[MemoryEntry]:
        """Entries by cosine similarity to ``query`` (``score`` = similarity), best first.

        Entries without a vector for the current model are embedded now (in one batch)
        and their vectors stored. Raises MEMORY_001 without an embedding provider.
        """
        model = self._model_name()
        meta = {"query": query, "limit": limit, "semantic": True}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        entries = await self.all()
        vectors: dict[str, list[float]] = {}
        missing: list[MemoryEntry] = []
        for entry in entries:
            stored = await self.tier.get(VECTOR_PREFIX + entry.id)
            if isinstance(stored, dict) and stored.get("model") == model and isinstance(stored.get("vector"), list):
                vectors[entry.id] = stored["vector"]
            else:
                missing.append(entry)
        if missing:
            fresh = await self._embed([e.content for e in missing])
            for entry, vector in zip(missing, fresh, strict=True):
                vectors[entry.id] = vector
                await self._store_vector(entry.id, vector, model)
        (query_vector,) = await self._embed([query])
        results = []
        for entry in entries:
            similarity = _cosine(query_vector, vectors[entry.id])
            if similarity >= min_similarity:
                results.append(entry.model_copy(update={"score": similarity}))
        results.sort(key=lambda e: e.score or 0.0, reverse=True)
        results = results[:limit]
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "results": len(results)}
        )
        return results


def _cosine(a: list[float], b: list[float]) -> float:
    try:
        return cosine_similarity(a, b)
    except ValueError as exc:
        raise MemoryBackendError(f"{exc}; re-embed the memory with one model") from exc
