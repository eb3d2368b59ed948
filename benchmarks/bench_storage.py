"""Server-backed storage benchmark: redis, PostgreSQL and S3 against the filesystem store.

Starts the test servers itself (redis-server, PostgreSQL via initdb, moto's S3 server,
through kaizen_testing.servers), then for each backend saves a conversation that
grows to ``--turns`` turns (about 1 KB each), saving after every turn, twice:
incremental (deltas, full snapshots by the StateManager's byte-driven policy) and full
snapshots. It reports save and load p50/p95 in ms (load = a cold store and StateManager
rebuilding a checkpoint, for ``--loads`` checkpoints spread over the run), the ratio to
the filesystem store measured in the same run, and per server backend the incremental
load p50 against the full-snapshot load p50 of the same run (one round trip per load
keeps it near 1x). For S3 it also counts the GET requests per load.

    python benchmarks/bench_storage.py [--turns 100] [--loads 20] [--only redis,postgres,s3] [--quick]

Needs the plugins (pip install -e plugins/kaizen-redis plugins/kaizen-postgres
plugins/kaizen-s3-storage), redis-server + PostgreSQL (scripts/install-system-deps.sh)
and moto[server].
"""

from __future__ import annotations

import argparse
import contextlib
import random
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import anyio

from kaizen_core.state import AgentState, StateManager, open_store

_WORDS = "agent tool memory plan checkpoint result error retry budget model token stream user reply value".split()


def turn_text(i: int, size: int = 1024) -> str:
    rng = random.Random(i)
    words = [f"turn {i}"]
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(_WORDS) + str(rng.randrange(1000)))
    return " ".join(words)[:size]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


async def run_backend(url: str, options: dict[str, Any], turns: int, loads: int, incremental: bool) -> dict[str, float]:
    store = open_store(url, **options)
    manager = StateManager(store, retention_count=None, incremental=incremental)
    state = AgentState(agent_id=f"bench-{'inc' if incremental else 'full'}-{time.time_ns()}")
    saves: list[float] = []
    ids: list[str] = []
    for i in range(turns):
        state.conversation_history.append({"role": "user" if i % 2 == 0 else "assistant", "content": turn_text(i)})
        state.step_number = i
        started = time.perf_counter()
        checkpoint_id = await manager.save_checkpoint(state)
        saves.append(time.perf_counter() - started)
        assert checkpoint_id is not None
        ids.append(checkpoint_id)
    load_times: list[float] = []
    gets: list[int] = []
    step = max(1, len(ids) // loads)
    for checkpoint_id in ids[step - 1 :: step][:loads]:
        cold_store = open_store(url, **options)  # nothing cached from the saves
        await cold_store.list(state.agent_id)  # connected (pool, client) before the clock starts
        counter = _count_gets(cold_store)
        cold = StateManager(cold_store)
        started = time.perf_counter()
        await cold.load_checkpoint(checkpoint_id)
        load_times.append(time.perf_counter() - started)
        gets.append(len(counter))
        await cold_store.close()
    loaded = await StateManager(store).load_checkpoint(ids[-1])
    assert loaded == state, f"{url}: last checkpoint does not load to the saved state"
    bytes_written = sum(m.size_bytes for m in await store.list(state.agent_id))
    stored = await _s3_object_bytes(store, state.agent_id)
    await store.close()
    return {
        "save_p50": pct(saves, 0.5),
        "save_p95": pct(saves, 0.95),
        "load_p50": pct(load_times, 0.5),
        "load_p95": pct(load_times, 0.95),
        "kb": bytes_written / 1024,
        "gets_max": max(gets) if gets else 0,
        "stored_kb": stored / 1024,
    }


async def _s3_object_bytes(store: Any, agent_id: str) -> int:
    """Bytes of an S3 store's checkpoint objects of ``agent_id`` (packed chains, gzip'd); 0 for other stores."""
    s3 = getattr(store, "s3", None)
    if s3 is None or not hasattr(s3, "list_keys"):
        return 0
    from kaizen_s3_storage.client import enc

    prefix = s3.location.key("ckpt", enc(agent_id))

    def total(client: Any) -> int:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3.location.bucket, Prefix=prefix)
        return sum(obj["Size"] for page in pages for obj in page.get("Contents", []))

    return int(await s3.call("bench", total, RuntimeError))


def _count_gets(store: Any) -> list[str]:
    """GetObject requests of an S3 store's client (a botocore event hook); [] for other stores."""
    seen: list[str] = []
    s3 = getattr(store, "s3", None)
    if s3 is not None and hasattr(s3, "client"):
        s3.client().meta.events.register("before-call.s3.GetObject", lambda **_: seen.append("GET"))
    return seen


@contextlib.contextmanager
def backends(only: set[str], tmp: str) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Start the requested servers; yield (name, url, options) per backend, file first."""
    found: list[tuple[str, str, dict[str, Any]]] = [("file", f"file://{tmp}/checkpoints", {})]
    with contextlib.ExitStack() as stack:
        if "redis" in only:
            from kaizen_testing.servers.redis import run_redis_server

            redis = stack.enter_context(run_redis_server())
            found.append(("redis", redis.url, {"key_prefix": f"bench{time.time_ns()}"}))
        if "postgres" in only:
            from kaizen_testing.servers.postgres import run_postgres_server

            postgres = stack.enter_context(run_postgres_server())
            found.append(("postgres", postgres.url, {}))
        if "s3" in only:
            from kaizen_testing.servers.s3 import run_s3_server

            s3 = stack.enter_context(run_s3_server())
            found.append(("s3", s3.url, {"endpoint_url": s3.endpoint_url}))
        yield found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--only", default="redis,postgres,s3")
    parser.add_argument("--quick", action="store_true", help="40 turns, 10 loads")
    args = parser.parse_args()
    if args.quick:
        args.turns, args.loads = 40, 10
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    results: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kaizen-bench-storage-") as tmp, backends(only, tmp) as found:
        for name, url, options in found:
            for mode, incremental in (("incremental", True), ("full", False)):
                results[(name, mode)] = anyio.run(run_backend, url, options, args.turns, args.loads, incremental)
    print(f"storage benchmark: {args.turns} turns (~1 KB each), save after every turn, {args.loads} cold loads")
    header = f"{'backend':<9} {'mode':<12} {'save p50':>9} {'save p95':>9} {'load p50':>9} {'load p95':>9} {'KB':>8}  vs file (save p50 / load p50)"
    print(header)
    print("-" * len(header))
    for (name, mode), r in results.items():
        base = results[("file", mode)]
        ratio = f"{r['save_p50'] / base['save_p50']:6.1f}x / {r['load_p50'] / base['load_p50']:6.1f}x"
        print(
            f"{name:<9} {mode:<12} {r['save_p50']:8.2f}ms {r['save_p95']:8.2f}ms {r['load_p50']:8.2f}ms "
            f"{r['load_p95']:8.2f}ms {r['kb']:8.0f}  {ratio}"
        )
    for name in sorted({n for n, _ in results} - {"file"}):
        inc, full = results[(name, "incremental")], results[(name, "full")]
        gets = (
            f", at most {inc['gets_max']} GET per load; objects hold {inc['stored_kb']:.0f} KB "
            f"(full snapshots: {full['stored_kb']:.0f} KB)"
            if name == "s3"
            else ""
        )
        print(f"{name}: incremental writes {inc['kb'] / full['kb']:.2f}x the bytes of full snapshots, "
              f"save p50 {inc['save_p50'] / full['save_p50']:.2f}x, "
              f"load p50 {inc['load_p50'] / full['load_p50']:.2f}x the full-snapshot load{gets}")  # fmt: skip
    print("(ms: median/95th percentile per operation; ratios >1 mean slower than the local filesystem store)")


if __name__ == "__main__":
    main()
