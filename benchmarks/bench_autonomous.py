"""Autonomous-loop overhead per tool call, against executing the same tool directly.

    python benchmarks/bench_autonomous.py [--calls 200] [--parallel 3] [--quick]

Cases (each a run of N cycles, one `file_exists` call per cycle, on the mock provider):
  * baseline: ToolRegistry.execute + MockProvider.complete awaited directly, N times;
  * loop, no checkpoints (enable_checkpoints=False): permission check, hooks guard, messages;
  * loop + journal/checkpoints on the file store (group commit: one fsync'd write for the
    reply + the call's start, one for its result);
  * loop + journal/checkpoints on sqlite (one transaction per write);
  * the same three loops with ``--parallel`` concurrent `file_exists` calls per cycle
    (SAFE tools run concurrently: still two journal writes per cycle).
Printed: ms per cycle (wall, and CPU of the whole process: all threads, so the stores'
I/O threads count too; CPU is the steadier figure on a loaded machine), the ratio to the
baseline, the ratio of each journaled loop to the same loop without checkpoints, and the journal writes per cycle (counted by wrapping the
store's ``journal_append``/``journal_append_many``). The journal's cost is dominated by
fsync, i.e. by the disk, not by Kaizen: the fsync latency of the disk is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import anyio

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import CompletionRequest, Message
from kaizen_core.state import StateManager, open_store
from kaizen_core.tools import ToolContext, ToolRegistry


def script(n: int, parallel: int = 1) -> list[dict]:
    return [
        {"tool_calls": [{"name": "file_exists", "arguments": {"path": f"f{i}-{j}"}} for j in range(parallel)]}
        for i in range(n)
    ] + [{"summary": "done"}]


def count_journal_writes(manager: StateManager) -> list[int]:
    """Wrap the store's journal appends; returns the list that grows by one per durable write."""
    writes: list[int] = []
    store = manager.storage
    one, many = store.journal_append, store.journal_append_many

    async def journal_append(stream: str, record: bytes) -> None:
        writes.append(1)
        await one(stream, record)

    async def journal_append_many(stream: str, records: Sequence[bytes]) -> None:
        writes.append(len(records))
        await many(stream, records)

    store.journal_append = journal_append  # type: ignore[method-assign]
    store.journal_append_many = journal_append_many  # type: ignore[method-assign]
    return writes


def fsync_ms(root: Path, n: int = 100) -> float:
    """Median latency of appending 1 KB and fsyncing, on the disk the benchmark writes to."""
    path = root / "fsync-probe"
    samples = []
    with open(path, "ab") as fh:
        for _ in range(n):
            fh.write(b"x" * 1024)
            fh.flush()
            started = time.perf_counter()
            os.fsync(fh.fileno())
            samples.append(time.perf_counter() - started)
    path.unlink()
    return statistics.median(samples) * 1000


async def baseline(n: int, root: Path) -> tuple[float, float]:
    registry = ToolRegistry.from_config(["file_exists"], context=ToolContext(workspace_root=root))
    provider = MockProvider(script=script(n))
    messages = [Message(role="user", content="go")]
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await provider.complete(CompletionRequest(messages=messages, tools=registry.definitions()))
        await registry.execute("file_exists", {"path": f"f{i}"})
        messages.append(Message(role="assistant", content="x"))
    return (time.perf_counter() - start) * 1000 / n, (time.process_time() - cpu) * 1000 / n


async def loop(n: int, root: Path, storage: str | None, parallel: int = 1) -> tuple[float, float, float]:
    """Wall ms per cycle, CPU ms per cycle and journal writes per cycle."""
    config = AutonomousConfig(
        llm_provider="mock",
        max_cycles=n + 1,
        workspace_root=str(root),
        enable_checkpoints=storage is not None,
        checkpoint_frequency=10,
        enable_interrupts=False,
    )
    manager = StateManager(open_store(storage), retention_count=100) if storage is not None else None
    writes = count_journal_writes(manager) if manager is not None else []
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script(n, parallel)), tools=["file_exists"],
        state_manager=manager,
    )  # fmt: skip
    start, cpu = time.perf_counter(), time.process_time()
    result = await agent.run_autonomous("bench")
    elapsed = (time.perf_counter() - start) * 1000 / (n + 1)
    cpu_ms = (time.process_time() - cpu) * 1000 / (n + 1)
    assert result["stop_reason"] == "converged" and len(result["tool_calls"]) == n * parallel
    await agent.aclose()
    if manager is not None:
        await manager.storage.close()
    return elapsed, cpu_ms, len(writes) / (n + 1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=3, help="concurrent calls per cycle in the parallel cases")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeat = (50, 1) if args.quick else (args.calls, args.repeat)
    k = args.parallel
    names = ["loop (no checkpoints)", "loop + file journal", "loop + sqlite journal"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        times: dict[str, list[float]] = {"baseline": []}
        cpus: dict[str, list[float]] = {"baseline": []}
        writes: dict[str, float] = {}
        await baseline(10, root)  # warm-up: imports, thread pool, plugin registry
        await loop(10, root, None)
        for r in range(repeat):
            wall, cpu = await baseline(n, root)
            times["baseline"].append(wall)
            cpus["baseline"].append(cpu)
            for width in (1, k):
                stores = [None, f"file://{root}/ckpt{r}-{width}", f"sqlite://{root}/ckpt{r}-{width}.db"]
                for name, storage in zip(names, stores, strict=True):
                    label = name if width == 1 else f"{name}, {k} parallel"
                    elapsed, cpu, per_cycle = await loop(n, root, storage, width)
                    times.setdefault(label, []).append(elapsed)
                    cpus.setdefault(label, []).append(cpu)
                    writes[label] = per_cycle
        disk = fsync_ms(root)
    print(f"autonomous loop, {n} cycles x {repeat} (median ms per cycle); fsync of this disk: {disk:.2f} ms median")
    for title, figures in (("wall", times), ("CPU", cpus)):
        base = statistics.median(figures["baseline"])
        print(f" {title}:")
        for label, values in figures.items():
            value = statistics.median(values)
            plain = label.replace("loop + file journal", "loop (no checkpoints)").replace(
                "loop + sqlite journal", "loop (no checkpoints)"
            )
            vs_loop = (
                f"  x{value / statistics.median(figures[plain]):5.1f} vs the loop without" if plain != label else ""
            )
            per = f"  {writes[label]:.2f} journal writes/cycle" if label in writes and "journal" in label else ""
            print(f"  {label:<36} {value:8.3f} ms   x{value / base:6.1f} vs baseline{vs_loop}{per}")


if __name__ == "__main__":
    anyio.run(main)
