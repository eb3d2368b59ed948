"""The original docs' name for this store: ``from kaizen_core.state import S3Storage``."""

from __future__ import annotations

import re

import pytest

from kaizen_s3_storage.store import S3CheckpointStore

pytestmark = pytest.mark.anyio


async def test_s3_storage_is_this_plugins_store(s3_url: str, s3_options: dict[str, str]) -> None:
    from kaizen_core.state import S3Storage, StateManager

    assert S3Storage is S3CheckpointStore
    storage = S3Storage(s3_url, **s3_options)
    manager = StateManager(storage_backend=storage)
    checkpoint_id = await manager.create_checkpoint("research agent", "before", {"papers": 3})
    assert checkpoint_id is not None and re.fullmatch(r"research_agent_step_0_\d{8}_\d{6}_[0-9a-f]{8}", checkpoint_id)
    assert (await manager.load_checkpoint(checkpoint_id)).custom_state == {"papers": 3}
    assert [m.checkpoint_id for m in await manager.list_checkpoints("research agent")] == [checkpoint_id]
    await storage.close()
