"""The sqlite and file memory tiers and the audit hook run their blocking calls on an I/O thread
of their own (kaizen_core/_io_thread.py): call order across event loops, cancellation, close()
and interpreter exit, seen through their public API (docs/memory.md, docs/hooks.md).

Each ordering test holds the backend's own lock from outside (the sqlite write lock, the file
tier's documented ``<file>.lock`` flock) so that every call made meanwhile is waiting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.audit import verify_chain
from kaizen_core.errors import MemoryBackendError
from kaizen_core.hooks import AuditHook, HookEvent, HookManager
from kaizen_core.memory.file import FileMemoryTier
from kaizen_core.memory.tier import MemoryTier
from kaizen_core.memory.warm import WarmMemoryTier

pytestmark = pytest.mark.anyio

KINDS = ["sqlite", "file"]
THREAD_PREFIX = {"sqlite": "kaizen-sqlite-memory", "file": "kaizen-file-memory"}


def make_tier(kind: str, root: Path) -> MemoryTier:
    if kind == "sqlite":
        return WarmMemoryTier(root / "memory.db", "ns", busy_timeout=600.0)
    return FileMemoryTier(root / "memory.jsonl", "ns")


@contextlib.contextmanager
def backend_held(kind: str, root: Path) -> Iterator[None]:
    """Hold the backend's write lock from outside (another connection, another descriptor)."""
    if kind == "sqlite":
        other = sqlite3.connect(root / "memory.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        fd = os.open(root / "memory.jsonl.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            os.close(fd)


def tier_threads(kind: str, root: Path | None = None) -> list[threading.Thread]:
    """The live I/O threads of ``kind``'s tiers (of the tier under ``root`` only, if given)."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(THREAD_PREFIX[kind]) and (root is None or str(root) in t.name)
    ]


async def submitted(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """A task running ``coro``, once it has made its tier call and waits for the answer."""
    task = asyncio.ensure_future(coro)
    await asyncio.sleep(0)  # one step: the tier call is submitted before the first await
    return task


@contextlib.asynccontextmanager
async def second_loop() -> AsyncIterator[Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]]:
    """An event loop in another thread; ``submit(fn)`` starts ``fn()`` there and returns, once
    its tier call is submitted, an awaitable of its result (as the sync API's background loop)."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()

    async def submit(fn: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        ready = threading.Event()

        async def go() -> Any:
            task = await submitted(fn())  # type: ignore[arg-type]
            ready.set()
            return await task

        done = asyncio.run_coroutine_threadsafe(go(), loop)
        await asyncio.to_thread(ready.wait)
        return asyncio.wrap_future(done)

    try:
        yield submit
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tiers_calls_from_two_event_loops_run_in_call_order(tmp_path: Path, kind: str) -> None:
    tier = make_tier(kind, tmp_path)
    await tier.put("k", -1)  # the database and its schema exist before the lock is taken
    reads: list[Awaitable[Any]] = []
    writes: list[Awaitable[Any]] = []
    async with second_loop() as submit:
        with backend_held(kind, tmp_path):
            for i in range(8):  # a put on one loop, then a read of it on the other, alternately
                if i % 2:
                    writes.append(await submit(functools.partial(tier.put, "k", i)))
                    reads.append(await submitted(tier.get("k")))
                else:
                    writes.append(await submitted(tier.put("k", i)))
                    reads.append(await submit(lambda: tier.get("k")))
        await asyncio.gather(*writes)
        assert await asyncio.gather(*reads) == list(range(8))  # every read saw the put made just before it
    if kind == "file":
        lines = [json.loads(line) for line in (tmp_path / "memory.jsonl").read_text().splitlines()]
        assert [r["value"] for r in lines] == [-1, *range(8)]  # appended in call order
    await tier.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cancelled_put_still_lands_whole_and_close_waits_for_it(tmp_path: Path, kind: str) -> None:
    tier = make_tier(kind, tmp_path)
    await tier.put("other", 0)
    big = {"content": "x" * 200_000, "n": 1}
    with backend_held(kind, tmp_path):
        put = await submitted(tier.put("big", big))
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put  # at once: the put is still waiting for the lock held above
        closing = asyncio.ensure_future(tier.close())  # queued behind the cancelled put
        await asyncio.sleep(0)
        assert not closing.done()
    await closing
    reopened = make_tier(kind, tmp_path)
    assert await reopened.get("big") == big
    await reopened.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_close_stops_the_tiers_thread(tmp_path: Path, kind: str) -> None:
    tier = make_tier(kind, tmp_path)
    before = set(tier_threads(kind))
    await tier.put("k", 1)
    (thread,) = set(tier_threads(kind)) - before
    assert str(tmp_path) in thread.name
    await tier.close()
    thread.join(timeout=60)
    assert not thread.is_alive()
    await tier.close()  # twice is fine, and starts no thread
    assert tier_threads(kind, tmp_path) == []
    if kind == "sqlite":
        with pytest.raises(MemoryBackendError, match="closed"):
            await tier.get("k")
    else:  # nothing held open: the tier stays usable, on a new thread, until closed again
        assert await tier.get("k") == 1
        (again,) = set(tier_threads(kind)) - before
        await tier.close()
        again.join(timeout=60)
        assert not again.is_alive()
    assert set(tier_threads(kind)) <= before


async def test_an_error_in_the_thread_reaches_the_caller_and_the_next_call_runs(tmp_path: Path) -> None:
    sqlite_tier = WarmMemoryTier(tmp_path / "memory.db", "ns", fts=False)
    await sqlite_tier.put("k", "some text")
    with pytest.raises(MemoryBackendError, match="no FTS5 index") as raised:  # raised on the I/O thread
        await sqlite_tier.search_text("text")
    assert raised.value.code == "MEMORY_001"
    assert await sqlite_tier.get("k") == "some text"
    await sqlite_tier.close()

    file_tier = FileMemoryTier(tmp_path / "memory.jsonl", "ns")
    await file_tier.put("k", 1)
    with (tmp_path / "memory.jsonl").open("a") as fh:
        fh.write('{"op": "put", "ns": "ns"}\n')  # another writer's line without its key
    with pytest.raises(MemoryBackendError, match="unreadable line"):
        await file_tier.get("k")
    await file_tier.close()


def test_a_tier_serves_atexit_handlers_registered_before_it_started(tmp_path: Path) -> None:
    """Interpreter exit runs the thread finalizers' handler before earlier-registered ones: the
    tiers' threads must still answer those (a memory buffer flushes at exit the same way)."""
    script = textwrap.dedent(
        """
        import asyncio, atexit, sys
        from kaizen_core.memory.file import FileMemoryTier
        from kaizen_core.memory.warm import WarmMemoryTier

        tiers = [WarmMemoryTier(sys.argv[1] + "/m.db", "ns"), FileMemoryTier(sys.argv[1] + "/m.jsonl", "ns")]

        async def last_words():
            for tier in tiers:
                await tier.put("at-exit", "saved")

        atexit.register(lambda: asyncio.run(last_words()))

        async def main():
            for tier in tiers:
                await tier.put("during", "run")

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=120)

    async def read() -> list[Any]:
        found = []
        for tier in (WarmMemoryTier(tmp_path / "m.db", "ns"), FileMemoryTier(tmp_path / "m.jsonl", "ns")):
            found.append(await tier.get("at-exit"))
            await tier.close()
        return found

    assert asyncio.run(read()) == ["saved", "saved"]


# -- the audit hook --------------------------------------------------------------------------


async def test_audit_records_keep_the_order_events_reached_the_hook(tmp_path: Path) -> None:
    """With ``fsync_every=2`` some writes go to the I/O thread (those that fsync) and some would
    be made directly: one made directly must not overtake one still waiting in the thread."""
    path = tmp_path / "trail.jsonl"
    hook = AuditHook(path, fsync_every=2)
    hooks = HookManager()
    hooks.register_hook(hook)
    real_append = hook.writer.append
    first_thread_write_done, disk_back = threading.Event(), threading.Event()

    def slow_after_cycle_1(body: Mapping[str, Any]) -> dict[str, Any]:
        record = real_append(body)
        if body["cycle"] == 1:  # written and fsync'd; the thread is then held up
            first_thread_write_done.set()
            disk_back.wait()
        return record

    hook.writer.append = slow_after_cycle_1  # type: ignore[method-assign]

    def fire(cycle: int) -> Coroutine[Any, Any, Any]:
        return hooks.trigger(HookEvent.POST_CYCLE, agent_id="a", run_id="r", cycle=cycle)

    await fire(0)  # made directly (no fsync due)
    waiting = [await submitted(fire(1)), await submitted(fire(2))]  # 1 fsyncs: thread; 2 queues behind it
    await asyncio.to_thread(first_thread_write_done.wait)
    waiting.append(await submitted(fire(3)))  # no fsync due now, but 2 is still waiting: it queues
    disk_back.set()
    await asyncio.gather(*waiting)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["cycle"], r["seq"]) for r in rows] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert verify_chain(path).ok
    hook.close()


async def test_a_cancelled_audit_write_is_still_made_and_close_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    hook = AuditHook(path)
    hooks = HookManager()
    hooks.register_hook(hook)
    real_append = hook.writer.append
    writing, disk_back = threading.Event(), threading.Event()

    def slow(body: Mapping[str, Any]) -> dict[str, Any]:
        writing.set()
        disk_back.wait()
        return real_append(body)

    hook.writer.append = slow  # type: ignore[method-assign]
    task = asyncio.ensure_future(hooks.trigger(HookEvent.PRE_AGENT_LOOP, agent_id="a", run_id="r"))
    await asyncio.to_thread(writing.wait)
    (thread,) = [t for t in threading.enumerate() if t.name == f"kaizen-audit {path}"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    hook.writer.append = real_append  # type: ignore[method-assign]
    follow_up = await submitted(hooks.trigger(HookEvent.POST_AGENT_LOOP, agent_id="a", run_id="r"))
    disk_back.set()
    await follow_up
    hook.close()
    thread.join(timeout=60)
    assert not thread.is_alive()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["event"] for r in rows] == ["pre_agent_loop", "post_agent_loop"]
    assert verify_chain(path).message == "ok 2 records"
