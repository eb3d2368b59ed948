"""The SQLite store's bytes on disk, WAL included: compressed payloads, a small WAL, freed pages returned."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
from pathlib import Path

import anyio
import pytest

from kaizen_core.state import AgentState, CheckpointMeta, StateManager
from kaizen_core.state.sqlite import WAL_AUTOCHECKPOINT_PAGES, WAL_BACKSTOP_PAGES, WAL_SIZE_LIMIT, SQLiteStorage

pytestmark = pytest.mark.anyio

_WORDS = "agent tool memory plan checkpoint result error retry budget model token stream user reply value".split()


def turn(i: int, size: int = 1024) -> dict[str, str]:
    """About ``size`` bytes of word soup: compresses like prose, not like "xxxx"."""
    rng = random.Random(i)
    words = [f"turn {i}"]
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(_WORDS) + str(rng.randrange(1000)))
    return {"role": "user" if i % 2 else "assistant", "content": " ".join(words)[:size]}


#: The most the WAL holds: the pages before a checkpoint, as many again committed while it
#: runs beside the writes; a frame is a page + 24 bytes. Under SQLite's own automatic
#: checkpoint (the backstop), which is what a WAL that never starts over would reach.
WAL_BOUND = 2 * WAL_AUTOCHECKPOINT_PAGES * (4096 + 24) + 32
assert WAL_BOUND < WAL_BACKSTOP_PAGES * (4096 + 24)


def on_disk(path: Path) -> dict[str, int]:
    return {s: os.path.getsize(f"{path}{s}") for s in ("", "-wal", "-shm") if os.path.exists(f"{path}{s}")}


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
async def test_two_hundred_turns_take_under_one_and_a_half_megabytes(tmp_path: Path, synchronous: str) -> None:
    """Also: the WAL starts over after each checkpoint: it never reaches the backstop.

    The saves are spaced as a run spaces them (by its model calls): each waits until the
    checkpoint it may have set off is done, instead of racing it. How far back-to-back saves
    get ahead of the checkpointer thread depends on the machine's load, so it is not asserted
    here; the commits that land while a checkpoint runs are the two tests below.
    """
    path = tmp_path / "c.db"
    store = SQLiteStorage(path, synchronous=synchronous)
    manager = StateManager(store, retention_count=0)
    state = AgentState(agent_id="a")
    for i in range(200):
        state.conversation_history.append(turn(i))
        state.step_number = i
        await manager.save_checkpoint(state)
        await store._checkpointer.drain()  # the checkpoint this save set off, if any, has run
        await store._io.drain()  # and its finish on the I/O thread
    sizes = on_disk(path)  # the store still open: its WAL counts
    content = sum(len(t["content"]) for t in state.conversation_history)
    assert sizes.get("-wal", 0) <= WAL_BOUND, sizes
    # a full snapshot per save would be ~100x the content (20 MB); LangGraph's saver ~70 MB
    assert sum(sizes.values()) <= 1_500_000, (sizes, content)
    assert await StateManager(store).load_checkpoint(state.checkpoint_id) == state
    await store.close()


async def test_pruning_gives_the_pages_back(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    manager = StateManager(store, retention_count=0, incremental=False)
    state = AgentState(agent_id="a")
    for i in range(60):
        state.conversation_history.append(turn(i, 4096))
        state.step_number = i
        await manager.save_checkpoint(state)
    await store.close()
    before = on_disk(path)[""]
    store = SQLiteStorage(path)
    manager = StateManager(store, retention_count=0)
    assert len(await manager.prune_checkpoints("a", keep=2)) == 58
    await store.close()  # the last connection checkpoints the WAL into the file
    after = on_disk(path)[""]
    # 58 of 60 snapshots gone; at most FREE_PAGES_LIMIT free pages are kept for reuse
    assert after < before / 3, (before, after)
    assert (await StateManager(SQLiteStorage(path)).resume_from_latest("a")) == state


async def test_saves_do_not_wait_for_the_wal_checkpoint(tmp_path: Path) -> None:
    """The checkpoint runs on the store's checkpointer thread: writes go on while it is held up."""
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    await store.write(CheckpointMeta(checkpoint_id="small", agent_id="b", created_at=1.0), b"x")
    database = on_disk(path)[""]
    held = threading.Event()
    store._checkpointer.post(held.wait)  # the checkpointer thread is busy until released
    # past the mark (a checkpoint is due) and past WAL_BOUND, under the backstop
    big = random.Random(0).randbytes(3 * WAL_AUTOCHECKPOINT_PAGES * 4096)
    assert len(big) < WAL_BACKSTOP_PAGES * 4096
    with anyio.fail_after(60):  # a hang guard only: these writes would wait forever behind the held thread
        await store.write(CheckpointMeta(checkpoint_id="big", agent_id="b", created_at=2.0), big)
        await store.write(CheckpointMeta(checkpoint_id="after", agent_id="b", created_at=3.0), b"y")
        assert (await store.read("big"))[1] == big
    assert on_disk(path)[""] == database  # nothing copied into the database yet
    assert on_disk(path)["-wal"] > WAL_BOUND
    held.set()
    await store._checkpointer.run(lambda: None)  # the checkpoint posted behind the held call has run
    assert on_disk(path)[""] >= database + len(big)  # copied into the database file
    await store.write(CheckpointMeta(checkpoint_id="last", agent_id="b", created_at=4.0), b"z")
    assert on_disk(path)["-wal"] <= WAL_SIZE_LIMIT  # started over, and cut back (the big write made it grow)
    assert (await store.read("big"))[1] == big and (await store.read("last"))[1] == b"z"
    await store.close()


async def test_a_commit_left_by_the_checkpointer_is_copied_before_the_wal_starts_over(tmp_path: Path) -> None:
    """Frames the checkpointer did not copy (a write in flight as its last pass ended) are
    copied by the I/O thread between two calls, so the next write starts the WAL over."""
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    held, gate = threading.Event(), threading.Event()
    store._checkpointer.post(held.wait)
    big = random.Random(0).randbytes(3 * WAL_AUTOCHECKPOINT_PAGES * 4096)
    await store.write(CheckpointMeta(checkpoint_id="big", agent_id="b", created_at=1.0), big)  # a checkpoint is due
    # A reader of another connection keeps "late" from starting the WAL over, as a write in
    # flight during the checkpointer's last pass would be kept: its frames land after the copy.
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM checkpoints").fetchone()
    store._io.post(gate.wait)
    late = asyncio.ensure_future(store.write(CheckpointMeta(checkpoint_id="late", agent_id="b", created_at=2.0), b"y"))
    await asyncio.sleep(0)  # submitted, behind the gate
    store._io.post(reader.execute, "COMMIT")  # the reader is gone once "late" is committed
    held.set()
    await store._checkpointer.run(lambda: None)  # it copied everything so far and posted its finish
    gate.set()
    await late
    await store.write(CheckpointMeta(checkpoint_id="last", agent_id="b", created_at=3.0), b"z")
    assert on_disk(path)["-wal"] <= WAL_SIZE_LIMIT  # started over (after the big write made it grow)
    assert (await store.read("late"))[1] == b"y" and (await store.read("last"))[1] == b"z"
    reader.close()
    await store.close()


async def test_journal_order_survives_deleting_the_newest_stream(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    await store.journal_append_many("old", [b'{"n": 1}', b'{"n": 2}'])
    await store.journal_append_many("newest", [b'{"x": 1}', b'{"x": 2}'])
    await store.journal_delete("newest")  # the rows with the largest sequence numbers go
    await store.journal_append("old", b'{"n": 3}')
    await store.journal_append_many("newest", [b'{"x": 3}'])
    await store.close()
    reopened = SQLiteStorage(path)
    assert await reopened.journal_read("old") == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    assert await reopened.journal_read("newest") == [b'{"x": 3}']
    await reopened.close()
