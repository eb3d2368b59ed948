"""StateManager behaviour: retention, forks, resume, incremental size, hooks, deletion."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.errors import CheckpointNotFoundError, InputValidationError
from kaizen_core.state import AgentState, StateManager, codec
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.state.sqlite import SQLiteStorage


def turn(i: int, size: int = 1024) -> dict[str, Any]:
    body = f"turn {i} "  # then pseudo-random hex: compresses like real text, not like "xxxx"
    noise = random.Random(i).randbytes(size).hex()
    return {"role": "user" if i % 2 == 0 else "assistant", "content": body + noise[: size - len(body)]}


@pytest.fixture
def manager(tmp_path: Path) -> StateManager:
    return StateManager(f"file://{tmp_path}/ckpt", retention_count=100)


@pytest.mark.anyio
async def test_three_saves_with_retention_two_leave_newest_two(tmp_path: Path) -> None:
    manager = StateManager(f"file://{tmp_path}/ckpt", retention_count=2)
    state = AgentState(agent_id="a")
    ids = []
    for i in range(3):
        state.step_number = i
        state.conversation_history.append(turn(i))
        ids.append(await manager.save_checkpoint(state))
    metas = await manager.list_checkpoints("a")
    assert [m.checkpoint_id for m in metas] == [ids[2], ids[1]]
    with pytest.raises(CheckpointNotFoundError):
        await manager.load_checkpoint(ids[0])
    fresh = StateManager(f"file://{tmp_path}/ckpt")
    assert (await fresh.load_checkpoint(ids[1])).step_number == 1
    assert await fresh.load_checkpoint(ids[2]) == state
    await manager.close()


@pytest.mark.anyio
async def test_fork_has_new_id_parent_and_is_independent(manager: StateManager) -> None:
    state = AgentState(agent_id="a", memory_contents={"facts": ["sky is blue"]})
    source_id = await manager.save_checkpoint(state)
    assert source_id is not None
    for new_agent in (None, "b"):
        fork = await manager.fork_from_checkpoint(source_id, new_agent_id=new_agent)
        assert fork.checkpoint_id != source_id
        assert fork.parent_checkpoint_id == source_id
        assert fork.agent_id == (new_agent or "a")
        fork.memory_contents["facts"].append("changed")
        fork.status = "failed"
        await manager.save_checkpoint(fork)
        source = await manager.load_checkpoint(source_id)
        assert source.memory_contents == {"facts": ["sky is blue"]}
        assert source.status == "running"
    tree = await manager.get_checkpoint_tree("a")
    assert tree["roots"] == [source_id]
    assert len(tree["nodes"][source_id]["children"]) == 1  # the same-agent fork


@pytest.mark.anyio
async def test_resume_from_latest_returns_newest(manager: StateManager, tmp_path: Path) -> None:
    assert await manager.resume_from_latest("a") is None
    state = AgentState(agent_id="a")
    for i in range(4):
        state.step_number = i
        await manager.save_checkpoint(state)
    other = AgentState(agent_id="b", step_number=99)
    await manager.save_checkpoint(other)
    resumed = await StateManager(f"file://{tmp_path}/ckpt").resume_from_latest("a")
    assert resumed == state
    assert resumed is not None and resumed.step_number == 3


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["file", "sqlite"])
async def test_200_incremental_saves_load_exactly_and_stay_small(tmp_path: Path, backend: str) -> None:
    url = f"file://{tmp_path}/ckpt" if backend == "file" else f"sqlite:///{tmp_path}/c.db"
    manager = StateManager(url, retention_count=0)
    state = AgentState(agent_id="grower")
    ids, full_bytes = [], 0
    for i in range(200):
        state.conversation_history.append(turn(i))
        state.step_number = i
        state.budget_spent_usd = i * 0.001
        ids.append(await manager.save_checkpoint(state))
        full_bytes += len(state.model_dump_json())
        assert await manager.load_checkpoint(ids[-1]) == state
    metas = await manager.list_checkpoints("grower")
    written = sum(m.size_bytes for m in metas)
    ratio = written / full_bytes
    print(f"\n{backend}: incremental {written} bytes vs full snapshots {full_bytes} bytes: ratio {ratio:.3f}")
    assert len(metas) == 200
    assert ratio < 1 / 5
    fresh = StateManager(url)  # every checkpoint loads from storage alone too
    for i in (0, 1, 19, 20, 21, 150, 199):
        loaded = await fresh.load_checkpoint(ids[i])
        assert loaded.step_number == i
        assert len(loaded.conversation_history) == i + 1
    await manager.close()
    await fresh.close()


@pytest.mark.anyio
async def test_delta_records_only_changes(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    manager = StateManager(store)
    state = AgentState(agent_id="a", conversation_history=[turn(i) for i in range(50)])
    await manager.save_checkpoint(state)
    state.conversation_history.append(turn(50))
    cid = await manager.save_checkpoint(state)
    assert cid is not None
    meta, payload = await store.read(cid)
    assert meta.kind == "delta"
    assert len(payload) < 2048  # one turn plus ids (compressed), not 51 KB
    assert codec.decode(payload, "t")["lists"]["conversation_history"] == {"keep": 50, "append": [turn(50)]}
    # an edit in the past: truncate marker plus the rewritten tail, still exact
    state.conversation_history[48] = {"role": "user", "content": "edited"}
    state.conversation_history.pop()
    cid = await manager.save_checkpoint(state)
    assert cid is not None
    meta, payload = await store.read(cid)
    assert meta.kind == "delta" and len(payload) < 2048
    assert await StateManager(store).load_checkpoint(cid) == state


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["file", "sqlite"])
async def test_edits_in_place_anywhere_are_saved_and_saved_states_never_change(tmp_path: Path, backend: str) -> None:
    store = FilesystemStorage(tmp_path / "f") if backend == "file" else SQLiteStorage(tmp_path / "c.db")
    manager = StateManager(store, retention_count=0)
    state = AgentState(
        agent_id="e",
        conversation_history=[turn(i, 64) for i in range(6)],
        memory_contents={"facts": {"a": [1, 2, 3], "b": {"deep": "x"}}, "n": 1},
        custom_state={"calls": [{"id": 1}], "flag": "on"},
    )
    saved: list[tuple[str, dict[str, Any]]] = []

    async def save() -> None:
        cid = await manager.save_checkpoint(state)
        assert cid is not None
        saved.append((cid, state.model_dump(mode="json")))

    await save()
    state.conversation_history[2]["content"] = "edited in place"  # an old turn, same dict object
    state.conversation_history.append(turn(6, 64))
    await save()
    state.memory_contents["facts"]["a"].append(4)  # nested list grows in place
    state.memory_contents["facts"]["b"]["deep"] = "y"  # nested dict edited in place
    del state.memory_contents["n"]
    state.custom_state["calls"][0]["id"] = 2
    await save()
    state.custom_state["flag"] = ("a", "tuple")  # saved as JSON: a list
    state.custom_state["calls"] = {"now": "a dict"}
    state.conversation_history[:] = state.conversation_history[:3]
    await save()
    state.conversation_history.append(turn(7, 64))
    await save()
    cold = StateManager(store)
    for cid, expected in saved:
        for loader in (manager, cold):
            loaded = (await loader.load_checkpoint(cid)).model_dump(mode="json")
            assert loaded == expected, cid
    assert (await cold.load_checkpoint(saved[-1][0])).custom_state["flag"] == ["a", "tuple"]
    await store.close()


@pytest.mark.anyio
async def test_full_snapshot_every_and_non_incremental(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "c.db")
    manager = StateManager(store, full_snapshot_every=3)
    # a large state with tiny changes: only the count cap makes these snapshots
    state = AgentState(agent_id="a", conversation_history=[turn(i) for i in range(50)])
    for i in range(7):
        state.step_number = i
        await manager.save_checkpoint(state)
    kinds = [m.kind for m in reversed(await manager.list_checkpoints("a"))]
    assert kinds == ["full", "delta", "delta", "full", "delta", "delta", "full"]
    plain = StateManager(store, incremental=False)
    other = AgentState(agent_id="b")
    for _ in range(3):
        await plain.save_checkpoint(other)
    assert {m.kind for m in await plain.list_checkpoints("b")} == {"full"}
    await store.close()


@pytest.mark.anyio
async def test_delete_middle_of_chain_keeps_descendants_loadable(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    manager = StateManager(store)
    state = AgentState(agent_id="a")
    ids, states = [], []
    for i in range(5):
        state.conversation_history.append(turn(i, 100))
        ids.append(await manager.save_checkpoint(state))
        states.append(state.model_copy(deep=True))
    assert await manager.delete_checkpoint(ids[2]) is True
    assert await manager.delete_checkpoint(ids[2]) is False
    fresh = StateManager(store)
    for i in (0, 1, 3, 4):
        assert await fresh.load_checkpoint(ids[i]) == states[i]
    assert (await store.read(ids[3]))[0].kind == "full"


@pytest.mark.anyio
async def test_branch_from_older_checkpoint_records_it_as_parent(manager: StateManager) -> None:
    state = AgentState(agent_id="a")
    first = await manager.save_checkpoint(state)
    state.step_number = 1
    await manager.save_checkpoint(state)
    assert first is not None
    old = await manager.load_checkpoint(first)
    old.custom_state["branch"] = True
    branch = await manager.save_checkpoint(old)
    assert old.parent_checkpoint_id == first
    assert branch is not None
    assert await manager.load_checkpoint(branch) == old
    tree = await manager.get_checkpoint_tree("a")
    assert len(tree["nodes"][first]["children"]) == 2


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_should_checkpoint_on_steps(tmp_path: Path) -> None:
    manager = StateManager(tmp_path, checkpoint_frequency=5, checkpoint_interval=3600, clock=FakeClock())
    assert not manager.should_checkpoint("a", 4)
    assert manager.should_checkpoint("a", 5)


def test_should_checkpoint_on_interval_from_construction(tmp_path: Path) -> None:
    clock = FakeClock()
    timed = StateManager(tmp_path, checkpoint_frequency=0, checkpoint_interval=30, clock=clock)
    clock.now += 29.9
    assert not timed.should_checkpoint("a", 1)
    clock.now += 0.1
    assert timed.should_checkpoint("a", 1)


@pytest.mark.anyio
async def test_should_checkpoint_interval_restarts_at_each_save(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = StateManager(tmp_path, checkpoint_frequency=0, checkpoint_interval=30, clock=clock)
    clock.now += 40
    assert manager.should_checkpoint("a", 1)
    await manager.save_checkpoint(AgentState(agent_id="a", step_number=1))
    assert not manager.should_checkpoint("a", 2)
    clock.now += 30
    assert manager.should_checkpoint("a", 2)
    assert manager.should_checkpoint("b", 1)  # an agent never saved counts from construction


def test_should_checkpoint_never_with_zeros(tmp_path: Path) -> None:
    clock = FakeClock()
    never = StateManager(tmp_path, checkpoint_frequency=0, checkpoint_interval=0, clock=clock)
    clock.now += 10**6
    assert not never.should_checkpoint("a", 1000)


@pytest.mark.anyio
async def test_should_checkpoint_counts_from_last_save(manager: StateManager) -> None:
    manager.checkpoint_frequency = 10
    await manager.save_checkpoint(AgentState(agent_id="a", step_number=7))
    assert not manager.should_checkpoint("a", 16)
    assert manager.should_checkpoint("a", 17)


@dataclass
class FakeResult:
    blocked: bool = False
    reason: str | None = None


class FakeHooks:
    """Implements the HookManager surface StateManager uses."""

    def __init__(self, block: bool) -> None:
        self.block = block
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def has_handlers(self, event: Any) -> bool:
        return True

    async def trigger(
        self, event: Any, *, agent_id: str, metadata: dict[str, Any] | None = None, **_: Any
    ) -> list[FakeResult]:
        self.calls.append((str(getattr(event, "value", event)), dict(metadata or {}, agent_id=agent_id)))
        pre = "pre" in str(getattr(event, "value", event)).lower()
        return [FakeResult(blocked=self.block and pre, reason="policy")]


@pytest.mark.anyio
async def test_pre_checkpoint_hook_can_block_unless_forced(tmp_path: Path) -> None:
    hooks = FakeHooks(block=True)
    manager = StateManager(tmp_path, hook_manager=hooks)
    state = AgentState(agent_id="a")
    original_id = state.checkpoint_id
    assert await manager.save_checkpoint(state) is None
    assert state.checkpoint_id == original_id
    assert await manager.list_checkpoints("a") == []
    forced = await manager.save_checkpoint(state, force=True)
    assert forced is not None and forced == state.checkpoint_id
    events = [name for name, _ in hooks.calls]
    assert events == ["pre_checkpoint_save", "pre_checkpoint_save", "post_checkpoint_save"]
    assert hooks.calls[-1][1]["checkpoint_id"] == forced


@pytest.mark.anyio
async def test_real_hook_manager_fires_post_save(tmp_path: Path) -> None:
    from kaizen_core.hooks import HookEvent, HookManager

    seen: list[Any] = []
    hm = HookManager()
    hm.register(HookEvent.POST_CHECKPOINT_SAVE, lambda ctx: seen.append(ctx.metadata["checkpoint_id"]))
    manager = StateManager(tmp_path, hook_manager=hm)
    cid = await manager.save_checkpoint(AgentState(agent_id="a"))
    assert seen == [cid]


@pytest.mark.anyio
async def test_journal_passthrough(manager: StateManager) -> None:
    await manager.journal_append("tools-a", {"tool": "x", "args": {"n": 1}})
    await manager.journal_append("tools-a", {"tool": "y", "result": "ok\nmultiline"})
    assert await manager.journal_read("tools-a") == [
        {"tool": "x", "args": {"n": 1}},
        {"tool": "y", "result": "ok\nmultiline"},
    ]
    assert await manager.journal_read("none") == []
    with pytest.raises(InputValidationError):
        await manager.journal_append("tools-a", {"bad": object()})


@pytest.mark.anyio
async def test_load_missing_is_checkpoint_001(manager: StateManager) -> None:
    with pytest.raises(CheckpointNotFoundError) as info:
        await manager.load_checkpoint("nope")
    assert info.value.code == "CHECKPOINT_002"
