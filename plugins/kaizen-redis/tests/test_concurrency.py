"""20 agents in one process, and 2 processes, saving to one redis store at once."""

from __future__ import annotations

import pytest

from kaizen_testing.servers.scenarios import concurrent_agents, saver_processes, verify_checkpoints


@pytest.mark.anyio
async def test_twenty_agents_in_one_process(redis_url: str, key_prefix: str) -> None:
    saved = await concurrent_agents(redis_url, agents=20, turns=4, key_prefix=key_prefix)
    assert len(saved) == 80
    await verify_checkpoints(redis_url, saved, key_prefix=key_prefix)


@pytest.mark.anyio
async def test_two_processes(redis_url: str, key_prefix: str) -> None:
    saved = saver_processes(redis_url, processes=2, agents=3, turns=6, key_prefix=key_prefix)
    await verify_checkpoints(redis_url, saved, key_prefix=key_prefix)
