"""Memory tier latency: hot get p50/p95 (µs), warm get p95 on 100k entries, vs a dict baseline.

Run: ``python benchmarks/bench_memory.py [--entries 100000] [--reads 5000]``.
Targets (issue 6): hot get p95 well under 1 ms; warm get p95 under 10 ms on 100k entries;
memory disabled costs nothing (kaizen_core import does not load the memory modules).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, samples_s: list[float]) -> tuple[float, float]:
    us = [s * 1e6 for s in samples_s]
    p50, p95 = pct(us, 0.50), pct(us, 0.95)
    print(f"  {name:<28} p50 {p50:9.2f} µs   p95 {p95:9.2f} µs   mean {statistics.fmean(us):9.2f} µs")
    return p50, p95


async def bench(entries: int, reads: int) -> None:
    from kaizen_core.memory import HotMemoryTier, TierManager, WarmMemoryTier

    value = {"content": "the user prefers concise answers", "importance": 0.5, "tags": ["pref"]}
    keys = [f"entry/{i:06d}" for i in range(entries)]
    rng = random.Random(42)
    sample = [rng.choice(keys) for _ in range(reads)]

    # baseline: a plain dict get inside an async function (same call overhead shape)
    baseline: dict[str, object] = dict.fromkeys(keys[:10_000], value)

    async def dict_get(key: str) -> object:
        return baseline.get(key)

    base = []
    for key in sample:
        k = key if key in baseline else keys[0]
        t = time.perf_counter()
        await dict_get(k)
        base.append(time.perf_counter() - t)

    hot = HotMemoryTier("bench", max_size=10_000)
    await hot.put_many(dict.fromkeys(keys[:10_000], value))
    hot_samples = []
    for key in sample:
        k = key if key < keys[10_000 - 1] else keys[0]
        t = time.perf_counter()
        await hot.get(k)
        hot_samples.append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        warm = WarmMemoryTier(Path(tmp) / "bench.db", "bench")
        t0 = time.perf_counter()
        batch = 10_000
        for start in range(0, entries, batch):
            await warm.put_many(dict.fromkeys(keys[start : start + batch], value))
        build = time.perf_counter() - t0
        warm_samples = []
        for key in sample:
            t = time.perf_counter()
            await warm.get(key)
            warm_samples.append(time.perf_counter() - t)

        manager = TierManager(HotMemoryTier("bench", max_size=1000), warm)
        hot_key = keys[7]
        await manager.put(hot_key, value)
        mgr_samples = []
        for _ in range(reads):
            t = time.perf_counter()
            await manager.get(hot_key)
            mgr_samples.append(time.perf_counter() - t)
        await warm.close()

    print(f"memory tiers: {reads} random gets; warm tier holds {entries} entries (bulk insert {build:.1f} s)")
    _, base95 = describe("dict get (baseline)", base)
    _, h95 = describe("hot tier get", hot_samples)
    _, w95 = describe(f"warm tier get ({entries // 1000}k)", warm_samples)
    describe("manager get (hot hit)", mgr_samples)
    print(f"  ratio hot/dict p95: {h95 / base95:.1f}x   warm/dict p95: {w95 / base95:.0f}x")
    print(f"  target hot p95 < 1000 µs: {'OK' if h95 < 1000 else 'MISSED'} ({h95:.1f} µs)")
    print(f"  target warm p95 < 10 ms: {'OK' if w95 < 10_000 else 'MISSED'} ({w95 / 1000:.2f} ms)")


def memory_disabled_cost() -> None:
    code = (
        "import sys, kaizen_core, kaizen_core.memory;"
        "print(sorted(m for m in sys.modules if m.startswith('kaizen_core.memory.') and m != 'kaizen_core.memory.tier'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    print(f"memory disabled: modules loaded by 'import kaizen_core.memory' besides the contract: {out}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(bench(args.entries, args.reads))
    memory_disabled_cost()


if __name__ == "__main__":
    main()
