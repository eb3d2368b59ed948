"""20 agents in one process, and 2 processes, saving to one PostgreSQL store at once."""

from __future__ import annotations

import pytest

from kaizen_testing.servers.scenarios import concurrent_agents, saver_processes, verify_checkpoints


@pytest.mark.anyio
async def test_twenty_agents_in_one_process(pg_url: str) -> None:
    saved = await concurrent_agents(pg_url, agents=20, turns=4)
    assert len(saved) == 80
    await verify_checkpoints(pg_url, saved)


@pytest.mark.anyio
async def test_two_processes_on_a_fresh_database(fresh_pg_url: str) -> None:
    """Both processes also race to run the migrations."""
    saved = saver_processes(fresh_pg_url, processes=2, agents=3, turns=6)
    await verify_checkpoints(fresh_pg_url, saved)
