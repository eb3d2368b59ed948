"""The built-in stores run their blocking calls on one I/O thread each: order, cancellation,
several event loops, close() and fork (see kaizen_core/_io_thread.py)."""

from __future__ import annotations

import asyncio
import operator
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_core._io_thread import IOThread
from kaizen_core.errors import CheckpointNotFoundError, StorageError
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import WAL_AUTOCHECKPOINT_PAGES, SQLiteStorage
from kaizen_core.state.store import CheckpointMeta, CheckpointStore

Factory = Callable[[Path], CheckpointStore]
STORES: dict[str, Factory] = {
    "file": lambda root: FilesystemStorage(root / "ckpt"),
    "sqlite": lambda root: SQLiteStorage(root / "ckpt.db"),
}


def meta(checkpoint_id: str) -> CheckpointMeta:
    return CheckpointMeta(checkpoint_id=checkpoint_id, agent_id="a", created_at=time.time())


def store_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(("kaizen-file-store", "kaizen-sqlite-store"))}


@pytest.fixture(params=sorted(STORES))
def make_store(request: pytest.FixtureRequest) -> Factory:
    return STORES[request.param]


@pytest.mark.anyio
async def test_a_cancelled_write_still_lands_whole(tmp_path: Path, make_store: Factory) -> None:
    store = make_store(tmp_path)
    payload = os.urandom(2 * 1024 * 1024)
    task = asyncio.create_task(store.write(meta("c1"), payload))
    await asyncio.sleep(0)  # the task has submitted the write and awaits it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored_meta, stored = await store.read("c1")
    assert (stored_meta.checkpoint_id, stored) == ("c1", payload)
    await store.close()


@pytest.mark.anyio
async def test_cancelled_journal_appends_keep_their_order(tmp_path: Path, make_store: Factory) -> None:
    store = make_store(tmp_path)
    tasks = [asyncio.create_task(store.journal_append("s", str(i).encode())) for i in range(20)]
    await asyncio.sleep(0)
    for task in tasks[::2]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await store.journal_read("s") == [str(i).encode() for i in range(20)]
    await store.close()


@pytest.mark.anyio
async def test_errors_reach_the_caller_unchanged(tmp_path: Path, make_store: Factory) -> None:
    store = make_store(tmp_path)
    with pytest.raises(CheckpointNotFoundError):
        await store.read("missing")
    await store.write(meta("c1"), b"x")  # the thread survives a failed call
    assert (await store.read("c1"))[1] == b"x"
    await store.close()


def test_one_store_used_from_two_event_loops(tmp_path: Path, make_store: Factory) -> None:
    store = make_store(tmp_path)

    async def append(stream: str) -> None:
        for i in range(50):
            await store.journal_append(stream, f"{stream}{i}".encode())

    other = threading.Thread(target=asyncio.run, args=(append("b"),))
    other.start()
    asyncio.run(append("a"))
    other.join()

    async def read() -> tuple[list[bytes], list[bytes]]:
        records = await store.journal_read("a"), await store.journal_read("b")
        await store.close()
        return records

    a, b = asyncio.run(read())
    assert a == [f"a{i}".encode() for i in range(50)]
    assert b == [f"b{i}".encode() for i in range(50)]


@pytest.mark.anyio
async def test_close_stops_the_thread(tmp_path: Path, make_store: Factory) -> None:
    before = store_threads()
    store = make_store(tmp_path)
    await store.journal_append("s", b"1")
    started = store_threads() - before
    assert len(started) == 1
    await store.close()
    for thread in started:
        thread.join()  # returns once the thread has ended
    assert store_threads() - before == set()


@pytest.mark.anyio
async def test_a_closed_file_store_is_usable_again_but_a_closed_sqlite_store_is_not(tmp_path: Path) -> None:
    files = FilesystemStorage(tmp_path / "ckpt")
    await files.journal_append("s", b"1")
    await files.close()
    await files.journal_append("s", b"2")  # starts a new thread
    assert await files.journal_read("s") == [b"1", b"2"]
    await files.close()

    db = SQLiteStorage(tmp_path / "ckpt.db")
    await db.journal_append("s", b"1")
    await db.close()
    with pytest.raises(StorageError, match="closed"):
        await db.journal_read("s")


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX")
def test_a_forked_child_uses_its_own_thread(tmp_path: Path) -> None:
    files = FilesystemStorage(tmp_path / "ckpt")
    asyncio.run(files.journal_append("s", b"parent"))  # the parent's thread is running
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread does not exist here
        code = 1
        try:

            async def child() -> None:
                await files.journal_append("s", b"child")
                fresh = SQLiteStorage(tmp_path / "child.db")
                await fresh.write(meta("c1"), b"from the child")
                await fresh.close()
                await files.close()

            asyncio.run(child())
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    async def parent() -> None:
        assert await files.journal_read("s") == [b"parent", b"child"]
        fresh = SQLiteStorage(tmp_path / "child.db")
        assert (await fresh.read("c1"))[1] == b"from the child"
        await fresh.close()
        await files.close()

    asyncio.run(parent())


@pytest.mark.anyio
async def test_a_posted_call_runs_in_order_without_its_caller_waiting(caplog: pytest.LogCaptureFixture) -> None:
    io = IOThread("kaizen-test-post")
    order: list[str] = []
    gate = threading.Event()
    await io.run(order.append, "first")
    io.post(gate.wait)  # returns at once: the thread is busy until the gate opens
    io.post(order.append, "posted")
    io.post(operator.truediv, 1, 0)  # fails: logged, the thread goes on
    assert order == ["first"]
    gate.set()
    await io.run(order.append, "after")  # runs after everything posted before it
    assert order == ["first", "posted", "after"]
    assert "posted blocking call failed" in caplog.text and "ZeroDivisionError" in caplog.text
    io.stop()


@pytest.mark.anyio
async def test_close_stops_the_sqlite_checkpointer_thread(tmp_path: Path) -> None:
    def checkpointers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("kaizen-sqlite-checkpoint")}

    before = checkpointers()
    store = SQLiteStorage(tmp_path / "ckpt.db")
    await store.write(meta("big"), os.urandom(WAL_AUTOCHECKPOINT_PAGES * 4096))  # a checkpoint is due
    await store._checkpointer.run(lambda: None)  # it has run
    started = checkpointers() - before
    assert len(started) == 1
    await store.close()
    for thread in started:
        thread.join()
    assert checkpointers() - before == set()
    assert os.path.getsize(tmp_path / "ckpt.db") > WAL_AUTOCHECKPOINT_PAGES * 4096  # and checkpointed
    assert not os.path.exists(f"{tmp_path / 'ckpt.db'}-wal")  # the last connection removed the WAL
