"""Lifecycle-hook overhead: µs per trigger with 0, 1 and 10 handlers.

Baseline: awaiting an empty async function (what an event costs if the hook system
were absent but the call site stayed). Times are CPU time of this process, best of 5.
Run: ``python benchmarks/bench_hooks.py [N]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable

import anyio

from kaizen_core.hooks import HookContext, HookEvent, HookManager

EVENT = HookEvent.PRE_TOOL_CALL


async def _empty() -> None:
    return None


async def _async_handler(ctx: HookContext) -> None:
    return None


def _sync_handler(ctx: HookContext) -> None:
    return None


async def _suspending_handler(ctx: HookContext) -> None:
    await anyio.sleep(0)


async def _time(op: Callable[[], Awaitable[object]], n: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` CPU µs per call of ``op`` (process time: robust on a busy machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(n):
            await op()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def _manager(n_handlers: int, handler: Callable[[HookContext], object] = _async_handler) -> HookManager:
    hooks = HookManager()
    for i in range(n_handlers):
        hooks.register(EVENT, handler, name=f"h{i}")  # type: ignore[arg-type]
    return hooks


async def main(n: int) -> None:
    baseline = await _time(_empty, n)
    rows: list[tuple[str, float]] = []

    empty = _manager(0)

    async def guarded() -> None:
        if empty.has_handlers(EVENT):
            await empty.trigger(EVENT, agent_id="a")

    rows.append(("0 handlers, has_handlers() guard", await _time(guarded, n)))
    rows.append(("0 handlers, trigger()", await _time(lambda: empty.trigger(EVENT, agent_id="a"), n)))
    small = max(n // 50, 500)
    for label, hooks in (
        ("1 sync handler", _manager(1, _sync_handler)),
        ("1 async handler", _manager(1)),
        ("1 async handler that suspends once", _manager(1, _suspending_handler)),
        ("10 sync handlers", _manager(10, _sync_handler)),
        ("10 async handlers", _manager(10)),
    ):
        def op(h: HookManager = hooks) -> Awaitable[object]:
            return h.trigger(EVENT, agent_id="a", run_id="r", metadata={"tool": "x"})

        rows.append((label, await _time(op, small)))

    suspend = await _time(lambda: anyio.sleep(0), small)
    rows.append(("(reference: await anyio.sleep(0))", suspend))
    print(f"baseline: await empty async function: {baseline:.3f} µs")
    print(f"{'case':36} {'µs/event':>10} {'x baseline':>11}")
    for label, us in rows:
        print(f"{label:36} {us:10.3f} {us / baseline:11.2f}")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
