"""Pipeline overhead and parallel fan-out, against their baselines in the same run.

    python benchmarks/bench_orchestration.py [--quick] [--runs 200]

(a) Framework overhead of each of the nine patterns on the mock provider (no delay): a
    pipeline run against calling the same child agents directly, in the same order with
    the same inputs (captured from the pipeline's own child events in a warm-up run), in
    the same process. Printed per pattern and for the nine together: µs per run, the
    difference (what orchestration costs: input mapping, hooks guard, per-step interrupt
    scope and task, journal, usage sums, the pipeline agent's own run) and the ratio.
(b) Parallel fan-out: 100 mock agents whose model call awaits 50 ms, ``Pipeline.parallel``
    with max_workers 5, 10, 25, 100, against the ideal ``ceil(100 / max_workers) x 50 ms``;
    and the acceptance case, 6 agents of 0.3 s with max_workers=2 (ideal 0.9 s, one at a
    time 1.8 s). Printed: wall time, ideal, ratio.

Times are wall clock (``time.perf_counter``); (a) reports medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from typing import Any

from kaizen_core import BaseAgent, BaseAgentConfig, Signature
from kaizen_core.hooks import HookEvent, HookManager
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider

_SIGNATURES: dict[str, Signature] = {}


def agent(agent_id: str, spec: str = "task -> answer", delay: float = 0.0) -> BaseAgent:
    # One signature class per spec, as an application defines its signatures once: a fresh
    # class per agent would time pydantic compiling it on the first run, not orchestration.
    signature = _SIGNATURES.get(spec) or _SIGNATURES.setdefault(spec, Signature.parse(spec))
    return BaseAgent(BaseAgentConfig(llm_provider="mock"), signature, provider=MockProvider(delay=delay), agent_id=agent_id)


def patterns(hooks: HookManager | None = None) -> dict[str, Pipeline]:
    """The nine patterns over fresh mock agents (the same ids each call)."""
    opts: dict[str, Any] = {"hook_manager": hooks} if hooks is not None else {}
    trio = [agent(f"a{i}") for i in range(3)]
    tiers = [agent(f"t{i}", "task -> answer, confidence: float") for i in range(3)]
    return {
        "sequential": Pipeline.sequential(trio, **opts),
        "supervisor_worker": Pipeline.supervisor_worker(agent("sup", "task -> subtasks: list[str]"), trio, **opts),
        "router": Pipeline.router(trio, **opts),
        "ensemble": Pipeline.ensemble(trio, agent("syn", "task, perspectives: list -> summary"), top_k=3, **opts),
        "blackboard": Pipeline.blackboard(trio, agent("ctl", "task, blackboard: list -> solution, done: bool"), **opts),
        "consensus": Pipeline.consensus(trio, **opts),
        "debate": Pipeline.debate(trio[:2], rounds=3, judge=agent("judge", "task, transcript: list -> winner"), **opts),
        "handoff": Pipeline.handoff(tiers, **opts),
        "parallel": Pipeline.parallel(trio, **opts),
    }


async def capture_calls(name: str) -> list[tuple[BaseAgent, dict[str, Any]]]:
    """The (child, inputs) calls one run of pattern ``name`` makes, in order."""
    hooks = HookManager()
    seen: list[tuple[str, dict[str, Any]]] = []
    hooks.register(HookEvent.PRE_AGENT_LOOP, lambda ctx: seen.append((ctx.agent_id, dict(ctx.metadata.get("inputs") or {}))))
    pipeline = patterns(hooks)[name]
    await pipeline.run_async(task="Review the quarterly sales data")
    children = {a.agent_id: a for a in pipeline.agents_in_order()}
    return [(children[agent_id], inputs) for agent_id, inputs in seen if agent_id in children]


async def overhead(runs: int) -> None:
    print("(a) framework overhead per pattern (mock provider, no delay), median of", runs, "runs")
    print(f"    {'pattern':<18} {'pipeline µs':>12} {'direct µs':>10} {'overhead µs':>12} {'ratio':>6} {'children':>8}")
    total_pipe = total_direct = 0.0
    for name, pipeline in patterns().items():
        calls = await capture_calls(name)
        # the measured pipeline's own agents: same ids, fresh objects, no hooks
        children = {a.agent_id: a for a in pipeline.agents_in_order()}
        direct_calls = [(children[a.agent_id], inputs) for a, inputs in calls]
        for _ in range(20):  # warm-up
            await pipeline.run_async(task="Review the quarterly sales data")
            for child, inputs in direct_calls:
                await child.run_async(**inputs)
        pipe_times, direct_times = [], []
        for _ in range(runs):
            start = time.perf_counter()
            await pipeline.run_async(task="Review the quarterly sales data")
            pipe_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            for child, inputs in direct_calls:
                await child.run_async(**inputs)
            direct_times.append(time.perf_counter() - start)
        pipe, direct = statistics.median(pipe_times) * 1e6, statistics.median(direct_times) * 1e6
        total_pipe += pipe
        total_direct += direct
        print(f"    {name:<18} {pipe:12.0f} {direct:10.0f} {pipe - direct:12.0f} {pipe / direct:6.2f} {len(direct_calls):8d}")
    print(
        f"    {'all nine':<18} {total_pipe:12.0f} {total_direct:10.0f} {total_pipe - total_direct:12.0f} "
        f"{total_pipe / total_direct:6.2f}"
    )


async def fanout(count: int, seconds: float, max_workers: int) -> tuple[float, float]:
    agents = [agent(f"w{i}", delay=seconds) for i in range(count)]
    pipeline = Pipeline.parallel(agents, max_workers=max_workers, timeout=None)
    start = time.perf_counter()
    result = await pipeline.run_async(task="fan out")
    wall = time.perf_counter() - start
    assert result["succeeded"] == count, result["status"]
    return wall, math.ceil(count / max_workers) * seconds


async def fanouts(quick: bool) -> None:
    await fanout(100, 0.0, 100)  # warm-up: signatures compiled, registry built
    print("(b) parallel fan-out against the ideal ceil(n / max_workers) x delay")
    print(f"    {'agents x delay':<16} {'max_workers':>11} {'wall s':>8} {'ideal s':>8} {'ratio':>6}")
    for workers in (5, 10, 25, 100) if not quick else (10, 100):
        wall, ideal = await fanout(100, 0.05, workers)
        print(f"    {'100 x 50 ms':<16} {workers:11d} {wall:8.3f} {ideal:8.3f} {wall / ideal:6.2f}")
    wall, ideal = await fanout(6, 0.3, 2)
    print(f"    {'6 x 300 ms':<16} {2:11d} {wall:8.3f} {ideal:8.3f} {wall / ideal:6.2f}   (one at a time: 1.800 s)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a few seconds)")
    parser.add_argument("--runs", type=int, default=200, help="runs per pattern in (a)")
    args = parser.parse_args()
    await overhead(30 if args.quick else args.runs)
    print()
    await fanouts(args.quick)


if __name__ == "__main__":
    asyncio.run(main())
