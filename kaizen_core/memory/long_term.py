"""Short-term, long-term and semantic memory: entries with importance and tags, searchable.

``ShortTermMemory`` is session scoped and expires (TTL); ``LongTermMemory`` persists
through any store (a tier URL, ``SQLiteStorage(db_path=...)``, ``FileStorage(...)``,
``PostgreSQLStorage(...)``, a tier); ``SemanticMemory`` is a long-term memory searched by
meaning. All store :class:`MemoryEntry` values under ``entry/<id>`` and offer ``add``,
``get``, ``all``, ``count``, ``search``, ``search_similar``, ``forget`` and ``close``:
blocking under those names, async as ``aadd``, ``asearch``... (:mod:`kaizen_core.memory.sync`).

Content is a string or a JSON object (``content={"user_name": "Alice", ...}``); an
object is searched through its text form, one ``key: value`` line per leaf with nested
keys joined the same way (``preferences: style: formal``: words every full-text index
splits alike). Invalid input (a non-JSON content,
an importance outside 0..1, tags that are not strings) is MEMORY_003.

Keyword search (``search``):

* when the tier implements :class:`~kaizen_core.memory.tier.TextSearchable` (the sqlite
  tier: FTS5 with BM25; postgres: tsvector), its ranking is used;
* otherwise a scan ranks every entry with Okapi BM25 over the entries
  (:func:`kaizen_core.providers.similarity.bm25_scores`, the one lexical scorer: agent
  routing uses it too), multiplied by ``0.5 + importance``. Entries sharing no word score 0
  and are omitted.
  Ties go to the more recent entry. Words are ``\\w+`` tokens, case-insensitive; there is
  no stemming (``cats`` does not match ``cat``).

Semantic search (``search_similar``) needs an embedding provider (any
:class:`~kaizen_core.providers.BaseProvider` implementing ``embed()``, or a registered
provider name such as ``"sentence-transformers"``; by default the installed one with an
``embedding_priority``). Vectors are stored beside the entries under ``vec/<id>`` (with
the model name, recomputed if the model changes; float32, :mod:`kaizen_core.memory.vectors`).
The first search reads the namespace once (the tier's ``items``) into an index; later
searches read the generation token (one ``get``) and, after other memories' writes, the
entries their change logs list (``get_many``, see ``_search_index``). Every vector is ranked
by cosine similarity in one matrix product (numpy when installed, a pure-Python loop
otherwise); only the results are turned into entries. Entries are embedded when added if a provider was given explicitly (always
for ``SemanticMemory``), else on the first ``search_similar``. Without a provider it raises
MEMORY_001: it never silently falls back to keyword search.

As an agent's memory (``agent.memory = long_term`` or ``agent._memory = long_term``) a
run recalls the entries most relevant to its input (keyword search; similarity for
``SemanticMemory``) as one system message, and each finished turn is added as an entry
``{"user": ..., "assistant": ...}`` tagged ``"conversation"``.
"""

from __future__ import annotations

import json
import marshal
import re
import time
import uuid
from array import array
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from kaizen_core.errors import ConfigError, MemoryBackendError, MemoryValueError
from kaizen_core.memory.agent import recalled_message
from kaizen_core.memory.codec import encode_value
from kaizen_core.memory.events import fire
from kaizen_core.memory.sync import Closing, sync_twin
from kaizen_core.memory.tier import MemoryTier, TextSearchable
from kaizen_core.memory.vectors import VectorMatrix, encode_vector, stored_bytes
from kaizen_core.providers.similarity import bm25_scores
from kaizen_core.providers.types import Message

if TYPE_CHECKING:
    from kaizen_core.memory.storage import MemoryStorage

__all__ = [
    "LongTermMemory",
    "MemoryEntry",
    "SemanticMemory",
    "ShortTermMemory",
    "content_text",
    "keyword_rank",
    "tokenize",
]

ENTRY_PREFIX = "entry/"
VECTOR_PREFIX = "vec/"
#: a token every add and delete replaces, so a search knows in one read whether anything changed
GENERATION_KEY = "meta/generation"
#: ``meta/writers/<id>``: the write count of each LongTermMemory that wrote to the namespace
WRITERS_PREFIX = "meta/writers/"
#: a writer's count not updated for this long is removed by the next re-read (its index reloads)
WRITER_KEY_MAX_AGE = 7 * 24 * 3600.0
#: how many entry ids a writer's count lists for its latest writes (its change log): a memory
#: behind by fewer reads only those entries; further behind, it reads the namespace again
CHANGE_LOG_IDS = 256
CONVERSATION_TAG = "conversation"
_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words."""
    return _WORD.findall(text.lower())


def content_text(content: str | dict[str, Any]) -> str:
    """The searchable text of an entry's content (see the module docstring)."""
    if isinstance(content, str):
        return content
    lines: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}: {key}" if path else str(key))
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                lines.append(f"{path}: {', '.join(_scalar(v) for v in value)}")
            else:
                for item in value:
                    walk(item, path)
        else:
            lines.append(f"{path}: {_scalar(value)}" if path else _scalar(value))

    walk(content, "")
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class MemoryEntry(BaseModel):
    """One remembered fact. ``content`` is a string or a JSON object; ``score`` is set on
    search results only (not stored); ``text`` is what search sees."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    content: str | dict[str, Any]
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = None
    created_at: float = Field(default_factory=time.time)
    expires_at: float | None = None
    score: float | None = Field(default=None, exclude=True)

    @field_validator("content", mode="before")
    @classmethod
    def _json_content(cls, value: Any) -> Any:
        if isinstance(value, dict):
            encode_value(value)  # strict JSON (MEMORY_003 otherwise)
            if not all(isinstance(k, str) for k in value):
                raise ValueError("content object keys must be strings")
        elif not isinstance(value, str):
            raise ValueError(f"content must be a string or a JSON object (dict), got {type(value).__name__}")
        return value

    @property
    def text(self) -> str:
        """The searchable text of the content."""
        return content_text(self.content)

    def stored(self) -> dict[str, Any]:
        """The stored form: ``content`` holds the text (what full-text indexes read) and
        ``content_json`` the object when the content is one."""
        data = self.model_dump(mode="json")
        if isinstance(self.content, dict):
            data["content_json"] = data["content"]
            data["content"] = self.text
        return data

    @classmethod
    def from_stored(cls, raw: Any) -> MemoryEntry:
        """Inverse of :meth:`stored`; unreadable data is MEMORY_001."""
        try:
            data = dict(raw)
            if data.get("content_json") is not None:
                data["content"] = data.pop("content_json")
            data.pop("content_json", None)
            return cls.model_validate(data)
        except (TypeError, ValueError, ValidationError) as exc:
            raise MemoryBackendError(f"stored memory entry is unreadable: {exc}") from exc


def new_entry(content: Any, importance: Any, tags: Any, **fields: Any) -> MemoryEntry:
    """A validated entry; bad input is MEMORY_003 naming the field (never a raw pydantic error)."""
    if isinstance(importance, bool) or not isinstance(importance, int | float) or not 0.0 <= importance <= 1.0:
        raise MemoryValueError(f"importance must be a number in [0, 1], got {importance!r}")
    if isinstance(tags, str):
        tags = [tags]
    try:
        tag_list = list(tags or ())
    except TypeError:
        raise MemoryValueError(f"tags must be a list of strings, got {tags!r}"[:200]) from None
    if not all(isinstance(t, str) for t in tag_list):
        raise MemoryValueError(f"tags must be strings, got {tag_list!r}"[:200])
    try:
        return MemoryEntry(content=content, importance=float(importance), tags=tag_list, **fields)
    except MemoryValueError:
        raise
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise MemoryValueError(
            f"invalid memory entry ({problems})"[:500],
            hint="content is a string or a JSON object; metadata a JSON object; importance a number in [0, 1]",
        ) from None


def keyword_rank(query: str, entries: Iterable[MemoryEntry], limit: int) -> list[MemoryEntry]:
    """Rank ``entries`` for ``query`` with the documented BM25 scan (module docstring)."""
    terms = tokenize(query)
    if not terms or limit <= 0:
        return []
    pool = list(entries)
    scored: list[MemoryEntry] = []
    for entry, raw in zip(pool, bm25_scores(terms, [tokenize(e.text) for e in pool]), strict=True):
        if raw > 0:
            scored.append(entry.model_copy(update={"score": raw * (0.5 + entry.importance)}))
    scored.sort(key=lambda e: (e.score or 0.0, e.created_at), reverse=True)
    return scored[:limit]


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise MemoryValueError(f"limit must be an integer >= 0, got {limit!r}")
    return limit


def _check_max_entries(max_entries: Any) -> int | None:
    if max_entries is None:
        return None
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise ConfigError(f"max_entries must be a positive integer or None, got {max_entries!r}")
    return max_entries


class _EntryStore(Closing):
    """Shared implementation over one tier namespace (see the module docstring)."""

    #: entries recalled for an agent run
    recall_limit: int = 5

    def __init__(
        self, tier: MemoryTier, *, agent_id: str, hook_manager: Any = None, max_entries: int | None = None
    ) -> None:
        self.tier = tier
        self.agent_id = agent_id
        self.hook_manager = hook_manager
        self.max_entries = _check_max_entries(max_entries)

    async def _put_entry(self, entry: MemoryEntry, ttl: float | None) -> None:
        meta = {"entry_id": entry.id, "tags": entry.tags, "kind": type(self).__name__}
        await fire(self.hook_manager, "PRE_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)
        if self.max_entries is not None:
            await self._make_room(self.max_entries - 1)
        await self.tier.put(ENTRY_PREFIX + entry.id, entry.stored(), ttl=ttl)
        await fire(self.hook_manager, "POST_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)

    async def _make_room(self, keep: int) -> None:
        """Drop the least important entries (oldest first among equals) until ``keep`` remain."""
        if len(await self.tier.keys(ENTRY_PREFIX)) <= keep:
            return
        entries = sorted(await self.aall(), key=lambda e: (e.importance, e.created_at))
        dropped = entries[: max(0, len(entries) - keep)]
        for entry in dropped:
            await self.tier.delete(ENTRY_PREFIX + entry.id)
            await self.tier.delete(VECTOR_PREFIX + entry.id)
        await self._changed([entry.id for entry in dropped])

    async def _changed(
        self, touched: list[str], added: MemoryEntry | None = None, vector: list[float] | None = None
    ) -> None:
        """Called after this memory wrote or deleted the entries ``touched`` (``added``, with its
        ``vector`` when it has one, is the new one): LongTermMemory keeps its search index and
        the namespace's change log current (see its ``_changed``)."""

    async def aget(self, entry_id: str) -> MemoryEntry | None:
        """The entry with ``entry_id``, or None."""
        raw = await self.tier.get(ENTRY_PREFIX + entry_id)
        return None if raw is None else MemoryEntry.from_stored(raw)

    async def aall(self) -> list[MemoryEntry]:
        """Every live entry, oldest first."""
        entries = [MemoryEntry.from_stored(raw) for _, raw in await self.tier.items(ENTRY_PREFIX)]
        entries.sort(key=lambda e: e.created_at)
        return entries

    async def acount(self) -> int:
        """Number of live entries."""
        return len(await self.tier.keys(ENTRY_PREFIX))

    async def _can_search_text(self) -> bool:
        if not isinstance(self.tier, TextSearchable):
            return False
        available = getattr(self.tier, "text_search_available", None)
        return bool(await available()) if available is not None else True

    async def asearch(self, query: str, limit: int = 5) -> list[MemoryEntry]:
        """Keyword search, best first (see the module docstring for the ranking)."""
        if not isinstance(query, str):
            raise MemoryValueError(f"query must be a string, got {type(query).__name__}")
        limit = _check_limit(limit)
        meta = {"query": query, "limit": limit, "kind": type(self).__name__}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        if await self._can_search_text():
            searchable: Any = self.tier
            hits = await searchable.search_text(query, limit=limit, prefix=ENTRY_PREFIX)
            results = []
            for key, score in hits:
                raw = await self.tier.get(key)
                if raw is not None:
                    results.append(MemoryEntry.from_stored(raw).model_copy(update={"score": score}))
        else:
            results = keyword_rank(query, await self.aall(), limit)
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "results": len(results)}
        )
        return results

    async def aforget(
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
            await self._changed([entry_id])
            return int(removed)
        if tags is None and older_than is None and below_importance is None and not all:
            raise MemoryValueError(
                "forget() needs an entry_id, a filter (tags, older_than, below_importance) or all=True"
            )
        wanted = {tags} if isinstance(tags, str) else set(tags or ())
        now = time.time()
        removed_ids: list[str] = []
        for entry in await self.aall():
            if wanted and not wanted.intersection(entry.tags):
                continue
            if older_than is not None and now - entry.created_at < older_than:
                continue
            if below_importance is not None and entry.importance >= below_importance:
                continue
            if await self.tier.delete(ENTRY_PREFIX + entry.id):
                removed_ids.append(entry.id)
            await self.tier.delete(VECTOR_PREFIX + entry.id)
        if removed_ids:
            await self._changed(removed_ids)
        return len(removed_ids)

    async def aclose(self) -> None:
        """Close the tier."""
        await self.tier.close()

    # -- agent memory (kaizen_core.memory.agent.AgentMemory) ------------------------------
    async def _recall_entries(self, query: str) -> list[MemoryEntry]:
        return await self.asearch(query, limit=self.recall_limit)

    async def arecall(self, session_id: str | None, query: str) -> list[Message]:
        """The entries most relevant to the run's input, as one system message."""
        return recalled_message([entry.text for entry in await self._recall_entries(query)])

    async def aremember(self, session_id: str | None, user_text: str, assistant_text: str) -> None:
        """Add the finished turn as an entry ``{"user": ..., "assistant": ...}`` tagged ``"conversation"``."""
        await self.aadd(
            {"user": user_text, "assistant": assistant_text},
            importance=0.5,
            tags=[CONVERSATION_TAG],
            metadata={"session_id": session_id} if session_id else None,
        )

    async def aadd(
        self,
        content: str | dict[str, Any],
        importance: float = 0.5,
        tags: Iterable[str] = (),
        *,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryEntry:
        """Remember ``content`` (each memory kind adds its own options)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aadd")

    get = sync_twin(aget)
    all = sync_twin(aall)
    count = sync_twin(acount)
    search = sync_twin(asearch)
    forget = sync_twin(aforget)
    close = sync_twin(aclose)


class ShortTermMemory(_EntryStore):
    """Session-scoped memory with a TTL (default one hour) in a hot tier.

    ``ShortTermMemory(max_entries=100, ttl_seconds=3600)``: ``ttl_seconds`` and ``ttl``
    are the same option; at ``max_entries`` the least important entry (the oldest among
    equals) makes room for a new one. ``store`` defaults to a private in-process tier;
    pass a URL or storage backend to share it. The namespace is
    ``<agent_id>/<session_id>``, so sessions never see each other.
    """

    def __init__(
        self,
        session_id: str = "default",
        *,
        agent_id: str = "agent",
        ttl: float | None = 3600.0,
        ttl_seconds: float | None = None,
        max_entries: int | None = None,
        store: str | MemoryStorage | MemoryTier = "memory://",
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.codec import check_ttl
        from kaizen_core.memory.urls import open_tier

        if not session_id or not isinstance(session_id, str):
            raise ConfigError(f"ShortTermMemory needs a session_id string, got {session_id!r}")
        self.session_id = session_id
        self.ttl = check_ttl(ttl_seconds if ttl_seconds is not None else ttl)
        tier = open_tier(store, namespace=f"{agent_id}/{session_id}", **tier_options)
        super().__init__(tier, agent_id=agent_id, hook_manager=hook_manager, max_entries=max_entries)

    @property
    def ttl_seconds(self) -> float | None:
        """The default TTL of entries (same as ``ttl``)."""
        return self.ttl

    async def aadd(
        self,
        content: str | dict[str, Any],
        importance: float = 0.5,
        tags: Iterable[str] = (),
        *,
        ttl: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryEntry:
        """Remember ``content`` for ``ttl`` seconds (default: the memory's TTL)."""
        from kaizen_core.memory.codec import check_ttl

        life = self.ttl if ttl is None else check_ttl(ttl)
        entry = new_entry(
            content,
            importance,
            tags,
            metadata=metadata or {},
            session_id=self.session_id,
            expires_at=None if life is None else time.time() + life,
        )
        await self._put_entry(entry, life)
        await self._changed([entry.id], entry)
        return entry

    add = sync_twin(aadd)


class LongTermMemory(_EntryStore):
    """Persistent memory of one agent (namespace ``agent_id``, default ``"agent"``).

    The store is given as ``store`` (first argument) or under the documented names
    ``storage_backend=`` / ``storage=``: a tier URL, a storage backend
    (``SQLiteStorage(db_path=...)``) or a tier.
    """

    def __init__(
        self,
        store: str | MemoryStorage | MemoryTier | None = None,
        agent_id: str = "agent",
        *,
        storage_backend: str | MemoryStorage | MemoryTier | None = None,
        storage: str | MemoryStorage | MemoryTier | None = None,
        embedding_provider: Any = None,
        embedding_model: str | None = None,
        max_entries: int | None = None,
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.manager import TierManager
        from kaizen_core.memory.storage import pick_store
        from kaizen_core.memory.urls import open_tier

        name = type(self).__name__
        if not agent_id or not isinstance(agent_id, str):
            raise ConfigError(f"{name} needs an agent_id string (its namespace), got {agent_id!r}")
        chosen = pick_store(name, store=store, storage_backend=storage_backend, storage=storage)
        if chosen is None:
            raise ConfigError(
                f"{name} needs a store",
                hint="e.g. storage_backend=SQLiteStorage(db_path='./agent_memory.db'), or 'memory://' for in-process only",
            )
        if isinstance(chosen, TierManager):
            raise ConfigError(f"{name} takes a tier, a storage backend or a URL, not a TierManager")
        tier = open_tier(chosen, namespace=agent_id, **tier_options)
        super().__init__(tier, agent_id=agent_id, hook_manager=hook_manager, max_entries=max_entries)
        self._provider_spec = embedding_provider
        self._provider: Any = None
        self.embedding_model = embedding_model
        self._index: _SearchIndex | None = None
        self._writer_key = WRITERS_PREFIX + uuid.uuid4().hex
        self._writes = 0
        self._log: deque[tuple[int, list[str]]] = deque()  # (write number, entry ids) of our latest writes

    # -- embeddings ------------------------------------------------------------------------
    @property
    def embedding_provider(self) -> Any:
        """The provider used for ``embed()``: the one given (instance or registered name), else
        the installed default embedding provider (kaizen-sentence-transformers), resolved on first use."""
        if self._provider is None:
            from kaizen_core.providers.selection import resolve_embedding_provider

            self._provider = resolve_embedding_provider(self._provider_spec, self.embedding_model)
        return self._provider

    @property
    def _embeds_on_add(self) -> bool:
        return self._provider_spec is not None

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
            raise MemoryBackendError(f"embedding provider returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors

    async def _store_vector(self, entry_id: str, vector: list[float], model: str) -> None:
        await self.tier.put(VECTOR_PREFIX + entry_id, encode_vector(vector, model))

    async def aadd(
        self,
        content: str | dict[str, Any],
        importance: float = 0.5,
        tags: Iterable[str] = (),
        *,
        metadata: dict[str, Any] | None = None,
        ttl: float | None = None,
        session_id: str | None = None,
    ) -> MemoryEntry:
        """Remember ``content`` (a string or a JSON object); with an explicit embedding provider its vector is stored too."""
        from kaizen_core.memory.codec import check_ttl

        ttl = check_ttl(ttl)
        entry = new_entry(
            content,
            importance,
            tags,
            metadata=metadata or {},
            session_id=session_id,
            expires_at=None if ttl is None else time.time() + ttl,
        )
        await self._put_entry(entry, ttl)
        vector = None
        if self._embeds_on_add:
            (vector,) = await self._embed([entry.text])
            await self._store_vector(entry.id, vector, self._model_name())
        await self._changed([entry.id], entry, vector)
        return entry

    async def _changed(
        self, touched: list[str], added: MemoryEntry | None = None, vector: list[float] | None = None
    ) -> None:
        # Every LongTermMemory counts its writes under a key of its own (no two writers share
        # one, so no update is lost), listing the entry ids its latest writes touched (the
        # change log a reader catches up from), then replaces the namespace's generation token
        # (one key a search can check in one read). Our own change goes straight into our index
        # when the index had seen all our earlier writes.
        self._writes += 1
        if len(touched) > CHANGE_LOG_IDS:
            self._log.clear()  # too many to list: a reader that missed this write reads everything
        else:
            self._log.append((self._writes, list(touched)))
            while sum(len(ids) for _, ids in self._log) > CHANGE_LOG_IDS:
                self._log.popleft()
        await self.tier.put(
            self._writer_key, {"n": self._writes, "at": time.time(), "log": [[n, ids] for n, ids in self._log]}
        )
        await self.tier.put(GENERATION_KEY, uuid.uuid4().hex)
        index = self._index
        if index is None or index.counts.get(self._writer_key, 0) != self._writes - 1:
            return  # the index missed earlier writes of ours: the next search catches up on them
        for entry_id in touched:
            if added is None or entry_id != added.id:
                index.remove(entry_id)
        if added is not None and (vector is None or not index.put(added.id, added.stored(), self._packed(vector))):
            return  # not embedded yet (or another dimension): the next search reads it from our log
        index.counts[self._writer_key] = self._writes

    def _packed(self, vector: list[float]) -> bytes:
        return stored_bytes(encode_vector(vector, self._model_name()), self._model_name()) or b""

    async def _search_index(self, model: str) -> _SearchIndex:
        """The entries and vectors a search ranks. One ``get`` of the generation token when
        nothing was written since the last search. When it changed, the writers' counts and
        change logs (``items`` of ``meta/writers/``); when the logs list every write since the
        index was read, the entries they touched (one ``get_many``), else the whole namespace
        again (one ``items`` call)."""
        generation = await self.tier.get(GENERATION_KEY)
        index = self._index
        if index is not None and index.model == model and generation is not None and generation == index.generation:
            return index
        if generation is None:  # a namespace no memory of this version wrote to yet: start the token
            generation = uuid.uuid4().hex
            await self.tier.put(GENERATION_KEY, generation)
        writers = await self.tier.items(WRITERS_PREFIX)  # after the generation: a write in between shows here
        counts = {key: _field(value, "n") for key, value in writers}
        if index is not None and index.model == model:
            touched = _touched_since(index.counts, writers)
            if touched is not None and await self._catch_up(index, touched, model):
                index.counts = counts
                index.generation = generation
                return index
        index = await self._read_all(model, generation, writers)
        self._index = index
        return index

    async def _catch_up(self, index: _SearchIndex, touched: list[str], model: str) -> bool:
        """Bring ``index`` up to date for the entries ``touched``: their current state in one
        ``get_many`` (absent: removed). False when a vector does not fit (the caller reads everything)."""
        if not touched:
            return True
        found = await self.tier.get_many([p + i for i in touched for p in (ENTRY_PREFIX, VECTOR_PREFIX)])
        missing: dict[str, Any] = {}
        for entry_id in touched:
            raw = found.get(ENTRY_PREFIX + entry_id)
            if raw is None:
                index.remove(entry_id)
                continue
            vector = stored_bytes(found.get(VECTOR_PREFIX + entry_id), model)
            if vector is None:
                missing[entry_id] = raw
            elif not index.put(entry_id, raw, vector):
                return False
        for entry_id, vector in (await self._embed_missing(missing, model)).items():
            if not index.put(entry_id, missing[entry_id], vector):
                return False
        return True

    async def _embed_missing(self, raw_entries: dict[str, Any], model: str) -> dict[str, bytes]:
        """Embed the entries without a vector of ``model`` (one batch) and store their vectors.
        Vectors only add what the entries imply, so storing them changes no count."""
        if not raw_entries:
            return {}
        ids = list(raw_entries)
        fresh = await self._embed([MemoryEntry.from_stored(raw_entries[i]).text for i in ids])
        stored = {i: encode_vector(v, model) for i, v in zip(ids, fresh, strict=True)}
        await self.tier.put_many({VECTOR_PREFIX + i: value for i, value in stored.items()})
        return {i: stored_bytes(value, model) or b"" for i, value in stored.items()}

    async def _read_all(self, model: str, generation: Any, writers: list[tuple[str, Any]]) -> _SearchIndex:
        """The index from one ``items`` read of the whole namespace."""
        counts = {key: _field(value, "n") for key, value in writers}
        # Re-reading anyway: forget writers silent for a week (their indexes just reload once).
        stale = time.time() - WRITER_KEY_MAX_AGE
        for key, value in writers:
            if key != self._writer_key and (_field(value, "at") or 0.0) < stale:
                await self.tier.delete(key)
                counts.pop(key, None)
        raw_entries: dict[str, Any] = {}
        raw_vectors: dict[str, Any] = {}
        for key, value in await self.tier.items():
            if key.startswith(ENTRY_PREFIX):
                raw_entries[key[len(ENTRY_PREFIX) :]] = value
            elif key.startswith(VECTOR_PREFIX):
                raw_vectors[key[len(VECTOR_PREFIX) :]] = value
        # Oldest first (then by id), the order equal similarities rank in.
        ids = sorted(raw_entries, key=lambda i: _field(raw_entries[i], "created_at") or 0.0)
        packed: dict[str, bytes] = {}
        missing: dict[str, Any] = {}
        for entry_id in ids:
            raw = stored_bytes(raw_vectors.pop(entry_id, None), model)
            if raw is None:
                missing[entry_id] = raw_entries[entry_id]
            else:
                packed[entry_id] = raw
        packed.update(await self._embed_missing(missing, model))
        rows = [packed[i] for i in ids]
        try:
            vectors = VectorMatrix(rows, len(rows[0]) // 4 if rows else 0)
        except ValueError as exc:
            raise MemoryBackendError(f"{exc}; re-embed the memory with one model") from exc
        return _SearchIndex(generation, counts, model, ids, [raw_entries[i] for i in ids], vectors)

    async def asearch_similar(self, query: str, limit: int = 5, min_similarity: float = 0.0) -> list[MemoryEntry]:
        """Entries by cosine similarity to ``query`` (``score`` = similarity), best first.

        Entries without a vector for the current model are embedded now (in one batch)
        and their vectors stored. Raises MEMORY_001 without an embedding provider.
        """
        if not isinstance(query, str):
            raise MemoryValueError(f"query must be a string, got {type(query).__name__}")
        limit = _check_limit(limit)
        model = self._model_name()
        meta = {"query": query, "limit": limit, "semantic": True}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        index = await self._search_index(model)
        (query_vector,) = await self._embed([query])
        now = time.time()
        expired = [row for row, expires in index.expiring.items() if expires <= now]
        try:
            ranked = index.vectors.top_k(query_vector, limit, min_similarity, expired, order=index.created)
        except ValueError as exc:
            raise MemoryBackendError(f"{exc}; re-embed the memory with one model") from exc
        # Only the results become MemoryEntry objects (validation costs more than the ranking).
        results = [
            MemoryEntry.from_stored(marshal.loads(index.entries[row])).model_copy(update={"score": similarity})
            for row, similarity in ranked
        ]
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "results": len(results)}
        )
        return results

    add = sync_twin(aadd)
    search_similar = sync_twin(asearch_similar)


class SemanticMemory(LongTermMemory):
    """A long-term memory searched by meaning: ``search`` ranks by embedding similarity.

    Needs an embedding provider (given, or the installed default): constructing one
    without any is MEMORY_001. Entries are embedded as they are added. ``search(query,
    limit)`` ranks by similarity (``search_similar`` adds ``min_similarity``); an agent
    using it recalls by similarity (``recall_min_similarity``, default 0.3).
    """

    recall_min_similarity: float = 0.3

    def __init__(
        self, store: str | MemoryStorage | MemoryTier | None = None, agent_id: str = "agent", **options: Any
    ) -> None:
        super().__init__(store, agent_id, **options)
        self._require_provider()

    @property
    def _embeds_on_add(self) -> bool:
        return True

    async def asearch(self, query: str, limit: int = 5) -> list[MemoryEntry]:
        """Entries by similarity to ``query`` (:meth:`asearch_similar` without a threshold)."""
        return await self.asearch_similar(query, limit=limit)

    async def _recall_entries(self, query: str) -> list[MemoryEntry]:
        return await self.asearch_similar(query, limit=self.recall_limit, min_similarity=self.recall_min_similarity)


def _field(raw: Any, name: str) -> float | None:
    """A time field of a stored entry, read before the entry is validated (None when absent or unreadable)."""
    value = raw.get(name) if isinstance(raw, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _touched_since(cached: dict[str, float | None], writers: list[tuple[str, Any]]) -> list[str] | None:
    """The entry ids the writers' change logs list for their writes after the ``cached``
    counts; None when a log does not reach back that far (or a count is unreadable or gone)."""
    touched: dict[str, None] = {}
    current = set()
    for key, value in writers:
        current.add(key)
        count, seen = _field(value, "n"), cached.get(key) or 0
        if count is None or count < seen:
            return None
        if count == seen:
            continue
        log = value.get("log") if isinstance(value, dict) else None
        records = [r for r in log if isinstance(r, list) and len(r) == 2] if isinstance(log, list) else []
        wanted = [r for r in records if isinstance(r[0], int) and r[0] > seen]
        if len(wanted) != count - seen or any(r[0] != seen + 1 + k for k, r in enumerate(wanted)):
            return None  # the log starts after the writes we missed
        for _, ids in wanted:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return None
            touched.update(dict.fromkeys(ids))
    if any(seen and key not in current for key, seen in cached.items()):
        return None  # a writer's count was removed: what it did since is unknown
    return list(touched)


class _SearchIndex:
    """What :meth:`LongTermMemory.asearch_similar` ranks, as of the writers' counts it was read at.

    Entries are kept serialised (``marshal`` bytes of the stored JSON value: one bytes object per
    row, nothing for the garbage collector to walk, where 100k decoded entries are hundreds of
    thousands of containers; four times faster to write than JSON text), decoded for the results only.
    Rows of removed entries stay (left out of every ranking) until they are half the matrix,
    then the index is compacted.
    """

    def __init__(
        self,
        generation: Any,
        counts: dict[str, float | None],
        model: str,
        ids: list[str],
        raw: list[Any],
        vectors: VectorMatrix,
    ) -> None:
        self.generation = generation  # the namespace's generation token when the index was last known current
        self.counts = counts
        self.model = model
        self.ids = ids  # row -> entry id ("" once removed)
        self.entries = [marshal.dumps(r) for r in raw]  # row -> the stored entry, serialised
        self.created = array("d", (_field(r, "created_at") or 0.0 for r in raw))  # row -> created_at (tie order)
        self.rows = {entry_id: row for row, entry_id in enumerate(ids)}
        # row -> expires_at of the entries with a TTL
        self.expiring = {row: t for row, r in enumerate(raw) if (t := _field(r, "expires_at")) is not None}
        self.vectors = vectors

    def put(self, entry_id: str, raw: Any, vector: bytes) -> bool:
        """Add or replace an entry and its vector; False when the vector does not fit."""
        row = self.rows.get(entry_id)
        if row is None:
            if not self.vectors.append(vector):
                return False
            row = self.rows[entry_id] = len(self.ids)
            self.ids.append(entry_id)
            self.entries.append(marshal.dumps(raw))
            self.created.append(_field(raw, "created_at") or 0.0)
        else:
            if not self.vectors.replace(row, vector):
                return False
            self.entries[row] = marshal.dumps(raw)
            self.created[row] = _field(raw, "created_at") or 0.0
        expires = _field(raw, "expires_at")
        if expires is None:
            self.expiring.pop(row, None)
        else:
            self.expiring[row] = expires
        return True

    def remove(self, entry_id: str) -> None:
        """Leave an entry out (nothing when it is not in the index)."""
        row = self.rows.pop(entry_id, None)
        if row is None:
            return
        self.vectors.remove(row)
        self.ids[row] = ""
        self.entries[row] = b""
        self.expiring.pop(row, None)
        if self.vectors.removed > max(1024, len(self.rows)):
            self._compact()

    def _compact(self) -> None:
        keep = [row for row, entry_id in enumerate(self.ids) if entry_id]
        self.vectors = self.vectors.select(keep)
        self.ids = [self.ids[row] for row in keep]
        self.entries = [self.entries[row] for row in keep]
        self.created = array("d", (self.created[row] for row in keep))
        self.rows = {entry_id: row for row, entry_id in enumerate(self.ids)}
        moved = {old: new for new, old in enumerate(keep)}
        self.expiring = {moved[row]: t for row, t in self.expiring.items() if row in moved}
