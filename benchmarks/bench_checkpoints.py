"""Checkpoint benchmark: bytes and latency of incremental vs full snapshots.

Saves a conversation that grows by one 1 KB turn per save (200 turns by default) and
reports, per backend (file, file+gzip, sqlite):

* total payload bytes written, incremental vs full snapshots (the baseline, measured
  in the same run with ``incremental=False``), and their ratio;
* save and load latency p50/p95 (load = a cold StateManager rebuilding from storage).

    python benchmarks/bench_checkpoints.py [--turns 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from kaizen_core.state import AgentState, StateManager
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import SQLiteStorage
from kaizen_core.state.store import CheckpointStore

_WORDS = "agent tool memory plan checkpoint result error retry budget model token stream user reply value".split()


def turn_text(i: int, size: int = 1024) -> str:
    """About ``size`` bytes of word soup (compressible like prose, unlike 'xxxx')."""
    rng = random.Random(i)
    words: list[str] = [f"turn {i}"]
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(_WORDS) + str(rng.randrange(1000)))
    return " ".join(words)[:size]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_store(kind: str, root: Path) -> CheckpointStore:
    if kind == "file":
        return FilesystemStorage(root / "f")
    if kind == "file+gzip":
        return FilesystemStorage(root / "gz", compress=True)
    return SQLiteStorage(root / "c.db")


def disk_bytes(store: CheckpointStore) -> int:
    if isinstance(store, FilesystemStorage):
        return sum(p.stat().st_size for p in store.root.rglob("*.ckpt"))
    return 0


async def run(kind: str, incremental: bool, turns: int, root: Path) -> dict[str, float]:
    store = make_store(kind, root / ("inc" if incremental else "full"))
    manager = StateManager(store, retention_count=0, incremental=incremental)
    state = AgentState(agent_id="bench")
    ids: list[str] = []
    saves: list[float] = []
    for i in range(turns):
        state.conversation_history.append({"role": "user" if i % 2 else "assistant", "content": turn_text(i)})
        state.step_number = i
        t = time.perf_counter()
        cid = await manager.save_checkpoint(state)
        saves.append(time.perf_counter() - t)
        assert cid is not None
        ids.append(cid)
    payload_bytes = sum(m.size_bytes for m in await manager.list_checkpoints("bench"))
    loads: list[float] = []
    cold = StateManager(store)
    for cid in ids[:: max(1, turns // 50)]:
        t = time.perf_counter()
        await cold.load_checkpoint(cid)
        loads.append(time.perf_counter() - t)
    last = await StateManager(store).load_checkpoint(ids[-1])
    assert last == state, "benchmark state did not round-trip"
    result = {
        "payload_bytes": payload_bytes,
        "disk_bytes": disk_bytes(store),
        "save_p50": pct(saves, 0.5) * 1e3,
        "save_p95": pct(saves, 0.95) * 1e3,
        "load_p50": pct(loads, 0.5) * 1e3,
        "load_p95": pct(loads, 0.95) * 1e3,
        "save_mean": statistics.fmean(saves) * 1e3,
    }
    await store.close()
    return result


async def main(turns: int) -> None:
    print(f"{turns} saves, one 1 KB turn added per save; latency in ms; load = cold manager from storage\n")
    header = f"{'backend':<10} {'mode':<12} {'bytes':>12} {'ratio':>7} {'save p50':>9} {'save p95':>9} {'load p50':>9} {'load p95':>9}"
    print(header)
    print("-" * len(header))
    for kind in ("file", "file+gzip", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            full = await run(kind, False, turns, Path(tmp))
            inc = await run(kind, True, turns, Path(tmp))
        for mode, r in (("full", full), ("incremental", inc)):
            size = r["disk_bytes"] or r["payload_bytes"]
            base = full["disk_bytes"] or full["payload_bytes"]
            print(
                f"{kind:<10} {mode:<12} {int(size):>12,} {size / base:>7.3f} "
                f"{r['save_p50']:>9.2f} {r['save_p95']:>9.2f} {r['load_p50']:>9.2f} {r['load_p95']:>9.2f}"
            )
    print("\nratio = bytes written / bytes written by full snapshots of the same backend in this run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    anyio.run(main, args.turns)
