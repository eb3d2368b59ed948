"""The SQLite store's bytes on disk, WAL included: compressed payloads, a small WAL, freed pages returned."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from kaizen_core.state import AgentState, CheckpointMeta, StateManager
from kaizen_core.state.sqlite import WAL_AUTOCHECKPOINT_PAGES, WAL_PIGGYBACK_PAGES, SQLiteStorage

pytestmark = pytest.mark.anyio

_WORDS = "agent tool memory plan checkpoint result error retry budget model token stream user reply value".split()


def turn(i: int, size: int = 1024) -> dict[str, str]:
    """About ``size`` bytes of word soup: compresses like prose, not like "xxxx"."""
    rng = random.Random(i)
    words = [f"turn {i}"]
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(_WORDS) + str(rng.randrange(1000)))
    return {"role": "user" if i % 2 else "assistant", "content": " ".join(words)[:size]}


#: The most the WAL holds: the pages before an automatic checkpoint plus the small commit
#: that crossed the mark (a large one checkpoints itself); a frame is a page + 24 bytes.
WAL_BOUND = (WAL_AUTOCHECKPOINT_PAGES + WAL_PIGGYBACK_PAGES) * (4096 + 24) + 32


def on_disk(path: Path) -> dict[str, int]:
    return {s: os.path.getsize(f"{path}{s}") for s in ("", "-wal", "-shm") if os.path.exists(f"{path}{s}")}


async def test_two_hundred_turns_take_under_one_and_a_half_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    manager = StateManager(store, retention_count=0)
    state = AgentState(agent_id="a")
    for i in range(200):
        state.conversation_history.append(turn(i))
        state.step_number = i
        await manager.save_checkpoint(state)
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


async def test_a_large_snapshot_is_checkpointed_into_the_database_with_its_write(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SQLiteStorage(path)
    await store.write(CheckpointMeta(checkpoint_id="small", agent_id="b", created_at=1.0), b"x")
    database = on_disk(path)[""]
    # under WAL_AUTOCHECKPOINT_PAGES: SQLite alone would leave these pages in the WAL for now
    big = random.Random(0).randbytes(2 * WAL_PIGGYBACK_PAGES * 4096)
    await store.write(CheckpointMeta(checkpoint_id="big", agent_id="b", created_at=2.0), big)
    assert on_disk(path)[""] >= database + len(big)  # copied into the database file already
    await store.write(CheckpointMeta(checkpoint_id="after", agent_id="b", created_at=3.0), b"y")
    assert on_disk(path)["-wal"] <= WAL_BOUND
    assert (await store.read("big"))[1] == big and (await store.read("after"))[1] == b"y"
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
