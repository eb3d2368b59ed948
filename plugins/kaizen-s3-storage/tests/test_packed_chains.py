"""One GET per load: checkpoint objects pack their delta chain; objects from before packing still load."""

from __future__ import annotations

import gzip
import hashlib
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.state import AgentState, CheckpointMeta, StateManager
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_s3_storage.client import enc
from kaizen_s3_storage.store import S3CheckpointStore, index_name
from kaizen_testing.servers.s3 import S3Server


def turn(i: int) -> dict[str, Any]:
    return {"role": "user" if i % 2 else "assistant", "content": f"turn {i} " + random.Random(i).randbytes(300).hex()}


def count_gets(store: S3CheckpointStore) -> list[str]:
    """The keys of every GetObject the store's boto3 client sends (a botocore event hook)."""
    keys: list[str] = []
    store.s3.client().meta.events.register("before-call.s3.GetObject", lambda params, **_: keys.append(params["url_path"]))
    return keys


@pytest.mark.anyio
async def test_every_load_is_one_get(s3_url: str, s3_options: dict[str, str]) -> None:
    writer = S3CheckpointStore(s3_url, **s3_options)
    manager = StateManager(writer, retention_count=None)
    state = AgentState(agent_id="packed")
    saved: dict[str, AgentState] = {}
    for i in range(40):
        state.conversation_history.append(turn(i))
        state.step_number = i
        checkpoint_id = await manager.save_checkpoint(state)
        assert checkpoint_id is not None
        saved[checkpoint_id] = state.model_copy(deep=True)
    metas = await writer.list("packed")
    depths = [m.extra["depth"] for m in metas]
    assert max(depths) >= 5, depths  # long delta chains exist
    for checkpoint_id, expected in saved.items():
        reader = S3CheckpointStore(s3_url, **s3_options)  # cold: nothing cached
        gets = count_gets(reader)
        assert await StateManager(reader).load_checkpoint(checkpoint_id) == expected
        assert len(gets) == 1, (checkpoint_id, gets)
        reader.s3.close()
    await writer.close()


@pytest.mark.anyio
async def test_a_cold_writer_fetches_the_base_once_then_reuses_it(s3_url: str, s3_options: dict[str, str]) -> None:
    first = StateManager(S3CheckpointStore(s3_url, **s3_options), retention_count=None)
    state = AgentState(agent_id="resumer", conversation_history=[turn(0)])
    await first.save_checkpoint(state)
    state.conversation_history.append(turn(1))
    await first.save_checkpoint(state)
    store = S3CheckpointStore(s3_url, **s3_options)
    second = StateManager(store, retention_count=None)
    resumed = await second.resume_from_latest("resumer")
    assert resumed is not None
    gets = count_gets(store)
    for i in range(2, 6):
        resumed.conversation_history.append(turn(i))
        await second.save_checkpoint(resumed)
    # one GET: the manager re-reads the resumed checkpoint as the base of its first delta; the
    # store packs every later delta from the chain it last wrote, without reading it back
    assert len(gets) == 1
    assert await StateManager(S3CheckpointStore(s3_url, **s3_options)).resume_from_latest("resumer") == resumed


def put_unpacked(s3_server: S3Server, store: S3CheckpointStore, meta: CheckpointMeta, payload: bytes) -> None:
    """Write a checkpoint the way the store did before packing: one link per object."""
    meta_json = meta.model_dump_json().encode()
    data = struct.pack(">I", len(meta_json)) + meta_json + payload
    index_key = store._index_prefix(meta.agent_id) + index_name(meta, meta_json)
    client = s3_server.client()
    client.put_object(
        Bucket=store.bucket, Key=store._data_key(meta.checkpoint_id), Body=gzip.compress(data),
        Metadata={"sha256": hashlib.sha256(data).hexdigest(), "index-key": enc(index_key)},
    )  # fmt: skip
    client.put_object(Bucket=store.bucket, Key=index_key, Body=meta_json)


@pytest.mark.anyio
async def test_checkpoints_written_before_packing_still_load(
    s3_server: S3Server, s3_url: str, s3_options: dict[str, str], tmp_path: Path
) -> None:
    # the same checkpoints (full + deltas), produced by a StateManager, stored in the old layout
    source = FilesystemStorage(tmp_path / "source")
    producer = StateManager(source, retention_count=None)
    state = AgentState(agent_id="legacy")
    for i in range(6):
        state.conversation_history.append(turn(i))
        state.step_number = i
        await producer.save_checkpoint(state)
    store = S3CheckpointStore(s3_url, **s3_options)
    metas = await source.list("legacy")
    assert {m.kind for m in metas} == {"full", "delta"}
    for meta in metas:
        put_unpacked(s3_server, store, *(await source.read(meta.checkpoint_id)))

    loader = StateManager(store)
    for meta in metas:
        assert await loader.load_checkpoint(meta.checkpoint_id) == await StateManager(source).load_checkpoint(
            meta.checkpoint_id
        )
    # and a new delta on top of an old object packs what it can; its chain still loads
    latest = await StateManager(store).resume_from_latest("legacy")
    assert latest is not None
    latest.conversation_history.append(turn(6))
    writer = StateManager(store, retention_count=None)
    new_id = await writer.save_checkpoint(latest)
    assert new_id is not None
    assert await StateManager(S3CheckpointStore(s3_url, **s3_options)).load_checkpoint(new_id) == latest
    await store.close()
