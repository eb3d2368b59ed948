"""Autonomous-loop overhead per tool call, against executing the same tool directly.

    python benchmarks/bench_autonomous.py [--calls 200] [--quick]

Cases (each a run of N cycles, one `file_exists` call per cycle, on the mock provider):
  * baseline: ToolRegistry.execute + MockProvider.complete awaited directly, N times;
  * loop, no checkpoints (enable_checkpoints=False): permission check, hooks guard, messages;
  * loop + journal/checkpoints on the file store (fsync per journal record);
  * loop + journal/checkpoints on sqlite.
Printed: ms per cycle and the ratio to the baseline. The journal's cost is dominated
by fsync, i.e. by the disk, not by Kaizen.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import CompletionRequest, Message
from kaizen_core.tools import ToolContext, ToolRegistry


def script(n: int) -> list[dict]:
    return [{"tool_calls": [{"name": "file_exists", "arguments": {"path": f"f{i}"}}]} for i in range(n)] + [
        {"summary": "done"}
    ]


async def baseline(n: int, root: Path) -> float:
    registry = ToolRegistry.from_config(["file_exists"], context=ToolContext(workspace_root=root))
    provider = MockProvider(script=script(n))
    messages = [Message(role="user", content="go")]
    start = time.perf_counter()
    for i in range(n):
        await provider.complete(CompletionRequest(messages=messages, tools=registry.definitions()))
        await registry.execute("file_exists", {"path": f"f{i}"})
        messages.append(Message(role="assistant", content="x"))
    return (time.perf_counter() - start) * 1000 / n


async def loop(n: int, root: Path, storage: str | None) -> float:
    config = AutonomousConfig(
        llm_provider="mock",
        max_cycles=n + 1,
        workspace_root=str(root),
        enable_checkpoints=storage is not None,
        checkpoint_storage=storage,
        checkpoint_frequency=10,
        enable_interrupts=False,
    )
    agent = BaseAutonomousAgent(config, "task -> summary", provider=MockProvider(script=script(n)), tools=["file_exists"])
    start = time.perf_counter()
    result = await agent.run_autonomous("bench")
    elapsed = (time.perf_counter() - start) * 1000 / (n + 1)
    assert result["stop_reason"] == "converged" and len(result["tool_calls"]) == n
    await agent.aclose()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeat = (50, 1) if args.quick else (args.calls, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases: dict[str, list[float]] = {"baseline": [], "loop (no checkpoints)": [], "loop + file journal": [], "loop + sqlite journal": []}
        await baseline(10, root)  # warm-up: imports, thread pool, plugin registry
        await loop(10, root, None)
        for r in range(repeat):
            cases["baseline"].append(await baseline(n, root))
            cases["loop (no checkpoints)"].append(await loop(n, root, None))
            cases["loop + file journal"].append(await loop(n, root, f"file://{root}/ckpt{r}"))
            cases["loop + sqlite journal"].append(await loop(n, root, f"sqlite://{root}/ckpt{r}.db"))
    base = statistics.median(cases["baseline"])
    print(f"autonomous loop, {n} cycles x {repeat} (median ms per cycle)")
    for name, values in cases.items():
        value = statistics.median(values)
        print(f"  {name:<24} {value:8.3f} ms   x{value / base:6.1f} vs baseline")


if __name__ == "__main__":
    anyio.run(main)
