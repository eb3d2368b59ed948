"""TierManager: read-through, promotion, write-through/behind, demotion, stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core.errors import MemoryValueError
from kaizen_core.memory import HotMemoryTier, TierManager, TierManagerConfig, WarmMemoryTier

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_manager(tmp_path: Path, clock: FakeClock, **config: object) -> TierManager:
    hot = HotMemoryTier("agent", max_size=config.pop("max_size", 100))  # type: ignore[arg-type]
    warm = WarmMemoryTier(tmp_path / "warm.db", "agent")
    cold = WarmMemoryTier(tmp_path / "cold.db", "agent") if config.pop("cold", False) else None
    return TierManager(hot, warm, cold, TierManagerConfig(**config), clock=clock)  # type: ignore[arg-type]


async def test_entry_read_five_times_in_window_is_promoted(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = make_manager(tmp_path, clock, promotion_threshold=5, promotion_window=60)
    assert manager.warm is not None
    await manager.warm.put("fact", {"v": 1})
    for _ in range(4):
        assert await manager.get("fact") == {"v": 1}
        clock.now += 1
    assert not await manager.hot.exists("fact")
    assert await manager.get("fact") == {"v": 1}  # 5th read
    assert await manager.hot.exists("fact")
    stats = await manager.stats()
    assert stats["hot"].promotions == 1
    assert stats["warm"].hits == 5
    assert stats["hot"].misses == 5
    await manager.get("fact")
    assert (await manager.stats())["hot"].hits == 1
    await manager.close()


async def test_reads_outside_window_do_not_promote(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = make_manager(tmp_path, clock, promotion_threshold=3, promotion_window=10)
    assert manager.warm is not None
    await manager.warm.put("k", 1)
    for _ in range(6):
        await manager.get("k")
        clock.now += 6  # at most 2 reads inside any 10 s window
    assert not await manager.hot.exists("k")
    assert manager.access_count("k") <= 2
    await manager.close()


async def test_idle_entry_is_demoted_by_optimize(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = make_manager(tmp_path, clock, demote_after=100)
    await manager.put("idle", "old")
    await manager.put("busy", "new")
    clock.now += 80
    await manager.get("busy")
    clock.now += 30  # idle: 110 s since write; busy: 30 s since read
    result = await manager.optimize()
    assert result["hot"] == 1
    assert await manager.hot.keys() == ["busy"]
    assert manager.warm is not None and await manager.warm.get("idle") == "old"
    assert await manager.get("idle") == "old"  # still readable through the manager
    assert (await manager.stats())["hot"].demotions == 1
    await manager.close()


async def test_warm_to_cold_demotion_and_cold_read(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = make_manager(tmp_path, clock, cold=True, demote_after=10, cold_after=100)
    await manager.put("archive", [1, 2, 3])
    clock.now += 200
    result = await manager.optimize()
    assert result == {"hot": 1, "warm": 1}
    assert manager.warm is not None and manager.cold is not None
    assert not await manager.warm.exists("archive")
    assert await manager.cold.get("archive") == [1, 2, 3]
    assert await manager.get("archive") == [1, 2, 3]
    assert await manager.warm.get("archive") == [1, 2, 3]  # cold hit copied back to warm
    await manager.close()


async def test_write_through_persists_immediately(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock(), write_mode="through")
    await manager.put("k", {"a": 1})
    reader = WarmMemoryTier(tmp_path / "warm.db", "agent")
    assert await reader.get("k") == {"a": 1}
    await reader.close()
    await manager.close()


async def test_write_behind_queues_until_flush(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock(), write_mode="behind", max_size=2)
    for i in range(5):
        await manager.put(f"k{i}", i)
    assert manager.pending_writes == 5
    assert manager.warm is not None and await manager.warm.size() == 0
    assert await manager.hot.size() == 2  # hot never exceeds its size ...
    assert [await manager.get(f"k{i}") for i in range(5)] == [0, 1, 2, 3, 4]  # ... and nothing is lost
    assert await manager.flush() == 5
    assert await manager.warm.size() == 5
    await manager.close()


async def test_write_behind_flushes_at_max_pending_and_on_close(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock(), write_mode="behind", write_behind_max_pending=3)
    for i in range(4):
        await manager.put(f"k{i}", i)
    assert manager.pending_writes == 1
    await manager.close()
    reader = WarmMemoryTier(tmp_path / "warm.db", "agent")
    assert await reader.keys() == ["k0", "k1", "k2", "k3"]
    await reader.close()


async def test_delete_keys_exists_across_tiers(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock(), cold=True)
    assert manager.cold is not None
    await manager.put("a", 1)
    await manager.cold.put("b", 2)
    assert await manager.keys() == ["a", "b"]
    assert await manager.exists("b")
    assert await manager.delete("a") is True
    assert await manager.delete("a") is False
    assert await manager.get("a", "default") == "default"
    await manager.clear()
    assert await manager.keys() == []
    await manager.close()


async def test_invalid_values_touch_no_tier(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock())
    with pytest.raises(MemoryValueError):
        await manager.put("k", {1, 2})
    assert await manager.keys() == []
    await manager.close()


async def test_stats_report_latency_per_tier(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, FakeClock())
    await manager.put("k", 1)
    for _ in range(10):
        await manager.get("k")
    await manager.get("absent")
    stats = await manager.stats()
    assert set(stats) == {"hot", "warm"}
    hot = stats["hot"]
    assert hot.hits == 10 and hot.misses == 1
    assert hot.p50_ms is not None and hot.p95_ms is not None and hot.p50_ms <= hot.p95_ms
    assert stats["warm"].misses == 1
    await manager.close()


async def test_hot_only_manager(tmp_path: Path) -> None:
    async with TierManager(HotMemoryTier("solo", max_size=2)) as manager:
        await manager.put("a", 1)
        assert manager.persistent is None
        assert await manager.get("a") == 1
        assert await manager.flush() == 0
