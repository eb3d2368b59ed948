"""CheckpointStoreSuite: the conformance tests every CheckpointStore passes.

Subclass it in a ``Test...`` class and override the ``store`` fixture (sync or async)
to yield a fresh, empty store::

    class TestMyStore(CheckpointStoreSuite):
        @pytest.fixture
        async def store(self, tmp_path):
            s = MyStore(...)
            yield s
            await s.close()

The suite checks the raw contract (write/read/read_chain/list/delete/journal, batch
appends included) and that
:class:`~kaizen_core.state.StateManager` works on top of the store (incremental saves,
retention with compaction, forks). It uses only the public contract, so it runs
unchanged against any backend.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError
from kaizen_core.state import AgentState, CheckpointMeta, CheckpointStore, StateManager


def _meta(agent_id: str, checkpoint_id: str | None = None, **kw: Any) -> CheckpointMeta:
    kw.setdefault("created_at", time.time())
    return CheckpointMeta(checkpoint_id=checkpoint_id or uuid.uuid4().hex, agent_id=agent_id, **kw)


def _agent(prefix: str = "agent") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _turn(i: int) -> dict[str, Any]:
    # pseudo-random hex compresses like real text; "xxxx" would make every snapshot tiny
    noise = random.Random(i).randbytes(100).hex()
    return {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} {noise}"}


class CheckpointStoreSuite:
    """Conformance tests for a :class:`CheckpointStore`; override ``store``."""

    @pytest.fixture
    def anyio_backend(self) -> str:
        """The suite runs on asyncio; a subclass may override this fixture."""
        return "asyncio"

    @pytest.fixture
    async def store(self) -> AsyncIterator[CheckpointStore]:
        raise NotImplementedError("override the `store` fixture to yield a fresh, empty store")
        yield  # pragma: no cover

    # -- raw contract --------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_write_read_roundtrip(self, store: CheckpointStore) -> None:
        agent = _agent()
        payload = bytes(range(256)) + b"\n\x00 end"
        meta = _meta(agent, step_number=7, status="paused", extra={"k": [1, 2]}, kind="full", size_bytes=len(payload))
        await store.write(meta, payload)
        got_meta, got_payload = await store.read(meta.checkpoint_id)
        assert got_payload == payload
        assert got_meta == meta

    @pytest.mark.anyio
    async def test_read_missing_raises_not_found(self, store: CheckpointStore) -> None:
        with pytest.raises(CheckpointNotFoundError) as info:
            await store.read("no-such-" + uuid.uuid4().hex)
        assert info.value.code == "CHECKPOINT_002"

    @pytest.mark.anyio
    async def test_list_newest_first(self, store: CheckpointStore) -> None:
        agent = _agent()
        base = time.time()
        order = [3, 0, 4, 1, 2]
        for i in order:
            await store.write(_meta(agent, f"c{i}-{agent}", created_at=base + i, step_number=i), b"p%d" % i)
        metas = await store.list(agent)
        assert [m.step_number for m in metas] == [4, 3, 2, 1, 0]
        assert await store.list(_agent("nobody")) == []

    @pytest.mark.anyio
    async def test_delete(self, store: CheckpointStore) -> None:
        agent = _agent()
        keep, gone = _meta(agent, created_at=1.0), _meta(agent, created_at=2.0)
        await store.write(keep, b"keep")
        await store.write(gone, b"gone")
        assert await store.delete(gone.checkpoint_id) is True
        assert await store.delete(gone.checkpoint_id) is False
        with pytest.raises(CheckpointNotFoundError):
            await store.read(gone.checkpoint_id)
        assert [m.checkpoint_id for m in await store.list(agent)] == [keep.checkpoint_id]
        assert (await store.read(keep.checkpoint_id))[1] == b"keep"

    @pytest.mark.anyio
    async def test_list_agents(self, store: CheckpointStore) -> None:
        a, b = _agent("a"), _agent("b")
        only = _meta(b)
        await store.write(_meta(a), b"1")
        await store.write(_meta(a), b"2")
        await store.write(only, b"3")
        agents = await store.list_agents()
        assert a in agents and b in agents
        assert len([x for x in agents if x in (a, b)]) == 2
        await store.delete(only.checkpoint_id)
        assert b not in await store.list_agents()

    @pytest.mark.anyio
    async def test_journal_append_read_order(self, store: CheckpointStore) -> None:
        stream = "journal-" + uuid.uuid4().hex
        other = stream + "-other"
        assert await store.journal_read(stream) == []
        records = [b'{"i": %d}' % i for i in range(10)] + [b"not json\nwith newline", b'{"$bytes": "x"}']
        for r in records:
            await store.journal_append(stream, r)
        await store.journal_append(other, b'{"other": true}')
        assert await store.journal_read(stream) == records
        assert await store.journal_read(other) == [b'{"other": true}']
        await store.journal_delete(other)
        assert await store.journal_read(stream) == records

    @pytest.mark.anyio
    async def test_journal_append_many(self, store: CheckpointStore) -> None:
        stream = "journal-" + uuid.uuid4().hex
        await store.journal_append(stream, b'{"i": 0}')
        batch = [b'{"i": %d}' % i for i in range(1, 6)] + [b"raw\nbytes", b'{"$bytes": "y"}']
        await store.journal_append_many(stream, batch)
        await store.journal_append_many(stream, [])
        await store.journal_append(stream, b'{"i": 99}')
        assert await store.journal_read(stream) == [b'{"i": 0}', *batch, b'{"i": 99}']

    @pytest.mark.anyio
    async def test_read_chain(self, store: CheckpointStore) -> None:
        agent = _agent()
        ids = [f"{agent}-{i}" for i in range(4)]
        await store.write(_meta(agent, ids[0], kind="full", created_at=1.0), b"full 0")
        for i in range(1, 4):
            meta = _meta(agent, ids[i], kind="delta", base_checkpoint_id=ids[i - 1], created_at=1.0 + i)
            await store.write(meta, b"delta %d" % i)
        chain = await store.read_chain(ids[3])
        assert [(m.checkpoint_id, p) for m, p in chain] == [
            (ids[3], b"delta 3"), (ids[2], b"delta 2"), (ids[1], b"delta 1"), (ids[0], b"full 0")
        ]  # fmt: skip
        assert chain[0][0] == (await store.read(ids[3]))[0]
        # stops before a base the caller already has
        assert [m.checkpoint_id for m, _ in await store.read_chain(ids[3], known={ids[1]})] == [ids[3], ids[2]]
        assert [m.checkpoint_id for m, _ in await store.read_chain(ids[0])] == [ids[0]]
        with pytest.raises(CheckpointNotFoundError):
            await store.read_chain("no-such-" + uuid.uuid4().hex)

    @pytest.mark.anyio
    async def test_read_chain_with_a_missing_base_returns_what_exists(self, store: CheckpointStore) -> None:
        agent = _agent()
        await store.write(_meta(agent, f"{agent}-b", kind="delta", base_checkpoint_id=f"{agent}-gone"), b"b")
        await store.write(_meta(agent, f"{agent}-c", kind="delta", base_checkpoint_id=f"{agent}-b"), b"c")
        chain = await store.read_chain(f"{agent}-c")
        assert [m.checkpoint_id for m, _ in chain] == [f"{agent}-c", f"{agent}-b"]
        with pytest.raises(CheckpointCorruptError):  # the manager names the broken chain
            await StateManager(store).load_checkpoint(f"{agent}-c")

    @pytest.mark.anyio
    async def test_overwrite(self, store: CheckpointStore) -> None:
        agent = _agent()
        meta = _meta(agent, kind="delta", base_checkpoint_id="b")
        await store.write(meta, b"first")
        rewritten = meta.model_copy(update={"kind": "full", "base_checkpoint_id": None})
        await store.write(rewritten, b"second, longer payload")
        got_meta, got_payload = await store.read(meta.checkpoint_id)
        assert got_payload == b"second, longer payload"
        assert got_meta.kind == "full" and got_meta.base_checkpoint_id is None
        assert len(await store.list(agent)) == 1

    @pytest.mark.anyio
    async def test_isolation_between_agents(self, store: CheckpointStore) -> None:
        a, b = _agent("a"), _agent("b")
        ma, mb = _meta(a), _meta(b)
        await store.write(ma, b"A")
        await store.write(mb, b"B")
        assert [m.checkpoint_id for m in await store.list(a)] == [ma.checkpoint_id]
        assert [m.checkpoint_id for m in await store.list(b)] == [mb.checkpoint_id]
        await store.delete(ma.checkpoint_id)
        assert (await store.read(mb.checkpoint_id))[1] == b"B"

    @pytest.mark.anyio
    async def test_concurrent_writes(self, store: CheckpointStore) -> None:
        agent = _agent()
        metas = [_meta(agent, step_number=i) for i in range(20)]

        async def write(i: int) -> None:
            await store.write(metas[i], b"payload %d " % i * 50)

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(write, i)
        for i, meta in enumerate(metas):
            assert (await store.read(meta.checkpoint_id))[1] == b"payload %d " % i * 50
        assert len(await store.list(agent)) == 20

    # -- StateManager on top of the store -----------------------------------------------
    @pytest.mark.anyio
    async def test_state_manager_roundtrip(self, store: CheckpointStore) -> None:
        manager = StateManager(store, retention_count=100, full_snapshot_every=20)
        state = AgentState(agent_id=_agent(), memory_contents={"k": 0}, custom_state={"plan": []})
        ids = []
        for i in range(50):
            state.conversation_history.append(_turn(i))
            state.step_number = i
            state.memory_contents[f"k{i % 5}"] = i
            state.budget_spent_usd += 0.01
            if i % 7 == 0:
                state.custom_state["plan"].append(f"step {i}")
            cid = await manager.save_checkpoint(state)
            assert cid is not None and cid == state.checkpoint_id
            ids.append(cid)
            loaded = await StateManager(store).load_checkpoint(cid)  # no cache: from the store only
            assert loaded == state
        kinds = [m.kind for m in await manager.list_checkpoints(state.agent_id)]
        assert kinds.count("delta") > kinds.count("full") > 0
        latest = await StateManager(store).resume_from_latest(state.agent_id)
        assert latest == state
        await manager.close()

    @pytest.mark.anyio
    async def test_retention_with_compaction(self, store: CheckpointStore) -> None:
        manager = StateManager(store, retention_count=3, full_snapshot_every=50)
        state = AgentState(agent_id=_agent())
        expected = {}
        for i in range(8):
            state.conversation_history.append(_turn(i))
            state.step_number = i
            cid = await manager.save_checkpoint(state)
            assert cid is not None
            expected[cid] = state.model_copy(deep=True)
        metas = await store.list(state.agent_id)
        assert len(metas) == 3
        assert [m.step_number for m in metas] == [7, 6, 5]
        assert metas[-1].kind == "full"  # the oldest kept one was compacted
        fresh = StateManager(store)
        for m in metas:
            assert await fresh.load_checkpoint(m.checkpoint_id) == expected[m.checkpoint_id]

    @pytest.mark.anyio
    async def test_fork_independence(self, store: CheckpointStore) -> None:
        manager = StateManager(store)
        state = AgentState(agent_id=_agent(), conversation_history=[_turn(0)], custom_state={"n": [1]})
        source_id = await manager.save_checkpoint(state)
        assert source_id is not None
        fork = await manager.fork_from_checkpoint(source_id, new_agent_id=_agent("fork"))
        assert fork.checkpoint_id != source_id
        assert fork.parent_checkpoint_id == source_id
        fork.conversation_history.append(_turn(1))
        fork.custom_state["n"].append(2)
        await manager.save_checkpoint(fork)
        source = await StateManager(store).load_checkpoint(source_id)
        assert source == state
        assert source.custom_state == {"n": [1]} and len(source.conversation_history) == 1
        assert (await manager.resume_from_latest(fork.agent_id)) == fork
