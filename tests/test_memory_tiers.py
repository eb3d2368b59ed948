"""Built-in memory tiers: the conformance suite plus tier-specific behaviour."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from kaizen_core.errors import ConfigError, MemoryBackendError, PluginNotInstalledError
from kaizen_core.memory import MemoryTier, TextSearchable, open_tier
from kaizen_core.memory.hot import HotMemoryTier, HotStore
from kaizen_core.memory.warm import WarmMemoryTier
from kaizen_testing.memory_suite import MemoryTierSuite, TierFactory

pytestmark = pytest.mark.anyio


class TestHotTierSuite(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self) -> TierFactory:
        store = HotStore()

        async def make(namespace: str) -> MemoryTier:
            return HotMemoryTier(namespace, store=store, max_size=1000)

        return make


class TestHotTierFromUrlSuite(MemoryTierSuite):
    """The same suite through ``open_tier('memory://NAME')`` (a shared named store)."""

    @pytest.fixture
    def tier_factory(self, tmp_path: Path) -> TierFactory:
        url = f"memory://suite-{tmp_path.name}"

        async def make(namespace: str) -> MemoryTier:
            return open_tier(url, namespace=namespace)

        return make


class TestWarmTierSuite(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, tmp_path: Path) -> TierFactory:
        url = f"sqlite:///{tmp_path}/memory.db"

        async def make(namespace: str) -> MemoryTier:
            return open_tier(url, namespace=namespace)

        return make


class TestWarmTierUncompressedSuite(MemoryTierSuite):
    @pytest.fixture
    def tier_factory(self, tmp_path: Path) -> TierFactory:
        async def make(namespace: str) -> MemoryTier:
            return WarmMemoryTier(tmp_path / "plain.db", namespace, compress_threshold=None, fts=False)

        return make


# -- hot tier ----------------------------------------------------------------------------
async def test_lru_max_size_3_evicts_least_recently_used() -> None:
    tier = HotMemoryTier("lru", max_size=3, eviction="lru")
    for key in "abc":
        await tier.put(key, key)
    assert await tier.get("a") == "a"  # a is now most recent; b is least recent
    await tier.put("d", "d")
    assert await tier.keys() == ["a", "c", "d"]
    assert await tier.size() == 3
    assert (await tier.stats()).evictions == 1


async def test_fifo_ignores_reads() -> None:
    tier = HotMemoryTier("fifo", max_size=3, eviction="fifo")
    for key in "abc":
        await tier.put(key, key)
    await tier.get("a")
    await tier.put("d", "d")
    assert await tier.keys() == ["b", "c", "d"]


async def test_lfu_evicts_least_frequently_used() -> None:
    tier = HotMemoryTier("lfu", max_size=3, eviction="lfu")
    for key in "abc":
        await tier.put(key, key)
    for _ in range(3):
        await tier.get("a")
        await tier.get("c")
    await tier.get("b")
    await tier.get("a")
    await tier.put("d", "d")  # b has 2 uses, a 5, c 4
    assert await tier.keys() == ["a", "c", "d"]


async def test_hot_tier_never_exceeds_max_size() -> None:
    tier = HotMemoryTier("bounded", max_size=10)
    for i in range(100):
        await tier.put(f"k{i}", i)
        assert await tier.size() <= 10
    assert await tier.keys() == sorted(f"k{i}" for i in range(90, 100))


async def test_expired_entries_are_dropped_before_evicting_live_ones() -> None:
    now = [1000.0]
    tier = HotMemoryTier("expiry-first", max_size=2, clock=lambda: now[0])
    await tier.put("live", 1)
    await tier.put("short", 2, ttl=10)
    now[0] += 9.9
    assert await tier.exists("short")  # live until its TTL runs out
    now[0] += 0.1  # expired now, still in the table: the put below has to drop it
    await tier.put("new", 3)
    assert await tier.keys() == ["live", "new"]
    assert (await tier.stats()).evictions == 0


@pytest.mark.parametrize("kwargs", [{"eviction": "random"}, {"max_size": 0}, {"max_size": -3}])
async def test_hot_tier_rejects_bad_config(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        HotMemoryTier("x", **kwargs)  # type: ignore[arg-type]


async def test_memory_url_options_and_named_store_sharing() -> None:
    a = open_tier("memory://shared-test?max_size=2&eviction=fifo", namespace="n")
    b = open_tier("memory://shared-test", namespace="n")
    assert isinstance(a, HotMemoryTier) and a.max_size == 2 and a.eviction == "fifo"
    await a.put("k", "v")
    assert await b.get("k") == "v"
    private = open_tier("memory://", namespace="n")
    assert await private.get("k") is None
    await a.clear()


# -- warm tier ---------------------------------------------------------------------------
async def test_warm_tier_uses_wal_and_compresses_large_values(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    tier = WarmMemoryTier(path, "ns", compress_threshold=100)
    await tier.put("small", "x" * 10)
    await tier.put("large", "y" * 10_000)
    assert await tier.get("large") == "y" * 10_000
    await tier.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = dict(conn.execute("SELECT key, compressed FROM kaizen_memory").fetchall())
        sizes = dict(conn.execute("SELECT key, length(value) FROM kaizen_memory").fetchall())
    finally:
        conn.close()
    assert rows == {"small": 0, "large": 1}
    assert sizes["large"] < 1000  # 10 kB of 'y' compresses to a few dozen bytes


async def test_warm_tier_persists_across_instances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    first = open_tier(url, namespace="agent")
    await first.put("k", {"v": 1}, ttl=3600)
    await first.close()
    second = open_tier(url, namespace="agent")
    assert await second.get("k") == {"v": 1}
    await second.close()


async def test_warm_tier_fts_search_ranks_with_bm25(tmp_path: Path) -> None:
    tier = WarmMemoryTier(tmp_path / "fts.db", "ns")
    other = WarmMemoryTier(tmp_path / "fts.db", "other")
    assert isinstance(tier, TextSearchable)
    await tier.put("e/1", {"content": "the cat sat on the mat"})
    await tier.put("e/2", {"content": "cats and dogs; a cat, a cat, another cat"})
    await tier.put("e/3", {"content": "nothing relevant here"})
    await tier.put("e/4", "plain string about a cat")
    await tier.put("x/1", {"content": "cat outside the prefix"})
    await tier.put("n/1", {"no_content": "cat"})
    await other.put("e/9", {"content": "cat in another namespace"})
    hits = await tier.search_text("cat", limit=10, prefix="e/")
    keys = [k for k, _ in hits]
    assert set(keys) == {"e/1", "e/2", "e/4"}
    assert keys[0] == "e/2"  # most occurrences ranks first
    assert all(a >= b for (_, a), (_, b) in itertools.pairwise(hits))
    # overwriting re-indexes; deleting removes from the index
    await tier.put("e/2", {"content": "no felines anymore"})
    await tier.delete("e/1")
    assert [k for k, _ in await tier.search_text("cat", prefix="e/")] == ["e/4"]
    # query syntax is not interpreted (quotes, operators are just words)
    assert await tier.search_text('"unbalanced AND (', limit=5) == []
    await tier.close()
    await other.close()


async def test_warm_tier_fts_skips_expired(tmp_path: Path) -> None:
    import anyio

    tier = WarmMemoryTier(tmp_path / "fts.db", "ns")
    await tier.put("a", "expiring words", ttl=0.05)
    await tier.put("b", "lasting words")
    with anyio.fail_after(60):  # bounds a hang only
        while await tier.exists("a"):
            await anyio.sleep(0.02)
    assert [k for k, _ in await tier.search_text("words")] == ["b"]
    assert await tier.purge_expired() == 1
    await tier.close()


async def test_warm_tier_unwritable_path_is_memory_001(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    tier = WarmMemoryTier(blocker / "sub" / "m.db", "ns")
    with pytest.raises(MemoryBackendError) as info:
        await tier.put("k", 1)
    assert info.value.code == "MEMORY_001"
    assert "m.db" in str(info.value)


async def test_closed_warm_tier_raises(tmp_path: Path) -> None:
    tier = WarmMemoryTier(tmp_path / "c.db", "ns")
    await tier.put("k", 1)
    await tier.close()
    with pytest.raises(MemoryBackendError):
        await tier.get("k")


# -- URLs --------------------------------------------------------------------------------
def test_open_tier_unknown_scheme_names_the_package() -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        open_tier("redis-nope://localhost", namespace="x")
    assert info.value.code == "KAIZEN_003"


def test_open_tier_missing_plugin_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen_core import plugins

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # built-ins only
    plugins.reset()
    try:
        with pytest.raises(PluginNotInstalledError) as info:
            open_tier("s3://bucket/prefix", namespace="x")
        assert "kaizen-s3-storage" in str(info.value)
    finally:
        monkeypatch.delenv("KAIZEN_LOAD_PLUGINS")
        plugins.reset()


@pytest.mark.parametrize("bad", ["not a url", "", "sqlite://host/x.db", 42])
def test_open_tier_rejects_bad_urls(bad: object) -> None:
    with pytest.raises(ConfigError):
        open_tier(bad, namespace="x")  # type: ignore[arg-type]


def test_open_tier_passes_instances_through() -> None:
    tier = HotMemoryTier("mine")
    assert open_tier(tier, namespace="ignored") is tier


def test_url_errors_hide_passwords() -> None:
    with pytest.raises(PluginNotInstalledError) as info:
        open_tier("nosuch://user:hunter22@host/db", namespace="x")
    assert "hunter22" not in str(info.value)
