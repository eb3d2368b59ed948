"""Executors: the local asyncio executor against Ray (kaizen-ray) on this machine, same run.

    python benchmarks/bench_executors.py [--runs 1000] [--delay 0.02] [--quick]

(a) Batch: ``agent.run_many`` over ``--runs`` mock runs whose model call awaits ``--delay``
    (20 ms), at most 100 in flight, on ``executor="local"`` and on a Ray pool (2 actors x 50,
    a local ``ray.init(num_cpus=2)``). Printed: wall time, the ideal
    ``ceil(runs / 100) x delay``, throughput, and the ratio Ray / local.
(b) Per-run overhead: 100 runs one at a time; median and p95 latency minus the model's delay, local and Ray.
(c) Memory per actor: resident set of each Ray worker process, fresh and after (a), and with
    every worker holding 50 runs in flight (KiB per run in flight).
(d) Acceptance, as a user writes it: ``Pipeline.parallel(200 agents, max_workers=50, executor="ray")``, children
    of 0.2 s, against the ideal 4 x 0.2 s (the first run builds the 200 agents on the
    workers, the second reuses them), and its results against the local executor's.
(e) A shared budget: the same batch with an ``ExecutionContext(call_limit=...)`` shared by
    every run (each model call reserves and settles on the one BudgetKeeper actor).

Times are wall clock (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from typing import Any

# A local Ray on 127.0.0.1 (by default Ray uses the machine's interface address): this
# benchmark's traffic stays on loopback. Read by ray at import, so set before kaizen-ray loads it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from kaizen_core import BaseAgent
from kaizen_core._sync import run_sync
from kaizen_core.orchestration import Pipeline, get_executor

SPEC = "question: str -> answer: str"


def mock_agent(agent_id: str, delay: float) -> BaseAgent:
    return BaseAgent({"llm_provider": "mock", "provider_config": {"delay": delay}}, SPEC, agent_id=agent_id)


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--quick", action="store_true", help="200 runs, 20 sequential, 100 parallel children")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())} on {__import__('os').cpu_count()} cores")
    runs = 200 if args.quick else args.runs
    sequential = 20 if args.quick else 100
    children = 100 if args.quick else 200
    in_flight = 100

    from kaizen_ray.executor import RayExecutor

    started = time.perf_counter()
    pool = RayExecutor(actors=2, max_concurrency=50, init_options={"num_cpus": 2, "include_dashboard": False})
    run_sync(pool.start)
    print(f"ray.init + 2 actors ready: {time.perf_counter() - started:.1f} s")
    fresh = run_sync(pool.stats)

    # (a) batch throughput
    agent = mock_agent("bench", args.delay)
    batch = [{"question": f"q{i}"} for i in range(runs)]
    agent.run_many(batch[:in_flight], executor=pool, max_concurrency=in_flight)  # warm: agent built on the workers
    agent.run_many(batch[:in_flight], max_concurrency=in_flight)
    ideal = math.ceil(runs / in_flight) * args.delay
    local_s, local_results = timed(lambda: agent.run_many(batch, max_concurrency=in_flight))
    ray_s, ray_results = timed(lambda: agent.run_many(batch, executor=pool, max_concurrency=in_flight))
    assert [r["answer"] for r in ray_results] == [r["answer"] for r in local_results]
    print(f"\n(a) {runs} runs of {args.delay * 1000:.0f} ms, {in_flight} in flight (ideal {ideal:.2f} s)")
    for name, wall in (("local", local_s), ("ray", ray_s)):
        print(f"    {name:5} {wall:6.2f} s  {runs / wall:7.0f} runs/s  {wall / ideal:5.2f}x ideal  "
              f"{(wall - ideal) / runs * 1e6:7.0f} µs/run above ideal")
    print(f"    ray / local: {ray_s / local_s:.2f}")

    # (b) one at a time: what the executor adds to one run's latency
    def one_by_one(executor: Any) -> list[float]:
        latencies = []
        for i in range(sequential):
            wall, _ = timed(lambda i=i: agent.run_many([{"question": f"s{i}"}], executor=executor))
            latencies.append(wall)
        return latencies

    local_lat, ray_lat = one_by_one(None), one_by_one(pool)

    def above(latencies: list[float], q: int) -> float:
        return (statistics.quantiles(latencies, n=100)[q - 1] - args.delay) * 1000

    print(f"\n(b) {sequential} runs one at a time, latency above the {args.delay * 1000:.0f} ms model call (median / p95)")
    print(f"    local {above(local_lat, 50):6.2f} / {above(local_lat, 95):6.2f} ms   "
          f"ray {above(ray_lat, 50):6.2f} / {above(ray_lat, 95):6.2f} ms   "
          f"ray adds {above(ray_lat, 50) - above(local_lat, 50):.2f} ms per run (median)")

    # (c) memory
    after = run_sync(pool.stats)
    print("\n(c) memory per actor (resident set)")
    for before, now in zip(fresh, after, strict=True):
        print(f"    pid {now['pid']}: fresh {mib(before['rss'])}, after the batch {mib(now['rss'])}, "
              f"{now['started']} runs, {now['agents']} agent(s) built")

    # (c') memory of runs in flight: every worker holding max_concurrency runs that wait on their model call
    import threading

    waiting = mock_agent("bench-waiting", 2.0)
    held = threading.Thread(target=lambda: waiting.run_many([{"question": f"w{i}"} for i in range(100)], executor=pool))
    held.start()
    while True:  # wait for the condition (every run in flight), not for a time
        busy = run_sync(pool.stats)
        if sum(w["in_flight"] for w in busy) == 100:
            break
        time.sleep(0.05)
    held.join()
    for idle, full in zip(after, busy, strict=True):
        print(f"    pid {full['pid']}: {full['in_flight']} runs in flight {mib(full['rss'])} "
              f"(+{(full['rss'] - idle['rss']) / max(full['in_flight'], 1) / 1024:.0f} KiB per run in flight)")

    # (e) a shared budget: every model call reserves and settles on the one BudgetKeeper actor
    from kaizen_core.permissions import ExecutionContext

    budgeted = BaseAgent(
        {"llm_provider": "mock", "provider_config": {"delay": args.delay}},
        SPEC,
        agent_id="bench-budget",
        execution_context=ExecutionContext(call_limit=10**9),
    )
    part = batch[: runs // 2]
    budgeted.run_many(part[:in_flight], executor=pool, max_concurrency=in_flight)
    plain_s, _ = timed(lambda: agent.run_many(part, executor=pool, max_concurrency=in_flight))
    shared_s, _ = timed(lambda: budgeted.run_many(part, executor=pool, max_concurrency=in_flight))
    print(f"\n(e) {len(part)} runs with a shared budget (BudgetKeeper actor) {shared_s:.2f} s against {plain_s:.2f} s "
          f"without: {(shared_s - plain_s) / len(part) * 1e6:.0f} µs per budgeted model call")

    # (d) the acceptance figure
    agents = [mock_agent(f"child-{i}", 0.2) for i in range(children)]
    waves = math.ceil(children / 50)
    ideal_d = waves * 0.2
    local_d, local_result = timed(lambda: Pipeline.parallel(agents, max_workers=50).run(task="go"))
    # as a user writes it: executor="ray" (its own pool, 2 actors x 100, on the Ray started above);
    # starting its actors is timed apart, like ray.init: it happens once per process
    pool_s, _ = timed(lambda: run_sync(get_executor("ray").start))
    cold, first = timed(lambda: Pipeline.parallel(agents, max_workers=50, executor="ray").run(task="go"))
    warm, second = timed(lambda: Pipeline.parallel(agents, max_workers=50, executor="ray").run(task="go"))
    same = all(
        {k: v for k, v in r.items() if k != "_meta"} == {k: v for k, v in local_result.items() if k != "_meta"}
        for r in (first, second)
    )
    print(f"\n(d) Pipeline.parallel({children} agents of 0.2 s, max_workers=50): ideal {waves} x 0.2 = {ideal_d:.2f} s")
    print(f"    local {local_d:.2f} s ({local_d / ideal_d:.2f}x)   ray first run {cold:.2f} s ({cold / ideal_d:.2f}x, "
          f"builds {children} agents)   ray warm {warm:.2f} s ({warm / ideal_d:.2f}x)   results equal: {same}")
    print(f"    (starting the executor's 2 actors beforehand: {pool_s:.1f} s, once per process)")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")
    run_sync(pool.aclose)
    run_sync(get_executor("ray").aclose)


if __name__ == "__main__":
    main()
