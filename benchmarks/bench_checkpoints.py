"""Checkpoint benchmark: bytes and latency of incremental vs full snapshots, and against LangGraph.

Saves a conversation that grows by one 1 KB turn per save (200 turns by default) and
reports, per backend (file, file+gzip, sqlite):

* bytes on disk (the checkpoint files; for sqlite the database file *with* its WAL and
  shared-memory files, measured while the store is open), incremental vs full
  snapshots (the baseline, measured in the same run with ``incremental=False``), and
  their ratio;
* save and load latency p50/p95 (load = a cold StateManager rebuilding from storage).

Then the same 200 saves with LangGraph's ``SqliteSaver`` (langgraph-checkpoint-sqlite),
in the same run: in a throwaway venv created by this script under
``benchmarks/.venvs/langgraph`` (gitignored; never a dependency of Kaizen), run as a
subprocess, two ways: ``SqliteSaver.put`` called directly once per turn with the
conversation as the checkpoint's channel value, and a one-node ``StateGraph`` compiled
with the saver and invoked once per turn (what a LangGraph user gets). Bytes are the
database with its WAL; both sides use SQLite's defaults for durability (WAL,
``synchronous=FULL``: one fsync per commit).

    python benchmarks/bench_checkpoints.py [--turns 200] [--no-langgraph]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
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


def make_store(kind: str, root: Path, synchronous: str = "FULL") -> CheckpointStore:
    if kind == "file":
        return FilesystemStorage(root / "f")
    if kind == "file+gzip":
        return FilesystemStorage(root / "gz", compress=True)
    return SQLiteStorage(root / "c.db", synchronous=synchronous)


def sqlite_files_bytes(path: str | Path) -> int:
    """The database, its WAL and its shared-memory index: what the store occupies on disk."""
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal", "-shm") if os.path.exists(f"{path}{suffix}"))


def disk_bytes(store: CheckpointStore) -> int:
    if isinstance(store, FilesystemStorage):
        return sum(p.stat().st_size for p in store.root.rglob("*.ckpt"))
    if isinstance(store, SQLiteStorage):
        return sqlite_files_bytes(store.path)
    return 0


async def run(kind: str, incremental: bool, turns: int, root: Path, synchronous: str = "FULL") -> dict[str, float]:
    store = make_store(kind, root / ("inc" if incremental else "full"), synchronous)
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
    on_disk = disk_bytes(store)  # before the loads, with the store (and its WAL) open
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
        "disk_bytes": on_disk,
        "save_p50": pct(saves, 0.5) * 1e3,
        "save_p95": pct(saves, 0.95) * 1e3,
        "load_p50": pct(loads, 0.5) * 1e3,
        "load_p95": pct(loads, 0.95) * 1e3,
        "save_mean": statistics.fmean(saves) * 1e3,
    }
    await store.close()
    return result


_LANGGRAPH_CHILD = r"""
import json, os, random, sqlite3, sys, tempfile, time

_WORDS = "agent tool memory plan checkpoint result error retry budget model token stream user reply value".split()


def turn_text(i, size=1024):
    rng = random.Random(i)
    words = [f"turn {i}"]
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(_WORDS) + str(rng.randrange(1000)))
    return " ".join(words)[:size]


def files_bytes(path):
    return sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s))


def turn(i):
    return {"role": "user" if i % 2 else "assistant", "content": turn_text(i)}


def connect(path, synchronous):
    conn = sqlite3.connect(path, check_same_thread=False)
    if synchronous != "default":
        conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def saver_puts(turns, path, synchronous):
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(connect(path, synchronous))
    saver.setup()
    config = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
    messages, times = [], []
    for i in range(turns):
        messages.append(turn(i))
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": list(messages)}
        checkpoint["channel_versions"] = {"messages": i + 1}
        started = time.perf_counter()
        config = saver.put(config, checkpoint, {"source": "loop", "step": i}, {"messages": i + 1})
        times.append(time.perf_counter() - started)
    sync = saver.conn.execute("PRAGMA synchronous").fetchone()[0]
    return files_bytes(path), times, sync


def graph_invokes(turns, path, synchronous):
    import operator
    from typing import Annotated, TypedDict

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        messages: Annotated[list, operator.add]

    graph = StateGraph(State)
    graph.add_node("reply", lambda state: {})
    graph.add_edge(START, "reply")
    graph.add_edge("reply", END)
    saver = SqliteSaver(connect(path, synchronous))
    app = graph.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "bench"}}
    times = []
    for i in range(turns):
        started = time.perf_counter()
        app.invoke({"messages": [turn(i)]}, config)
        times.append(time.perf_counter() - started)
    sync = saver.conn.execute("PRAGMA synchronous").fetchone()[0]
    return files_bytes(path), times, sync


mode, turns, synchronous = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with tempfile.TemporaryDirectory() as tmp:
    run = saver_puts if mode == "put" else graph_invokes
    size, times, sync = run(turns, os.path.join(tmp, "lg.db"), synchronous)
print(json.dumps({"bytes": size, "times": times, "synchronous": sync}))
"""

_LANGGRAPH_PINS = ["langgraph-checkpoint-sqlite>=2,<4", "langgraph>=0.3,<2"]


def langgraph_python() -> Path:
    """The interpreter of the throwaway venv holding LangGraph (created on first use)."""
    venv = Path(__file__).resolve().parent / ".venvs" / "langgraph"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"creating {venv} with {', '.join(_LANGGRAPH_PINS)} (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *_LANGGRAPH_PINS], check=True)
        marker.write_text(" ".join(_LANGGRAPH_PINS))
    return python


def run_langgraph(mode: str, turns: int, synchronous: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(_LANGGRAPH_CHILD)
    try:
        out = subprocess.run(
            [str(langgraph_python()), fh.name, mode, str(turns), synchronous],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(fh.name)
    data = json.loads(out.strip().splitlines()[-1])
    times = data["times"]
    return {
        "disk_bytes": data["bytes"],
        "save_p50": pct(times, 0.5) * 1e3,
        "save_p95": pct(times, 0.95) * 1e3,
        "synchronous": data["synchronous"],
    }


async def main(turns: int, langgraph: bool) -> None:
    print(f"{turns} saves, one 1 KB turn added per save; latency in ms; load = cold manager from storage\n")
    header = f"{'backend':<10} {'mode':<12} {'bytes':>12} {'ratio':>7} {'save p50':>9} {'save p95':>9} {'load p50':>9} {'load p95':>9}"
    print(header)
    print("-" * len(header))
    ours: dict[str, float] = {}
    for kind in ("file", "file+gzip", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            full = await run(kind, False, turns, Path(tmp))
            inc = await run(kind, True, turns, Path(tmp))
        if kind == "sqlite":
            ours = inc
        for mode, r in (("full", full), ("incremental", inc)):
            size = r["disk_bytes"] or r["payload_bytes"]
            base = full["disk_bytes"] or full["payload_bytes"]
            print(
                f"{kind:<10} {mode:<12} {int(size):>12,} {size / base:>7.3f} "
                f"{r['save_p50']:>9.2f} {r['save_p95']:>9.2f} {r['load_p50']:>9.2f} {r['load_p95']:>9.2f}"
            )
    print("\nratio = bytes on disk / bytes of full snapshots of the same backend in this run")
    content = sum(len(turn_text(i)) for i in range(turns))
    print(f"conversation content: {content:,} bytes")
    if not langgraph:
        return
    print("\nagainst LangGraph's SqliteSaver, same saves, same run (bytes: database + WAL)")
    print("FULL: both with SQLite's default durability (an fsync per commit, so mostly the disk);")
    print("NORMAL: both with PRAGMA synchronous=NORMAL (no fsync per commit: the frameworks' own cost)")
    header = f"{'who':<44} {'bytes':>12} {'save p50':>9} {'save p95':>9}   kaizen: bytes / save p50 / save p95"
    print(header)
    print("-" * len(header))
    for synchronous in ("FULL", "NORMAL"):
        if synchronous == "FULL":
            mine = ours
        else:
            with tempfile.TemporaryDirectory() as tmp:
                mine = await run("sqlite", True, turns, Path(tmp), synchronous)
        rows = [(f"kaizen sqlite incremental, {synchronous}", mine)]
        for mode, label in (("put", "SqliteSaver.put per turn"), ("graph", "StateGraph.invoke per turn")):
            rows.append((f"langgraph {label}, {synchronous}", run_langgraph(mode, turns, synchronous)))
        for label, r in rows:
            ratio = (
                ""
                if r is mine
                else f"   1/{r['disk_bytes'] / mine['disk_bytes']:.0f} / 1/{r['save_p50'] / mine['save_p50']:.1f}"
                f" / 1/{r['save_p95'] / mine['save_p95']:.1f}"
            )
            print(f"{label:<44} {int(r['disk_bytes']):>12,} {r['save_p50']:>9.2f} {r['save_p95']:>9.2f}{ratio}")
    print("(1/n: kaizen's figure is n times smaller; below 1/1, kaizen is the larger or slower one)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--no-langgraph", action="store_true", help="skip the LangGraph comparison (no venv)")
    args = parser.parse_args()
    anyio.run(main, args.turns, not args.no_langgraph)
