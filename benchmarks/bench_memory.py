"""Memory: tier get latency, and semantic search (``LongTermMemory.search_similar``) at scale.

(1) hot get p50/p95 (µs), warm get p95 on 100k entries, vs a dict baseline;
(2) ``search_similar`` p50/p95 on N entries with stored vectors (sqlite and memory tiers,
    several dimensions): warm, right after the memory's own add, after another memory's add
    and after another memory's forget (each search catches up on one change), and the first
    search (which reads the namespace); vs (a) the previous implementation, re-enacted here (keys, then
    one ``get`` per entry and per vector, pure-Python cosine) on a subset and scaled per
    entry, and (b) the floor: a numpy matrix product over vectors already in memory.

Run: ``python benchmarks/bench_memory.py [--entries 100000] [--reads 5000] [--search-entries 100000]
[--dims 64,384] [--searches 20] [--quick]``.
Targets: hot get p95 well under 1 ms; warm get p95 under 10 ms on 100k entries (issue 6);
100k entries searched in under 50 ms p95 (issue 16); memory disabled costs nothing
(kaizen_core import does not load the memory modules).
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


class FixedEmbedder:
    """Deterministic pseudo-random unit vectors (seeded by the text): no model in the loop."""

    name = "bench-embedder"
    model = "bench-v1"

    def __init__(self, dim: int) -> None:
        self.dim = dim

    async def embed(self, texts: list[str], *, model: str | None = None) -> object:
        from kaizen_core.providers import Embeddings

        vectors = []
        for text in texts:
            rng = random.Random(text)
            vectors.append([rng.gauss(0.0, 1.0) for _ in range(self.dim)])
        return Embeddings(vectors=vectors, model=self.model)


async def _fill_search(tier: object, n: int, dim: int) -> None:
    """N entries and their vectors written straight to the tier (bulk), as LongTermMemory stores them."""
    from kaizen_core.memory.long_term import MemoryEntry
    from kaizen_core.memory.vectors import encode_vector

    rng = random.Random(7)
    batch: dict[str, object] = {}
    for i in range(n):
        entry = MemoryEntry(id=f"{i:08d}", content=f"fact number {i} about topic {i % 97}", created_at=1e9 + i)
        batch[f"entry/{entry.id}"] = entry.stored()
        batch[f"vec/{entry.id}"] = encode_vector([rng.gauss(0.0, 1.0) for _ in range(dim)], FixedEmbedder.model)
        if len(batch) >= 20_000 or i == n - 1:
            await tier.put_many(batch)  # type: ignore[attr-defined]
            batch = {}


async def _previous_search(memory: object, query: str, limit: int) -> list[tuple[float, str]]:
    """What search_similar did before issue 16: 2N+1 tier reads and a pure-Python cosine per entry."""
    from kaizen_core.memory.long_term import MemoryEntry
    from kaizen_core.memory.vectors import decode_vector
    from kaizen_core.providers.similarity import cosine_similarity

    tier = memory.tier  # type: ignore[attr-defined]
    entries = []
    for key in await tier.keys("entry/"):
        raw = await tier.get(key)
        if raw is not None:
            entries.append(MemoryEntry.from_stored(raw))
    entries.sort(key=lambda e: e.created_at)
    vectors = {}
    for entry in entries:
        vectors[entry.id] = decode_vector(await tier.get("vec/" + entry.id), FixedEmbedder.model)
    (q,) = await memory._embed([query])  # type: ignore[attr-defined]
    scored = [(cosine_similarity(q, vectors[e.id] or []), e.id) for e in entries]
    scored.sort(reverse=True)
    return scored[:limit]


async def bench_search(n: int, dims: list[int], searches: int, baseline_n: int) -> None:
    import numpy as np

    from kaizen_core.memory import HotMemoryTier, LongTermMemory, WarmMemoryTier

    print(
        f"\nsemantic search: LongTermMemory.search_similar(limit=5), {searches} searches per case, ms, p50 / p95 "
        f"(previous impl: measured on {baseline_n} entries, scaled to {n})"
    )
    for dim in dims:
        with tempfile.TemporaryDirectory() as tmp:
            tiers = {
                "sqlite": WarmMemoryTier(Path(tmp) / "search.db", "bot"),
                "memory": HotMemoryTier("bot", max_size=None),
            }
            for tier_name, tier in tiers.items():
                t0 = time.perf_counter()
                await _fill_search(tier, n, dim)
                build = time.perf_counter() - t0
                memory = LongTermMemory(tier, agent_id="bot", embedding_provider=FixedEmbedder(dim))
                t = time.perf_counter()
                await memory.asearch_similar("warm up", limit=5)  # the first search reads the namespace
                first_ms = (time.perf_counter() - t) * 1e3
                samples, cpu = [], []
                for i in range(searches):
                    t, c = time.perf_counter(), time.process_time()
                    await memory.asearch_similar(f"query {i}", limit=5)
                    samples.append((time.perf_counter() - t) * 1e3)
                    cpu.append((time.process_time() - c) * 1e3)
                # right after the memory's own add (the add goes into its index), and after another
                # memory's add or forget on the same namespace (another process, say: the search reads
                # the writers' change logs and the entries they list)
                own, foreign, forgot = [], [], []
                other = LongTermMemory(tier, agent_id="bot", embedding_provider=FixedEmbedder(dim))
                for i in range(searches):
                    await memory.aadd(f"new fact {i}")
                    t = time.perf_counter()
                    await memory.asearch_similar(f"query {i}", limit=5)
                    own.append((time.perf_counter() - t) * 1e3)
                theirs = []
                for i in range(searches):
                    theirs.append(await other.aadd(f"their fact {i}"))
                    t = time.perf_counter()
                    await memory.asearch_similar(f"query {i}", limit=5)
                    foreign.append((time.perf_counter() - t) * 1e3)
                for i, entry in enumerate(theirs):
                    await other.aforget(entry.id)
                    t = time.perf_counter()
                    await memory.asearch_similar(f"query {i}", limit=5)
                    forgot.append((time.perf_counter() - t) * 1e3)
                # baseline (a): the previous implementation on a subset, scaled to N
                sub = (
                    WarmMemoryTier(Path(tmp) / f"sub-{tier_name}.db", "bot")
                    if tier_name == "sqlite"
                    else HotMemoryTier("bot", max_size=None)
                )
                await _fill_search(sub, baseline_n, dim)
                old_memory = LongTermMemory(sub, agent_id="bot", embedding_provider=FixedEmbedder(dim))
                t = time.perf_counter()
                await _previous_search(old_memory, "query 0", 5)
                old_ms = (time.perf_counter() - t) * 1e3 * n / baseline_n
                await sub.close()
                # baseline (b): the floor, a matrix product over vectors already in memory
                matrix = np.random.default_rng(1).standard_normal((n, dim)).astype(np.float32)
                q = np.random.default_rng(2).standard_normal(dim).astype(np.float32)
                floor = []
                for _ in range(searches):
                    t = time.perf_counter()
                    scores = (matrix @ q) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))
                    np.argpartition(scores, -5)[-5:]
                    floor.append((time.perf_counter() - t) * 1e3)
                p50, p95 = pct(samples, 0.5), pct(samples, 0.95)
                worst = max(p95, pct(own, 0.95), pct(foreign, 0.95), pct(forgot, 0.95))
                print(
                    f"  {tier_name:<6} {n // 1000}k x {dim:<4} p50 {p50:6.1f} p95 {p95:6.1f} (cpu p50 {pct(cpu, 0.5):5.1f}) | "
                    f"after own add {pct(own, 0.5):5.1f} / {pct(own, 0.95):5.1f} | "
                    f"after another's add {pct(foreign, 0.5):5.1f} / {pct(foreign, 0.95):5.1f} | "
                    f"after another's forget {pct(forgot, 0.5):5.1f} / {pct(forgot, 0.95):5.1f} | "
                    f"first search (full read) {first_ms:6.0f} | previous impl ~{old_ms:6.0f} (x{old_ms / p50:5.0f}) | "
                    f"numpy floor p50 {pct(floor, 0.5):5.1f} | target p95 < 50: {'OK' if worst < 50 else 'MISSED'}"
                    f"   [fill {build:.1f} s]"
                )
                await tier.close()


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
    parser.add_argument("--search-entries", type=int, default=100_000)
    parser.add_argument("--dims", default="64,384", help="embedding dimensions to search (comma separated)")
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10k entries, fewer reads and searches")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.reads, args.search_entries, args.searches = 10_000, 1000, 10_000, 5
    asyncio.run(bench(args.entries, args.reads))
    dims = [int(d) for d in args.dims.split(",") if d]
    asyncio.run(bench_search(args.search_entries, dims, args.searches, max(1000, args.search_entries // 20)))
    memory_disabled_cost()


if __name__ == "__main__":
    main()
