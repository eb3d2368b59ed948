"""ShortTermMemory / LongTermMemory: add, search (FTS5 and scan), forget, semantic search."""

from __future__ import annotations

import math
import random
import re
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import anyio
import pytest

from kaizen_core.errors import MemoryBackendError, MemoryValueError
from kaizen_core.memory import HotMemoryTier, LongTermMemory, MemoryEntry, ShortTermMemory
from kaizen_core.memory.long_term import keyword_rank
from kaizen_core.memory.warm import WarmMemoryTier
from kaizen_core.providers import BaseProvider, Embeddings

pytestmark = pytest.mark.anyio

FACTS = [
    ("The user's favourite language is Python", 0.9, ["preference"]),
    ("Deploys happen on Fridays after the standup", 0.4, ["process"]),
    ("Python services run on port 8080; python workers use celery", 0.5, ["infra"]),
    ("The cat is called Miso", 0.2, ["personal"]),
]


class TopicEmbedder(BaseProvider):
    """A real (if tiny) embedding model: counts words of a few topic vocabularies."""

    name = "topic-embedder"
    supports_embeddings = True
    TOPICS = [
        {"python", "language", "code", "programming", "celery"},
        {"deploy", "deploys", "release", "friday", "fridays", "ship"},
        {"cat", "pet", "miso", "animal"},
        {"port", "server", "services", "workers", "infra"},
    ]

    def __init__(self, model: str | None = "topics-v1", **options: object) -> None:
        super().__init__(model=model, **options)
        self.calls = 0

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        self.calls += 1
        vectors = []
        for text in texts:
            words = re.findall(r"\w+", text.lower())
            vectors.append([float(sum(w in topic for w in words)) + 0.01 for topic in self.TOPICS])
        return Embeddings(vectors=vectors, model=self.model)


async def fill(memory: LongTermMemory | ShortTermMemory) -> list[MemoryEntry]:
    return [await memory.aadd(text, importance, tags) for text, importance, tags in FACTS]


@pytest.mark.parametrize("store", ["sqlite", "memory"])
async def test_keyword_search_ranks_relevant_entries(tmp_path: Path, store: str) -> None:
    url = f"sqlite:///{tmp_path}/lt.db" if store == "sqlite" else "memory://"
    memory = LongTermMemory(url, agent_id="bot")
    await fill(memory)
    results = await memory.asearch("python", limit=5)
    assert {r.content for r in results} == {FACTS[0][0], FACTS[2][0]}
    assert all(r.score is not None and r.score > 0 for r in results)
    assert [r.content for r in await memory.asearch("cat Miso")] == [FACTS[3][0]]
    assert await memory.asearch("quantum") == []
    assert await memory.asearch("   ") == []
    assert len(await memory.asearch("python the", limit=1)) == 1
    await memory.aclose()


async def test_fts_ranking_prefers_more_matches(tmp_path: Path) -> None:
    memory = LongTermMemory(f"sqlite:///{tmp_path}/rank.db", agent_id="bot")
    await memory.aadd("Python python python everywhere")
    await memory.aadd("a single python mention in a much longer sentence about many other things")
    results = await memory.asearch("python")
    assert results[0].content.startswith("Python python")
    await memory.aclose()


def test_scan_ranking_uses_idf_and_importance() -> None:
    entries = [
        MemoryEntry(content="common rare", importance=0.5, created_at=1),
        MemoryEntry(content="common", importance=0.5, created_at=2),
        MemoryEntry(content="common", importance=1.0, created_at=3),
    ]
    ranked = keyword_rank("rare common", entries, limit=3)
    assert ranked[0].content == "common rare"  # the rare word weighs more
    assert ranked[1].importance == 1.0  # importance breaks the tie between equal texts
    assert keyword_rank("absent", entries, limit=3) == []


async def test_long_term_persists_and_isolates_agents(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    a = LongTermMemory(url, agent_id="agent-a")
    b = LongTermMemory(url, agent_id="agent-b")
    entry = await a.aadd("A's private fact about python", 0.7, ["secret"])
    assert await b.asearch("python") == []
    assert await b.aget(entry.id) is None
    await a.aclose()
    reopened = LongTermMemory(url, agent_id="agent-a")
    got = await reopened.aget(entry.id)
    assert got is not None and got.content == entry.content and got.tags == ["secret"]
    assert [e.id for e in await reopened.asearch("python")] == [entry.id]
    await reopened.aclose()
    await b.aclose()


async def test_forget_by_id_and_filters(tmp_path: Path) -> None:
    memory = LongTermMemory(f"sqlite:///{tmp_path}/f.db", agent_id="bot")
    entries = await fill(memory)
    assert await memory.aforget(entries[0].id) == 1
    assert await memory.aforget(entries[0].id) == 0
    assert await memory.aforget(tags=["personal"]) == 1
    assert await memory.aforget(below_importance=0.45) == 1  # the Friday deploy fact
    assert [e.content for e in await memory.aall()] == [FACTS[2][0]]
    assert await memory.aforget(older_than=3600) == 0
    with pytest.raises(MemoryValueError):
        await memory.aforget()
    assert await memory.aforget(all=True) == 1
    assert await memory.acount() == 0
    await memory.aclose()


async def test_short_term_memory_is_session_scoped_and_expires() -> None:
    store = f"memory://stm-{uuid.uuid4().hex}"  # named stores are process-wide: one of its own
    s1 = ShortTermMemory("session-1", store=store, ttl=60)
    s2 = ShortTermMemory("session-2", store=store, ttl=60)
    await s1.aadd("the build is broken", 0.8, ["ci"])
    short = await s1.aadd("temporary note about the build", ttl=0.1)
    assert short.expires_at is not None and short.session_id == "session-1"
    assert await s2.asearch("build") == []
    with anyio.fail_after(60):  # bounds a hang only
        while await s1.aget(short.id) is not None:
            await anyio.sleep(0.05)
    assert [e.content for e in await s1.asearch("build")] == ["the build is broken"]
    with pytest.raises(MemoryValueError):
        await s1.aadd("x", importance=1.5)


async def test_search_similar_without_provider_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaizen_core import plugins

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # no embedding plugin installed
    plugins.reset()
    memory = LongTermMemory(f"sqlite:///{tmp_path}/s.db", agent_id="bot")
    await memory.aadd("something")
    with pytest.raises(MemoryBackendError) as info:
        await memory.asearch_similar("anything")
    assert info.value.code == "MEMORY_001"
    assert "embedding provider" in str(info.value)
    assert "kaizen-sentence-transformers" in (info.value.hint or "")
    await memory.aclose()
    monkeypatch.undo()
    plugins.reset()


async def test_search_similar_ranks_by_cosine_and_stores_vectors(tmp_path: Path) -> None:
    provider = TopicEmbedder()
    memory = LongTermMemory(f"sqlite:///{tmp_path}/v.db", agent_id="bot", embedding_provider=provider)
    entries = await fill(memory)
    assert await memory.tier.exists(f"vec/{entries[0].id}")
    results = await memory.asearch_similar("which programming language do I code in", limit=2)
    assert results[0].content == FACTS[0][0]
    assert results[0].score is not None and 0.9 < results[0].score <= 1.0 + 1e-9
    pets = await memory.asearch_similar("my pet animal", limit=1, min_similarity=0.5)
    assert [r.content for r in pets] == [FACTS[3][0]]
    assert await memory.asearch_similar("my pet animal", min_similarity=1.01) == []
    calls = provider.calls
    await memory.asearch_similar("ship a release")
    assert provider.calls == calls + 1  # only the query was embedded: entry vectors are stored
    await memory.aclose()


async def test_search_similar_embeds_entries_added_without_provider(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/late.db"
    plain = LongTermMemory(url, agent_id="bot")
    await fill(plain)
    await plain.aclose()
    memory = LongTermMemory(url, agent_id="bot", embedding_provider=TopicEmbedder())
    results = await memory.asearch_similar("deploy on friday", limit=1)
    assert results[0].content == FACTS[1][0]
    assert len(await memory.tier.keys("vec/")) == len(FACTS)
    await memory.aclose()


async def test_provider_by_registered_name(tmp_path: Path, kaizen_plugin: object) -> None:
    import kaizen_core

    class Plugin:
        @kaizen_core.hookimpl
        def register_providers(self, register: object) -> None:
            register("topic-test", TopicEmbedder, capabilities=["embed"])  # type: ignore[operator]

    kaizen_plugin(Plugin(), name="topic-test-plugin")  # type: ignore[operator]
    memory = LongTermMemory(f"sqlite:///{tmp_path}/n.db", agent_id="bot", embedding_provider="topic-test")
    await memory.aadd("the cat Miso")
    assert isinstance(memory.embedding_provider, TopicEmbedder)
    (hit,) = await memory.asearch_similar("animal")
    assert math.isclose(hit.score or 0, 1.0, abs_tol=0.05)
    await memory.aclose()


class CountingTier(HotMemoryTier):
    """A hot tier that counts the reads a search makes."""

    def __init__(self) -> None:
        super().__init__("bot")
        self.reads: list[str] = []

    async def get(self, key: str) -> object:
        self.reads.append("get")
        return await super().get(key)

    async def keys(self, prefix: str = "") -> list[str]:
        self.reads.append("keys")
        return await super().keys(prefix)

    async def items(self, prefix: str = "") -> list[tuple[str, object]]:
        self.reads.append("items")
        return await super().items(prefix)


async def test_search_similar_reads_the_namespace_once_then_only_its_generation() -> None:
    tier = CountingTier()
    memory = LongTermMemory(tier, agent_id="bot", embedding_provider=TopicEmbedder())
    await fill(memory)
    tier.reads.clear()
    assert [r.content for r in await memory.asearch_similar("my pet animal", limit=1)] == [FACTS[3][0]]
    assert tier.reads == ["get", "items", "items"]  # generation, writers' counts, one bulk read of the namespace
    tier.reads.clear()
    assert [r.content for r in await memory.asearch_similar("python code", limit=1)] == [FACTS[0][0]]
    assert tier.reads == ["get"]  # nothing changed: the index is reused
    dog = await memory.aadd("Release the pet animal on friday")
    tier.reads.clear()
    assert [r.id for r in await memory.asearch_similar("ship the pet", limit=1)] == [dog.id]
    assert tier.reads == ["get", "items"]  # only our own count changed: our add is in the index already
    tier.reads.clear()
    await memory.asearch_similar("ship the pet", limit=1)
    assert tier.reads == ["get"]


async def test_an_add_by_another_memory_between_two_of_ours_is_seen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/two.db"
    ours = LongTermMemory(url, agent_id="bot", embedding_provider=TopicEmbedder())
    theirs = LongTermMemory(url, agent_id="bot", embedding_provider=TopicEmbedder())
    await fill(ours)
    await ours.asearch_similar("anything")  # our index is built
    cat = await theirs.aadd("A second cat, a pet animal called Tofu")
    dog = await ours.aadd("The dog Rex is a pet animal")
    found = {r.id for r in await ours.asearch_similar("pet animal cat", limit=3)}
    assert {cat.id, dog.id} <= found
    await ours.aclose()
    await theirs.aclose()


async def test_search_similar_sees_writes_of_another_memory_on_the_same_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    reader = LongTermMemory(url, agent_id="bot", embedding_provider=TopicEmbedder())
    writer = LongTermMemory(url, agent_id="bot", embedding_provider=TopicEmbedder())
    await fill(writer)
    assert [r.content for r in await reader.asearch_similar("my pet", limit=1)] == [FACTS[3][0]]
    miso = (await reader.asearch_similar("my pet", limit=1))[0]
    await writer.aforget(miso.id)
    dog = await writer.aadd("The dog is a pet animal called Rex")
    assert [r.id for r in await reader.asearch_similar("my pet", limit=1)] == [dog.id]
    await writer.aclose()
    await reader.aclose()


async def test_search_similar_leaves_out_entries_that_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry past its expires_at is never a result, even from an index built before it expired."""
    memory = LongTermMemory("memory://", agent_id="bot", embedding_provider=TopicEmbedder())
    short = await memory.aadd("The cat is called Miso", ttl=60)
    stays = await memory.aadd("The cat Miso sleeps")
    assert [r.id for r in await memory.asearch_similar("cat", limit=2)] == [short.id, stays.id]
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # the clock the memory and its tier read
    assert [r.id for r in await memory.asearch_similar("cat", limit=2)] == [stays.id]


@pytest.mark.parametrize("numpy", ["installed", "missing"])
async def test_search_similar_same_ranking_with_and_without_numpy(monkeypatch: pytest.MonkeyPatch, numpy: str) -> None:
    if numpy == "missing":
        monkeypatch.setitem(sys.modules, "numpy", None)  # ``import numpy`` raises ImportError
    memory = LongTermMemory("memory://", agent_id="bot", embedding_provider=TopicEmbedder())
    await fill(memory)
    await memory.aadd("The cat Miso sleeps")  # same topic vector as FACTS[3]: a tie, newer
    results = await memory.asearch_similar("my cat", limit=3)
    assert [r.content for r in results[:2]] == [FACTS[3][0], "The cat Miso sleeps"]  # the tie: older first
    scores = [r.score or 0.0 for r in results]
    assert scores == sorted(scores, reverse=True) and math.isclose(scores[0], scores[1], rel_tol=1e-6)
    (best,) = await memory.asearch_similar("my cat", limit=1)  # the tie at the cut keeps the older one
    assert best.content == FACTS[3][0]
    assert [r.content for r in await memory.asearch_similar("python code", limit=5, min_similarity=0.9)] == [
        FACTS[0][0]
    ]
    assert await memory.asearch_similar("python", limit=0) == []


async def test_search_similar_reads_vectors_stored_as_json_lists() -> None:
    """Vectors written as ``{"model", "vector": [...]}`` (the earlier form) are still used, not re-embedded."""
    provider = TopicEmbedder()
    memory = LongTermMemory("memory://", agent_id="bot")
    entry = await memory.aadd("The cat is called Miso")
    await memory.tier.put(f"vec/{entry.id}", {"model": "topics-v1", "vector": [0.0, 0.0, 1.0, 0.0]})
    memory = LongTermMemory(memory.tier, agent_id="bot", embedding_provider=provider)
    (hit,) = await memory.asearch_similar("animal")
    assert hit.id == entry.id and math.isclose(hit.score or 0.0, 1.0, abs_tol=0.01)
    assert provider.calls == 1  # the query only


async def test_search_similar_vectors_of_another_dimension_are_memory_001() -> None:
    memory = LongTermMemory("memory://", agent_id="bot", embedding_provider=TopicEmbedder())
    entry = await memory.aadd("The cat is called Miso")
    await memory.tier.put(f"vec/{entry.id}", {"model": "topics-v1", "vector": [1.0, 0.0]})
    with pytest.raises(MemoryBackendError, match="dimensions differ"):
        await memory.asearch_similar("animal")


class OneHotEmbedder(BaseProvider):
    """``"item N"`` -> the N-th unit vector of 64: every item is its own direction."""

    name = "one-hot"
    supports_embeddings = True

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        vectors = []
        for text in texts:
            found = re.search(r"item (\d+)", text)
            vector = [0.0] * 64
            vector[int(found.group(1)) if found else 63] = 1.0
            vectors.append(vector)
        return Embeddings(vectors=vectors, model="one-hot")


@pytest.mark.parametrize("numpy", ["installed", "missing"])
async def test_many_adds_after_the_index_is_built_are_all_found(monkeypatch: pytest.MonkeyPatch, numpy: str) -> None:
    if numpy == "missing":
        monkeypatch.setitem(sys.modules, "numpy", None)
    memory = LongTermMemory("memory://", agent_id="bot", embedding_provider=OneHotEmbedder(model="one-hot"))
    first = await memory.aadd("item 0")
    assert [r.id for r in await memory.asearch_similar("item 0", limit=1)] == [first.id]
    added = [await memory.aadd(f"item {n}") for n in range(1, 60)]  # past the index's first capacity
    for n in (1, 17, 59):
        (hit,) = await memory.asearch_similar(f"item {n}", limit=1)
        assert hit.id == added[n - 1].id and math.isclose(hit.score or 0.0, 1.0, abs_tol=1e-6)
    assert len(await memory.asearch_similar("item 5", limit=100)) == 60


class CountingWarmTier(WarmMemoryTier):
    """A sqlite tier that records the reads a search makes (with their prefixes)."""

    reads: list[str]

    async def get(self, key: str) -> object:
        self.reads.append("get")
        return await super().get(key)

    async def items(self, prefix: str = "") -> list[tuple[str, object]]:
        self.reads.append(f"items {prefix}")
        return await super().items(prefix)

    async def get_many(self, keys: Iterable[str]) -> dict[str, object]:
        self.reads.append("get_many")
        return await super().get_many(keys)


def counting_memory(path: Path) -> tuple[LongTermMemory, CountingWarmTier]:
    """A memory on its own connection to ``path``: two of them model two processes."""
    tier = CountingWarmTier(path, "bot")
    tier.reads = []
    return LongTermMemory(tier, agent_id="bot", embedding_provider=TopicEmbedder()), tier


async def test_another_memorys_changes_are_read_alone_not_the_whole_namespace(tmp_path: Path) -> None:
    """After another process adds or forgets entries, a search reads those entries only (the
    writers' change logs say which), and ranks exactly as a memory reading everything."""
    reader, reads = counting_memory(tmp_path / "m.db")
    writer, _ = counting_memory(tmp_path / "m.db")
    entries = await fill(writer)
    await reader.asearch_similar("my pet", limit=1)
    cat = await writer.aadd("A second cat, a pet animal called Tofu")
    await writer.aforget(entries[3].id)  # Miso
    reads.reads.clear()
    found = await reader.asearch_similar("my pet animal cat", limit=2)
    assert reads.reads == ["get", "items meta/writers/", "get_many"]
    assert [r.id for r in found][:1] == [cat.id] and entries[3].id not in {r.id for r in found}
    fresh = LongTermMemory(f"sqlite:///{tmp_path}/m.db", agent_id="bot", embedding_provider=TopicEmbedder())
    for query in ("my pet animal cat", "python code", "deploy on friday"):
        ours = [(r.id, r.score) for r in await reader.asearch_similar(query, limit=10)]
        assert ours == [(r.id, r.score) for r in await fresh.asearch_similar(query, limit=10)]
    for memory in (reader, writer, fresh):
        await memory.aclose()


async def test_a_reader_further_behind_than_the_change_log_reads_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kaizen_core.memory.long_term.CHANGE_LOG_IDS", 2)
    reader, reads = counting_memory(tmp_path / "m.db")
    writer, _ = counting_memory(tmp_path / "m.db")
    await fill(writer)
    await reader.asearch_similar("python", limit=1)
    dog = await writer.aadd("The dog Rex is a pet animal")
    await writer.aadd("Ship the release on friday")
    reads.reads.clear()
    assert dog.id in {r.id for r in await reader.asearch_similar("dog pet", limit=2)}
    assert reads.reads == ["get", "items meta/writers/", "get_many"]  # two writes: still in the log
    await writer.aadd("Python code review")
    await writer.aadd("Python workers on celery")
    await writer.aadd("The cat naps")
    reads.reads.clear()
    assert len(await reader.asearch_similar("python", limit=100)) == 9
    assert reads.reads == ["get", "items meta/writers/", "items "]  # three writes behind a log of two
    await writer.aforget(all=True)  # more entries than a log lists
    reads.reads.clear()
    assert await reader.asearch_similar("python", limit=100) == []
    assert reads.reads[-1] == "items "
    await reader.aclose()
    await writer.aclose()


async def test_entries_added_without_a_vector_by_another_memory_are_embedded_on_catch_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    provider = TopicEmbedder()
    reader = LongTermMemory(url, agent_id="bot", embedding_provider=provider)
    writer = LongTermMemory(url, agent_id="bot")  # no provider: stores entries only
    await fill(reader)
    await reader.asearch_similar("python", limit=1)
    server = await writer.aadd("The server infra")
    provider.calls = 0
    assert [r.id for r in await reader.asearch_similar("server port infra", limit=1)] == [server.id]
    assert provider.calls == 2  # the new entry (one batch), then the query
    stored = await reader.tier.get(f"vec/{server.id}")
    assert stored is not None and stored["model"] == "topics-v1"
    await reader.aclose()
    await writer.aclose()


@pytest.mark.parametrize("numpy", ["installed", "missing"])
async def test_two_writers_and_a_reader_agree_with_a_full_read_after_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numpy: str
) -> None:
    """Random adds and forgets by two memories (and the reader itself): after each, the
    reader's cached index ranks exactly as a memory reading the namespace afresh."""
    if numpy == "missing":
        monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.setattr("kaizen_core.memory.long_term.CHANGE_LOG_IDS", 4)  # some catch-ups, some full reads
    url = f"sqlite:///{tmp_path}/m.db"
    reader, a, b = (LongTermMemory(url, agent_id="bot", embedding_provider=OneHotEmbedder()) for _ in range(3))
    rng = random.Random(16)
    ids: list[str] = []
    for step in range(40):
        memory = rng.choice([reader, a, b])
        action = rng.random()
        if action < 0.6 or not ids:
            item = rng.randrange(8)  # few directions: many equal similarities, ties by age
            ids.append((await memory.aadd(f"item {item}", tags=[f"t{item % 3}"])).id)
        elif action < 0.85:
            await memory.aforget(ids.pop(rng.randrange(len(ids))))
        else:
            await memory.aforget(tags=[f"t{rng.randrange(3)}"])
            ids = [e.id for e in await reader.aall()]
        fresh = LongTermMemory(url, agent_id="bot", embedding_provider=OneHotEmbedder())
        for query in ("item 1", "item 4", "item 7"):
            expected = [(r.id, r.score) for r in await fresh.asearch_similar(query, limit=6)]
            assert [(r.id, r.score) for r in await reader.asearch_similar(query, limit=6)] == expected, step
        await fresh.aclose()
    for memory in (reader, a, b):
        await memory.aclose()


async def test_many_forgotten_entries_leave_the_index_compacted_and_right() -> None:
    memory = LongTermMemory("memory://", agent_id="bot", embedding_provider=OneHotEmbedder())
    kept = [await memory.aadd(f"item {n % 60}", tags=["keep" if n % 20 == 0 else "drop"]) for n in range(1200)]
    assert len(await memory.asearch_similar("item 0", limit=2000)) == 1200
    assert await memory.aforget(tags=["drop"]) == 1140
    hits = await memory.asearch_similar("item 0", limit=2000, min_similarity=0.5)
    assert [r.id for r in hits] == [e.id for e in kept if e.content == "item 0" and "keep" in e.tags]
    assert len(await memory.asearch_similar("item 20", limit=2000)) == 60
