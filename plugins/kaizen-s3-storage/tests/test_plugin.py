"""Registration, lazy imports, object layout and integrity of kaizen-s3-storage."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import time

import pytest

from kaizen_core import plugins
from kaizen_core.errors import CheckpointCorruptError, ConfigError
from kaizen_core.memory.urls import open_tier
from kaizen_core.state import AgentState, CheckpointMeta, StateManager, open_store
from kaizen_s3_storage.store import S3CheckpointStore, index_name
from kaizen_s3_storage.tier import S3MemoryTier
from kaizen_testing.servers.s3 import S3Server


def test_entry_point_registers_store_and_tier() -> None:
    plugins.reset()
    registry = plugins.get_registry()
    assert registry.load("storage", "s3") is S3CheckpointStore
    assert registry.load("memory_tier", "s3") is S3MemoryTier
    assert registry.get("storage", "s3").distribution == "kaizen-s3-storage"


def test_boto3_is_imported_only_when_a_store_is_created() -> None:
    code = (
        "import sys, kaizen_core, kaizen_s3_storage; from kaizen_core import plugins; plugins.get_registry(); "
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_url_parsing() -> None:
    store = S3CheckpointStore.from_url("s3://bucket/a/b/?endpoint_url=http://127.0.0.1:9000&region=eu-west-1")
    assert (store.bucket, store.s3.location.prefix) == ("bucket", "a/b")
    assert store.s3.endpoint_url == "http://127.0.0.1:9000" and store.s3.region_name == "eu-west-1"
    with pytest.raises(ConfigError):
        S3CheckpointStore.from_url("s3://key:secret@bucket/p")
    with pytest.raises(ConfigError):
        S3CheckpointStore.from_url("s3://bucket/p?colour=blue")


def test_index_names_sort_newest_first() -> None:
    metas = [
        CheckpointMeta(checkpoint_id=f"c{i}", agent_id="a", created_at=t, step_number=s)
        for i, (t, s) in enumerate([(1.0, 0), (1700000000.5, 3), (1700000000.5, 12), (1700000001.0, 1), (2.0, 99)])
    ]
    names = sorted(index_name(m, m.model_dump_json().encode()) for m in metas)
    assert [n.split("-")[2].split("~")[0] for n in names] == ["c3", "c2", "c1", "c4", "c0"]


@pytest.mark.anyio
async def test_state_manager_from_url_with_endpoint_env(
    s3_server: S3Server, s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the URL changes between backends; the endpoint can come from AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    manager = StateManager(s3_url)
    assert isinstance(manager.storage, S3CheckpointStore)
    state = AgentState(agent_id="url-agent", conversation_history=[{"role": "user", "content": "hi"}])
    checkpoint_id = await manager.save_checkpoint(state)
    assert checkpoint_id is not None
    assert await StateManager(s3_url).load_checkpoint(checkpoint_id) == state
    await manager.close()


@pytest.mark.anyio
async def test_objects_are_gzip_with_content_hash(s3_server: S3Server, s3_url: str, s3_options: dict[str, str]) -> None:
    store = open_store(s3_url, **s3_options)
    assert isinstance(store, S3CheckpointStore)
    meta = CheckpointMeta(checkpoint_id="c/with slash", agent_id="agent/1", created_at=time.time())
    await store.write(meta, b"payload " * 100)
    client = s3_server.client()
    obj = client.get_object(Bucket=store.bucket, Key=store._data_key(meta.checkpoint_id))  # type: ignore[attr-defined]
    raw = gzip.decompress(obj["Body"].read())
    assert obj["Metadata"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert raw.endswith(b"payload " * 100)
    assert await store.list_agents() == ["agent/1"]
    assert [m.checkpoint_id for m in await store.list("agent/1")] == ["c/with slash"]
    await store.close()


@pytest.mark.anyio
async def test_damaged_object_is_checkpoint_002(s3_server: S3Server, s3_url: str, s3_options: dict[str, str]) -> None:
    store = S3CheckpointStore.from_url(s3_url, **s3_options)
    meta = CheckpointMeta(checkpoint_id="damaged", agent_id="a", created_at=time.time())
    await store.write(meta, b"original")
    key = store._data_key("damaged")
    client = s3_server.client()
    tampered = gzip.compress(b"\x00\x00\x00\x02{}tampered")
    head = client.head_object(Bucket=store.bucket, Key=key)  # type: ignore[attr-defined]
    client.put_object(Bucket=store.bucket, Key=key, Body=tampered, Metadata=head["Metadata"])  # type: ignore[attr-defined]
    with pytest.raises(CheckpointCorruptError) as info:
        await store.read("damaged")
    assert info.value.code == "CHECKPOINT_002" and key in str(info.value)
    await store.close()


@pytest.mark.anyio
async def test_cold_tier_from_url(s3_url: str, s3_options: dict[str, str]) -> None:
    tier = open_tier(s3_url, namespace="archive", **s3_options)
    assert isinstance(tier, S3MemoryTier)
    await tier.put("conversation/2024-01", {"content": "archived", "turns": list(range(100))})
    assert (await tier.get("conversation/2024-01"))["content"] == "archived"
    assert await tier.keys("conversation/") == ["conversation/2024-01"]
    await tier.clear()
    await tier.close()
