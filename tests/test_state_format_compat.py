"""Checkpoints written before compression and the byte-driven snapshot policy still load and continue."""

from __future__ import annotations

import json
import random
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.state import AgentState, CheckpointMeta, StateManager, codec
from kaizen_core.state.sqlite import SQLiteStorage

pytestmark = pytest.mark.anyio


def old_payload(body: dict[str, Any]) -> bytes:
    """A payload as the writer before compression made it: ``KZ1 `` + crc32 + plain JSON."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return b"KZ1 " + b"%08x\n" % (zlib.crc32(data) & 0xFFFFFFFF) + data


def turn(i: int) -> dict[str, str]:
    return {"role": "user" if i % 2 else "assistant", "content": f"turn {i} " + random.Random(i).randbytes(200).hex()}


def test_new_payloads_are_compressed_and_old_ones_decode() -> None:
    state = {"checkpoint_id": "c", "conversation_history": [turn(i) for i in range(20)]}
    new = codec.encode_full(state)
    assert new.startswith(b"KZ1z") and len(new) < len(old_payload({"v": 1, "kind": "full", "state": state}))
    assert codec.decode(new, "here")["state"] == state
    assert codec.decode(old_payload({"v": 1, "kind": "full", "state": state}), "here")["state"] == state
    small = codec.encode_full({"checkpoint_id": "c"})
    assert small.startswith(b"KZ1 ")  # below COMPRESS_MIN: stored plain


async def test_an_old_delta_chain_loads_and_the_next_save_continues_it(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "old.db")
    states: list[AgentState] = []
    state = AgentState(agent_id="old")
    previous: dict[str, Any] | None = None
    for i in range(4):  # one full snapshot and three deltas, with the old metadata (depth only)
        state.conversation_history.append(turn(i))
        state.step_number = i
        state.parent_checkpoint_id = state.checkpoint_id if i else None
        state.checkpoint_id = f"old-{i}"
        current = state.model_dump(mode="json")
        if previous is None:
            body: dict[str, Any] = {"v": 1, "kind": "full", "state": current}
        else:
            body = {"v": 1, "kind": "delta", "base": previous["checkpoint_id"], **codec.diff(previous, current)}
        payload = old_payload(body)
        meta = CheckpointMeta(
            checkpoint_id=state.checkpoint_id, agent_id="old", parent_checkpoint_id=state.parent_checkpoint_id,
            step_number=i, created_at=time.time() + i, kind="delta" if i else "full",
            base_checkpoint_id=previous["checkpoint_id"] if previous else None, size_bytes=len(payload),
            extra={"depth": i},
        )  # fmt: skip
        await store.write(meta, payload)
        states.append(state.model_copy(deep=True))
        previous = current

    fresh = StateManager(store, retention_count=None)
    for i, expected in enumerate(states):
        assert await fresh.load_checkpoint(f"old-{i}") == expected
    resumed = await fresh.resume_from_latest("old")
    assert resumed == states[-1]
    resumed.conversation_history.append(turn(4))
    new_id = await fresh.save_checkpoint(resumed)
    assert new_id is not None
    (meta,) = [m for m in await fresh.list_checkpoints("old") if m.checkpoint_id == new_id]
    assert meta.kind in ("full", "delta") and isinstance(meta.extra.get("snapshot_bytes"), int)
    assert await StateManager(store).load_checkpoint(new_id) == resumed
    await store.close()
