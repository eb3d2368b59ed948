"""The checkpoint API under the original docs' names: keyword spellings, create_checkpoint,
save_state, readable ids, plugin store names, DatabaseStorage, restore_state/get_state."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.errors import CheckpointSaveError, ConfigError, InputValidationError, PluginNotInstalledError
from kaizen_core.state import (
    AgentState,
    CheckpointManager,
    DatabaseStorage,
    FilesystemStorage,
    SQLiteStorage,
    StateManager,
    new_checkpoint_id,
)

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------- keyword spellings
@pytest.mark.parametrize("keyword", ["root", "base_dir", "base_path"])
def test_filesystem_storage_takes_each_documented_spelling_of_its_directory(tmp_path: Path, keyword: str) -> None:
    store = FilesystemStorage(**{keyword: tmp_path / "ckpt"}, compress=True)
    assert store.root == tmp_path / "ckpt" and store.compress


def test_filesystem_storage_refuses_two_different_directories_or_none(tmp_path: Path) -> None:
    assert FilesystemStorage(tmp_path, base_dir=str(tmp_path)).root == tmp_path  # the same one twice is fine
    with pytest.raises(ConfigError, match="two directories"):
        FilesystemStorage(base_dir=tmp_path / "a", base_path=tmp_path / "b")
    with pytest.raises(ConfigError, match="needs a directory"):
        FilesystemStorage()


async def test_state_manager_takes_storage_or_storage_backend(tmp_path: Path) -> None:
    store = FilesystemStorage(tmp_path)
    assert StateManager(storage_backend=store).storage is store
    assert StateManager(storage=store, storage_backend=store).storage is store
    assert CheckpointManager is StateManager
    with pytest.raises(ConfigError, match="once"):
        StateManager(storage=store, storage_backend=FilesystemStorage(tmp_path / "other"))
    with pytest.raises(ConfigError, match="needs a checkpoint store"):
        StateManager()


# ---------------------------------------------------------------- create_checkpoint / save_state
async def test_create_checkpoint_saves_state_data_at_the_agents_current_step(tmp_path: Path) -> None:
    manager = StateManager(storage_backend=FilesystemStorage(tmp_path))
    first = await manager.create_checkpoint("bot", "before anything")
    assert first is not None and (await manager.load_checkpoint(first)).step_number == 0
    await manager.save_state(AgentState(agent_id="bot", step_number=12))
    checkpoint_id = await manager.create_checkpoint(
        agent_id="bot", description="before the risky part", state_data={"rows": [1, 2]}
    )
    assert checkpoint_id is not None
    state = await manager.load_checkpoint(checkpoint_id)
    assert state.step_number == 12 and state.custom_state == {"rows": [1, 2]}
    assert state.metadata == {"description": "before the risky part"}
    with pytest.raises(CheckpointSaveError):
        await manager.create_checkpoint("bot", "bad", state_data={"handle": object()})


async def test_save_state_is_save_checkpoint_and_takes_a_dict(tmp_path: Path) -> None:
    manager = StateManager(FilesystemStorage(tmp_path))
    assert StateManager.save_state is StateManager.save_checkpoint
    checkpoint_id = await manager.save_state({"agent_id": "bot", "step_number": 3, "custom_state": {"k": "v"}})
    assert checkpoint_id is not None and (await manager.load_checkpoint(checkpoint_id)).custom_state == {"k": "v"}
    with pytest.raises(InputValidationError) as info:
        await manager.save_state({"agent_id": "bot", "step_number": "three"})
    assert info.value.code == "EXEC_001" and "step_number" in info.value.details["fields"]
    with pytest.raises(InputValidationError, match="AgentState or a dict"):
        await manager.save_state(["not", "a", "state"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- checkpoint ids
def test_checkpoint_ids_are_readable_and_sort_by_time_within_a_step() -> None:
    early = new_checkpoint_id("research_agent", 10, datetime(2023, 10, 25, 12, 0, 0, tzinfo=UTC))
    later = new_checkpoint_id("research_agent", 10, datetime(2023, 10, 25, 12, 0, 1, tzinfo=UTC))
    assert re.fullmatch(r"research_agent_step_10_20231025_120000_[0-9a-f]{8}", early)
    assert early < later
    assert new_checkpoint_id().startswith("agent_step_0_")


@pytest.mark.parametrize(
    ("agent_id", "prefix"),
    [
        ("research agent/../é", "research_agent_step_"),
        (".hidden", "hidden_step_"),
        ("x" * 300, "x" * 64 + "_step_"),
        ("...", "agent_step_"),
    ],
)
async def test_checkpoint_ids_are_one_safe_name_in_every_store(tmp_path: Path, agent_id: str, prefix: str) -> None:
    ids = []
    for store in (FilesystemStorage(tmp_path / "files"), SQLiteStorage(tmp_path / "c.db")):
        manager = StateManager(store)
        checkpoint_id = await manager.save_checkpoint(AgentState(agent_id=agent_id, step_number=2))
        assert checkpoint_id is not None and re.fullmatch(r"[A-Za-z0-9_-]+", checkpoint_id)
        assert checkpoint_id.startswith(prefix.replace("_step_", "_step_2_")) and len(checkpoint_id) <= 100
        assert (await manager.load_checkpoint(checkpoint_id)).agent_id == agent_id
        ids.append(checkpoint_id)
        await store.close()
    files = list((tmp_path / "files").glob("*/*.ckpt"))
    assert [f.name for f in files] == [f"{ids[0]}.ckpt"]  # the id is the file name, unescaped


async def test_a_long_agent_id_is_stored_listed_and_journaled_on_disk(tmp_path: Path) -> None:
    long_id = "agent-" + "é" * 150  # 900+ characters once percent-encoded
    store = FilesystemStorage(tmp_path)
    manager = StateManager(store)
    first = await manager.save_checkpoint(AgentState(agent_id=long_id))
    await manager.save_checkpoint(AgentState(agent_id=long_id + "2"))  # same first 200 characters
    assert sorted(await store.list_agents()) == sorted([long_id, long_id + "2"])
    assert [m.checkpoint_id for m in await StateManager(store).list_checkpoints(long_id)] == [first]
    await manager.journal_append(f"{long_id}/run-1", {"type": "start"})
    assert await manager.journal_read(f"{long_id}/run-1") == [{"type": "start"}]
    assert all(len(p.name) <= 255 for p in tmp_path.rglob("*"))


async def test_saves_in_the_same_second_get_distinct_ids(tmp_path: Path) -> None:
    manager = StateManager(FilesystemStorage(tmp_path, fsync=False), retention_count=0, incremental=False)
    ids = [await manager.save_checkpoint(AgentState(agent_id="bot", step_number=1)) for _ in range(50)]
    assert len(set(ids)) == 50 and len(await manager.list_checkpoints("bot")) == 50


def test_agent_state_gets_a_readable_id_when_built() -> None:
    state = AgentState(agent_id="bot", step_number=4)
    assert re.fullmatch(r"bot_step_4_\d{8}_\d{6}_[0-9a-f]{8}", state.checkpoint_id)


# ---------------------------------------------------------------- store names from plugins
@pytest.mark.parametrize(
    ("name", "package"),
    [("RedisStorage", "kaizen-redis"), ("PostgreSQLStorage", "kaizen-postgres"), ("S3Storage", "kaizen-s3-storage")],
)
def test_a_plugin_store_name_without_its_plugin_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, name: str, package: str
) -> None:
    from kaizen_core import plugins

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # built-ins only: as if the plugin were not installed
    plugins.reset()
    try:
        with pytest.raises(PluginNotInstalledError) as info:
            exec(f"from kaizen_core.state import {name}", {})
        assert info.value.code == "KAIZEN_003" and f"pip install {package}" in str(info.value)
    finally:
        monkeypatch.delenv("KAIZEN_LOAD_PLUGINS")
        plugins.reset()


def test_importing_kaizen_core_state_loads_no_store_and_no_plugin() -> None:
    code = (
        "import sys, kaizen_core.state\n"
        "loaded = [m for m in sys.modules if m.startswith(('kaizen_redis', 'kaizen_postgres', 'kaizen_s3',"
        " 'kaizen_core.plugins', 'kaizen_core.state.filesystem', 'kaizen_core.state.sqlite'))]\n"
        "print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- DatabaseStorage
async def test_database_storage_opens_the_store_of_a_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}"

    class DataFlowLike:
        database_url = url

    for store in (DatabaseStorage(url), DatabaseStorage(database_url=url), DatabaseStorage(dataflow=DataFlowLike())):
        assert isinstance(store, SQLiteStorage) and store.path == str(tmp_path / "checkpoints.db")
    with pytest.raises(ConfigError, match="database URL"):
        DatabaseStorage(f"file://{tmp_path}")
    with pytest.raises(ConfigError, match="database_url attribute"):
        DatabaseStorage(dataflow=object())
    with pytest.raises(ConfigError, match="once"):
        DatabaseStorage(url, dataflow=url)
    with pytest.raises(ConfigError, match="needs a database URL"):
        DatabaseStorage()


def test_database_storage_without_the_postgres_plugin_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen_core import plugins

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    try:
        with pytest.raises(PluginNotInstalledError, match="kaizen-postgres"):
            DatabaseStorage("postgresql://user:secret@db.example/kaizen")
    finally:
        monkeypatch.delenv("KAIZEN_LOAD_PLUGINS")
        plugins.reset()


# ---------------------------------------------------------------- agent.restore_state / get_state
async def test_restore_state_puts_the_agent_in_a_loaded_state(tmp_path: Path) -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", agent_id="fresh")
    assert agent.state is None and agent.get_state().agent_id == "fresh"
    manager = StateManager(FilesystemStorage(tmp_path))
    checkpoint_id = await manager.create_checkpoint("worker", "before", {"progress": 3})
    assert checkpoint_id is not None

    agent.restore_state(await manager.load_checkpoint(checkpoint_id))

    assert agent.agent_id == "worker"  # its next checkpoints continue the worker's chain
    state = agent.get_state()
    assert state.custom_state == {"progress": 3} and state.checkpoint_id == checkpoint_id
    state.custom_state["progress"] = 99  # a copy: the agent's state is not changed through it
    assert agent.state is not None and agent.state.custom_state == {"progress": 3}
    new_id = await manager.save_state(agent.get_state())
    assert (await manager.load_checkpoint(new_id or "")).parent_checkpoint_id == checkpoint_id
    agent.restore_state({"agent_id": "other", "step_number": 5})  # a dict of the fields works too
    assert agent.get_state().step_number == 5
    with pytest.raises(InputValidationError):
        agent.restore_state({"step_number": 5})  # no agent_id
