"""The byte-driven snapshot policy: a full snapshot once the delta chain would cost a load more than one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kaizen_core.state import AgentState, CheckpointMeta, StateManager
from kaizen_core.state.manager import LINK_BYTES
from kaizen_core.state.sqlite import SQLiteStorage

pytestmark = pytest.mark.anyio


def noise(seed: int, size: int) -> str:
    return random.Random(seed).randbytes(size // 2).hex()


def chains(metas: list[CheckpointMeta]) -> list[tuple[int, int]]:
    """Per delta (oldest first): (bytes a load reads through its chain, bytes of the snapshot below it)."""
    out, chain, snapshot = [], 0, 0
    for m in reversed(metas):
        if m.kind == "full":
            chain, snapshot = 0, m.size_bytes + LINK_BYTES
        else:
            chain += m.size_bytes + LINK_BYTES
            out.append((chain, snapshot))
    return out


async def test_a_growing_conversation_gets_few_snapshots_and_bounded_chains(tmp_path: Path) -> None:
    manager = StateManager(SQLiteStorage(tmp_path / "c.db"), retention_count=0)
    state = AgentState(agent_id="grow")
    for i in range(120):
        state.conversation_history.append({"role": "user", "content": f"turn {i} " + noise(i, 1000)})
        state.step_number = i
        await manager.save_checkpoint(state)
    metas = await manager.list_checkpoints("grow")
    fulls = [m for m in metas if m.kind == "full"]
    assert 2 <= len(fulls) <= 12  # geometric spacing, not one every N saves
    # a chain never costs much more than twice the snapshot a load would otherwise read
    biggest = max(m.size_bytes for m in fulls) + LINK_BYTES
    assert all(chain <= 2 * max(snapshot, biggest) for chain, snapshot in chains(metas))
    assert await StateManager(manager.storage).load_checkpoint(metas[0].checkpoint_id) == state


async def test_a_large_state_with_small_changes_snapshots_again(tmp_path: Path) -> None:
    manager = StateManager(SQLiteStorage(tmp_path / "c.db"), retention_count=0)
    state = AgentState(agent_id="big", custom_state={"blob": noise(0, 8000), "counter": 0})
    for i in range(60):
        state.custom_state["counter"] = i
        state.step_number = i
        await manager.save_checkpoint(state)
    metas = await manager.list_checkpoints("big")
    snapshot = max(m.size_bytes for m in metas if m.kind == "full") + LINK_BYTES
    kinds = [m.kind for m in reversed(metas)]
    # each delta costs ~LINK_BYTES, so a snapshot follows after about snapshot / LINK_BYTES saves
    assert kinds.count("full") >= 60 // (2 * snapshot // LINK_BYTES + 2)
    assert kinds.count("delta") > kinds.count("full")
    # and no chain costs a load more than about a snapshot
    assert all(chain <= 2 * snapshot for chain, _ in chains(metas))
    assert await StateManager(manager.storage).load_checkpoint(metas[0].checkpoint_id) == state


async def test_full_snapshot_every_still_caps_the_chain(tmp_path: Path) -> None:
    manager = StateManager(SQLiteStorage(tmp_path / "c.db"), retention_count=0, full_snapshot_every=4)
    state = AgentState(agent_id="capped", custom_state={"blob": noise(1, 20000)})
    for i in range(12):
        state.step_number = i
        await manager.save_checkpoint(state)
    kinds = [m.kind for m in reversed(await manager.list_checkpoints("capped"))]
    assert kinds == ["full", "delta", "delta", "delta"] * 3
