"""MemoryTierSuite: the conformance tests every memory tier passes.

Subclass it in a ``Test...`` class and override the ``tier_factory`` fixture. It returns
an async callable ``make(namespace) -> MemoryTier``; every tier it makes must share ONE
fresh backend (same file, server database, bucket...) so namespace isolation can be
checked::

    from kaizen_testing.memory_suite import MemoryTierSuite

    class TestRedisTier(MemoryTierSuite):
        @pytest.fixture
        def tier_factory(self, redis_url):
            async def make(namespace):
                return RedisMemoryTier.from_url(redis_url, namespace=namespace)
            return make

The suite gives every namespace a unique suffix, clears and closes every tier it made,
and waits for TTL expiry by polling (``ttl_poll_timeout`` seconds, overridable) rather
than relying on exact timing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from kaizen_core.errors import MemoryValueError
from kaizen_core.memory.tier import MemoryTier, TierStats

TierFactory = Callable[[str], Awaitable[MemoryTier]]

__all__ = ["MemoryTierSuite", "TierFactory"]

JSON_VALUES: list[Any] = [
    "text",
    "",
    "unicode: héllo wörld ✓ 日本",
    0,
    -17,
    2**53,
    3.25,
    True,
    False,
    [],
    {},
    [1, "two", 3.0, None, [True]],
    {"nested": {"list": [1, 2, {"deep": "yes"}], "none": None}, "n": 1.5},
]


class MemoryTierSuite:
    """Conformance tests for :class:`kaizen_core.memory.MemoryTier` implementations."""

    #: seconds to wait (polling) for a short-TTL key to disappear: bounds a hang only, never a speed
    ttl_poll_timeout: float = 60.0
    #: short TTL used by expiry tests (seconds)
    short_ttl: float = 0.2

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    def tier_factory(self) -> TierFactory:
        """Override: return ``async make(namespace) -> MemoryTier`` over one fresh backend."""
        raise NotImplementedError("override the tier_factory fixture in your MemoryTierSuite subclass")

    @asynccontextmanager
    async def tiers(self, factory: TierFactory) -> AsyncIterator[Callable[[str], Awaitable[MemoryTier]]]:
        """Yield ``make(name)`` giving tiers with unique namespaces; clears and closes them afterwards."""
        made: list[MemoryTier] = []
        suffix = uuid.uuid4().hex[:8]

        async def make(name: str) -> MemoryTier:
            tier = await factory(f"{name}-{suffix}")
            made.append(tier)
            return tier

        try:
            yield make
        finally:
            for tier in made:
                try:
                    await tier.clear()
                finally:
                    await tier.close()

    async def wait_until_absent(self, tier: MemoryTier, key: str) -> None:
        with anyio.fail_after(self.ttl_poll_timeout):
            while await tier.exists(key):
                await anyio.sleep(0.05)

    # -- basic operations ------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_put_get_json_values(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("values")
            for i, value in enumerate(JSON_VALUES):
                await tier.put(f"k{i}", value)
            for i, value in enumerate(JSON_VALUES):
                got = await tier.get(f"k{i}")
                assert got == value and type(got) is type(value), (i, value, got)

    @pytest.mark.anyio
    async def test_none_value_is_stored(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("none")
            await tier.put("n", None)
            assert await tier.exists("n")
            assert await tier.get("n") is None
            assert await tier.keys() == ["n"]

    @pytest.mark.anyio
    async def test_tuple_comes_back_as_list(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("tuple")
            await tier.put("t", {"pair": (1, 2)})
            assert await tier.get("t") == {"pair": [1, 2]}

    @pytest.mark.anyio
    async def test_returned_value_is_a_copy(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("copy")
            original = {"items": [1]}
            await tier.put("c", original)
            original["items"].append(2)
            got = await tier.get("c")
            assert got == {"items": [1]}
            got["items"].append(3)
            assert await tier.get("c") == {"items": [1]}

    @pytest.mark.anyio
    async def test_get_missing_returns_none(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("missing")
            assert await tier.get("nope") is None
            assert not await tier.exists("nope")

    @pytest.mark.anyio
    async def test_overwrite(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("overwrite")
            await tier.put("k", 1)
            await tier.put("k", {"v": 2})
            assert await tier.get("k") == {"v": 2}
            assert await tier.size() == 1

    @pytest.mark.anyio
    async def test_delete(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("delete")
            await tier.put("k", "v")
            assert await tier.delete("k") is True
            assert await tier.get("k") is None
            assert not await tier.exists("k")
            assert await tier.delete("k") is False

    @pytest.mark.anyio
    async def test_keys_prefix_sorted(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("keys")
            for key in ["b/2", "a/1", "b/1", "c", "b"]:
                await tier.put(key, key)
            assert await tier.keys() == ["a/1", "b", "b/1", "b/2", "c"]
            assert await tier.keys("b/") == ["b/1", "b/2"]
            assert await tier.keys("b") == ["b", "b/1", "b/2"]
            assert await tier.keys("zzz") == []

    @pytest.mark.anyio
    async def test_items_are_keys_and_values_in_one_read(self, tier_factory: TierFactory) -> None:
        """``items(prefix)``: what ``keys(prefix)`` and ``get`` give, sorted by key, this namespace only."""
        async with self.tiers(tier_factory) as make:
            tier = await make("items")
            other = await make("items-other")
            for key in ["b/2", "a/1", "b/1", "c", "b"]:
                await tier.put(key, {"key": key, "n": [1, 2.5, None]})
            await other.put("b/3", "not mine")
            assert await tier.items() == [(k, {"key": k, "n": [1, 2.5, None]}) for k in ["a/1", "b", "b/1", "b/2", "c"]]
            assert [k for k, _ in await tier.items("b/")] == ["b/1", "b/2"]
            assert await tier.items("zzz") == []
            assert await other.items("b/") == [("b/3", "not mine")]

    @pytest.mark.anyio
    async def test_items_leave_out_expired_keys(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("items-ttl")
            await tier.put("e/short", "goes", ttl=self.short_ttl)
            await tier.put("e/long", "stays", ttl=3600)
            await self.wait_until_absent(tier, "e/short")
            assert await tier.items("e/") == [("e/long", "stays")]

    @pytest.mark.anyio
    async def test_prefixes_across_and_within_path_segments(self, tier_factory: TierFactory) -> None:
        """A prefix matches characters, not path segments: ``a`` covers ``a/1``, ``ab/2`` and ``abc``."""
        async with self.tiers(tier_factory) as make:
            tier = await make("segments")
            for key in ["ab/2", "a/1", "abc", "b/x", "a/1/deep", "ab"]:
                await tier.put(key, key)
            assert await tier.keys("a") == ["a/1", "a/1/deep", "ab", "ab/2", "abc"]
            assert await tier.keys("ab") == ["ab", "ab/2", "abc"]
            assert await tier.keys("a/") == ["a/1", "a/1/deep"]
            assert [k for k, _ in await tier.items("a/1/")] == ["a/1/deep"]
            assert [k for k, _ in await tier.items("ab/")] == ["ab/2"]
            await tier.delete("ab/2")
            assert await tier.keys("ab") == ["ab", "abc"]
            assert await tier.items("ab/") == []

    @pytest.mark.anyio
    async def test_get_many(self, tier_factory: TierFactory) -> None:
        """``get_many(keys)``: what ``get`` gives per key, absent and expired keys left out, this namespace only."""
        async with self.tiers(tier_factory) as make:
            tier = await make("many")
            other = await make("many-other")
            await tier.put("v/1", {"n": 1})
            await tier.put("v/2", [2, "two"])
            await tier.put("v/short", "goes", ttl=self.short_ttl)
            await other.put("v/3", "not mine")
            assert await tier.get_many([]) == {}
            assert await tier.get_many(["v/2", "v/1", "v/3", "absent", "v/1"]) == {"v/1": {"n": 1}, "v/2": [2, "two"]}
            await self.wait_until_absent(tier, "v/short")
            assert await tier.get_many(["v/short", "v/1"]) == {"v/1": {"n": 1}}
            assert await other.get_many(["v/1", "v/3"]) == {"v/3": "not mine"}
            many = {f"m/{i:03d}": i for i in range(600)}  # more keys than one sqlite query takes
            await tier.put_many(many)
            assert await tier.get_many(list(many)) == many
            with pytest.raises(MemoryValueError):
                await tier.get_many(["v/1", ""])

    @pytest.mark.anyio
    async def test_keys_with_special_characters(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("special")
            special = ["100%", "a_b", "a:b", "x*y", "q?", "[br]", "sp ace", "ünï/ç", "dot.ted", "back\\slash"]
            for key in special:
                await tier.put(key, key)
            for key in special:
                assert await tier.get(key) == key
            assert await tier.keys("100%") == ["100%"]
            assert await tier.keys("a_") == ["a_b"]  # '_' is not a wildcard
            assert await tier.keys("x*") == ["x*y"]
            assert await tier.keys("%") == []
            assert sorted(special) == await tier.keys()

    @pytest.mark.anyio
    async def test_size_and_clear(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("size")
            assert await tier.size() == 0
            for i in range(5):
                await tier.put(f"k{i}", i)
            assert await tier.size() == 5
            await tier.clear()
            assert await tier.size() == 0
            assert await tier.keys() == []
            await tier.put("after", 1)
            assert await tier.get("after") == 1

    @pytest.mark.anyio
    async def test_large_value_roundtrip(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("large")
            value = {"text": "lorem ipsum " * 20_000, "numbers": list(range(2000))}
            await tier.put("big", value)
            assert await tier.get("big") == value

    @pytest.mark.anyio
    async def test_put_many(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("many")
            await tier.put_many({f"k{i}": {"i": i} for i in range(20)})
            assert await tier.size() == 20
            assert await tier.get("k7") == {"i": 7}

    # -- validation (MEMORY_003) -----------------------------------------------------------
    @pytest.mark.anyio
    @pytest.mark.parametrize(
        "bad", [object(), {1, 2}, b"bytes", float("nan"), math.inf, {"nested": object()}], ids=repr
    )
    async def test_non_json_value_is_memory_002(self, tier_factory: TierFactory, bad: Any) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("badvalue")
            with pytest.raises(MemoryValueError) as info:
                await tier.put("k", bad)
            assert info.value.code == "MEMORY_003"
            assert not await tier.exists("k")

    @pytest.mark.anyio
    @pytest.mark.parametrize("bad", ["", None, 42, b"key"], ids=repr)
    async def test_invalid_key_is_memory_002(self, tier_factory: TierFactory, bad: Any) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("badkey")
            with pytest.raises(MemoryValueError) as info:
                await tier.put(bad, 1)
            assert info.value.code == "MEMORY_003"
            with pytest.raises(MemoryValueError):
                await tier.get(bad)

    @pytest.mark.anyio
    @pytest.mark.parametrize("bad", [0, -1, "10", math.nan], ids=repr)
    async def test_invalid_ttl_is_memory_002(self, tier_factory: TierFactory, bad: Any) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("badttl")
            with pytest.raises(MemoryValueError) as info:
                await tier.put("k", 1, ttl=bad)
            assert info.value.code == "MEMORY_003"

    # -- TTL -------------------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_ttl_expiry(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("ttl")
            await tier.put("long", "stays", ttl=3600)
            await tier.put("forever", "stays")
            await tier.put("short", "goes", ttl=self.short_ttl)
            await self.wait_until_absent(tier, "short")
            assert await tier.get("short") is None
            assert await tier.keys() == ["forever", "long"]
            assert await tier.size() == 2
            assert await tier.delete("short") is False
            assert await tier.get("long") == "stays"
            assert await tier.get("forever") == "stays"

    @pytest.mark.anyio
    async def test_expired_key_can_be_written_again(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("ttl-rewrite")
            await tier.put("k", 1, ttl=self.short_ttl)
            await self.wait_until_absent(tier, "k")
            await tier.put("k", 2)
            assert await tier.get("k") == 2

    @pytest.mark.anyio
    async def test_put_without_ttl_removes_previous_ttl(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("ttl-reset")
            await tier.put("k", 1, ttl=self.short_ttl)
            await tier.put("k", 2)
            # a sentinel with the same short TTL proves enough time passed
            await tier.put("sentinel", 0, ttl=self.short_ttl)
            await self.wait_until_absent(tier, "sentinel")
            assert await tier.get("k") == 2

    # -- isolation -------------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_namespace_isolation(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            a = await make("agent-a")
            b = await make("agent-b")
            await a.put("secret", "a's")
            await a.put("shared-name", 1)
            await b.put("shared-name", 2)
            assert await b.get("secret") is None
            assert not await b.exists("secret")
            assert await b.keys() == ["shared-name"]
            assert await a.keys() == ["secret", "shared-name"]
            assert (await a.size(), await b.size()) == (2, 1)
            assert await b.delete("secret") is False
            assert await a.get("secret") == "a's"
            await b.clear()
            assert await a.get("shared-name") == 1
            assert await a.size() == 2

    @pytest.mark.anyio
    async def test_namespace_is_not_a_key_prefix(self, tier_factory: TierFactory) -> None:
        """``ns='x'`` + key ``'y/z'`` must not collide with ``ns='x/y'`` + key ``'z'``."""
        async with self.tiers(tier_factory) as make:
            outer = await make("x")
            # same unique suffix is appended, so build the nested name from outer's namespace
            inner = await tier_factory(outer.namespace + "/y")
            try:
                await outer.put("y/z", "outer")
                await outer.put("y:z", "outer-colon")
                await inner.put("z", "inner")
                assert await outer.get("y/z") == "outer"
                assert await inner.get("z") == "inner"
                assert await inner.keys() == ["z"]
                assert await outer.keys() == ["y/z", "y:z"]
                await inner.clear()
                assert await outer.size() == 2
            finally:
                await inner.clear()
                await inner.close()

    @pytest.mark.anyio
    async def test_same_namespace_shares_data(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            first = await make("same")
            second = await tier_factory(first.namespace)
            try:
                await first.put("k", {"from": "first"})
                assert await second.get("k") == {"from": "first"}
            finally:
                await second.close()

    # -- concurrency -----------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_concurrent_puts_and_gets(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("concurrent")
            results: dict[int, Any] = {}

            async def writer(i: int) -> None:
                await tier.put(f"k{i:03d}", {"i": i})

            async def reader(i: int) -> None:
                results[i] = await tier.get(f"k{i:03d}")

            async with anyio.create_task_group() as tg:
                for i in range(40):
                    tg.start_soon(writer, i)
            async with anyio.create_task_group() as tg:
                for i in range(40):
                    tg.start_soon(reader, i)
            assert results == {i: {"i": i} for i in range(40)}
            assert await tier.size() == 40

    @pytest.mark.anyio
    async def test_concurrent_writes_to_one_key(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("one-key")
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(tier.put, "k", i)
            assert await tier.get("k") in set(range(20))
            assert await tier.size() == 1

    # -- stats and lifecycle ---------------------------------------------------------------
    @pytest.mark.anyio
    async def test_stats_count_hits_and_misses(self, tier_factory: TierFactory) -> None:
        async with self.tiers(tier_factory) as make:
            tier = await make("stats")
            await tier.put("k", 1)
            await tier.get("k")
            await tier.get("k")
            await tier.get("absent")
            stats = await tier.stats()
            assert isinstance(stats, TierStats)
            assert stats.hits >= 2
            assert stats.misses >= 1
            assert stats.puts >= 1
            assert stats.size == 1
            if stats.p95_ms is not None:
                assert stats.p50_ms is not None and 0 <= stats.p50_ms <= stats.p95_ms

    @pytest.mark.anyio
    async def test_close_twice_is_safe(self, tier_factory: TierFactory) -> None:
        tier = await tier_factory(f"close-{uuid.uuid4().hex[:8]}")
        await tier.put("k", 1)
        await tier.clear()
        await tier.close()
        await tier.close()
