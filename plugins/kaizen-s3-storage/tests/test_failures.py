"""Endpoint down, endpoint killed mid-run, credentials never shown (kaizen-s3-storage)."""

from __future__ import annotations

import logging

import pytest

from kaizen_core.errors import MemoryBackendError, StorageError
from kaizen_core.state import AgentState, StateManager
from kaizen_s3_storage.store import S3CheckpointStore
from kaizen_s3_storage.tier import S3MemoryTier
from kaizen_testing.servers._process import free_port
from kaizen_testing.servers.s3 import AWS_TEST_ENV, S3Server, run_s3_server
from kaizen_testing.servers.scenarios import kill_and_restart

SECRET = AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"]
TOKEN = AWS_TEST_ENV["AWS_SESSION_TOKEN"]


@pytest.mark.anyio
async def test_endpoint_down_at_start_is_checkpoint_003(
    s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    endpoint = f"http://127.0.0.1:{free_port()}"
    manager = StateManager(S3CheckpointStore.from_url("s3://bucket/p", endpoint_url=endpoint, retries=1))
    with pytest.raises(StorageError) as info:
        await manager.save_checkpoint(AgentState(agent_id="a"))
    assert info.value.code == "CHECKPOINT_003"
    assert "s3://bucket/p" in str(info.value) and endpoint in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in caplog.text
    await manager.close()


@pytest.mark.anyio
async def test_tier_endpoint_down_is_memory_001(s3_server: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    endpoint = f"http://127.0.0.1:{free_port()}"
    tier = S3MemoryTier.from_url("s3://bucket/p", namespace="n", endpoint_url=endpoint, retries=1)
    with pytest.raises(MemoryBackendError) as info:
        await tier.get("k")
    assert info.value.code == "MEMORY_001" and SECRET not in str(info.value)
    assert SECRET not in caplog.text
    await tier.close()


@pytest.mark.anyio
async def test_missing_bucket_is_checkpoint_003(s3_server: S3Server) -> None:
    store = S3CheckpointStore.from_url("s3://no-such-bucket-kaizen/p", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(StorageError) as info:
        await store.list_agents()
    assert "NoSuchBucket" in str(info.value)
    await store.close()


@pytest.mark.anyio
async def test_explicit_credentials_never_logged(s3_server: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "explicit-secret-0000-never-shown"
    store = S3CheckpointStore.from_url(
        "s3://no-such-bucket-kaizen/p", endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="AKIAEXPLICIT", aws_secret_access_key=secret,
    )  # fmt: skip
    with pytest.raises(StorageError) as info:
        await store.list_agents()
    assert secret not in str(info.value) and secret not in repr(store) and secret not in caplog.text
    await store.close()


@pytest.mark.anyio
async def test_kill_and_restart_mid_run(caplog: pytest.LogCaptureFixture) -> None:
    """The endpoint dies between saves; moto replays its recording on restart (data survives)."""
    caplog.set_level(logging.DEBUG)
    with run_s3_server(bucket="kaizen-restart", persist=True) as server:
        await kill_and_restart(
            server.url, server, secrets=(SECRET, TOKEN), endpoint_url=server.endpoint_url, retries=1, connect_timeout=1
        )
    assert "botocore" in caplog.text  # botocore's DEBUG records were captured...
    assert SECRET not in caplog.text and TOKEN not in caplog.text  # ...without the credentials
