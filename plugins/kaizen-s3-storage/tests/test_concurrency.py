"""20 agents in one process, and 2 processes, saving to one S3 store at once."""

from __future__ import annotations

import pytest

from kaizen_testing.servers.scenarios import concurrent_agents, saver_processes, verify_checkpoints


@pytest.mark.anyio
async def test_twenty_agents_in_one_process(s3_url: str, s3_options: dict[str, str]) -> None:
    saved = await concurrent_agents(s3_url, agents=20, turns=3, **s3_options)
    assert len(saved) == 60
    await verify_checkpoints(s3_url, saved, **s3_options)


@pytest.mark.anyio
async def test_two_processes(s3_url: str, s3_options: dict[str, str]) -> None:
    saved = saver_processes(s3_url, processes=2, agents=3, turns=4, **s3_options)
    await verify_checkpoints(s3_url, saved, **s3_options)
