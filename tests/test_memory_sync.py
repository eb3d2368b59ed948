"""The memory API convention: documented names block, ``a<name>`` twins are async, on one background loop.

Also: a user's script using PersistentBufferMemory synchronously in one process, read by
a second process (two real processes, one after the other, on one sqlite file).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kaizen_core._sync import background_loop
from kaizen_core.errors import ConfigError, MemoryValueError, PluginNotInstalledError
from kaizen_core.memory import (
    BufferMemory,
    LongTermMemory,
    MemoryTier,
    PersistentBufferMemory,
    SemanticMemory,
    ShortTermMemory,
    TierManager,
)
from kaizen_core.memory.hot import HotMemoryTier
from kaizen_core.memory.storage import FileStorage, PostgreSQLStorage, SQLiteStorage

SYNC_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from kaizen_core.memory import PersistentBufferMemory
    from kaizen_core.memory.storage import SQLiteStorage

    db_path, step, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    db = SQLiteStorage(db_path=db_path)
    memory = PersistentBufferMemory(
        db=db, agent_id="agent_001", buffer_size=100, auto_persist_interval=10, enable_compression=True
    )
    memory.load_from_db()
    before = [m.content for m in memory.get_history(limit=10)]
    memory.add_message(role="user", content=f"question {step}")
    memory.add_message(role="assistant", content=f"answer {step}")
    if mode == "persist":
        memory.persist()
    # mode "exit": auto_persist_interval=10 was not reached and persist() is not called:
    # the interpreter-exit flush must write the two messages
    print(json.dumps(before))
    """
)


@pytest.mark.parametrize("mode", ["persist", "exit"])
def test_sync_script_in_one_process_is_read_by_the_next(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "user_script.py"
    script.write_text(SYNC_SCRIPT)
    db_path = tmp_path / "agent_memory.db"

    def run(step: int) -> list[str]:
        done = subprocess.run(
            [sys.executable, str(script), str(db_path), str(step), mode], capture_output=True, text=True, timeout=120
        )  # waits for the process to exit
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    assert run(1) == []
    assert run(2) == ["question 1", "answer 1"]
    assert run(3) == ["question 1", "answer 1", "question 2", "answer 2"]


class LoopRecordingTier(HotMemoryTier):
    """A hot tier that records the event loop each operation ran on."""

    loops: ClassVar[list[asyncio.AbstractEventLoop]] = []

    async def get(self, key: str) -> Any:
        self.loops.append(asyncio.get_running_loop())
        return await super().get(key)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.loops.append(asyncio.get_running_loop())
        await super().put(key, value, ttl)


def test_blocking_calls_run_on_one_persistent_loop() -> None:
    LoopRecordingTier.loops.clear()
    tier = LoopRecordingTier("bot")
    memory = PersistentBufferMemory(store=tier, agent_id="bot")
    memory.add_message("user", "hi")
    memory.add_message("assistant", "hello")
    assert [m.content for m in memory.load()] == ["hi", "hello"]
    memory.persist()
    long_term = LongTermMemory(store=LoopRecordingTier("lt"), agent_id="lt")
    long_term.add("a fact")
    long_term.get("missing")
    assert len(LoopRecordingTier.loops) >= 5
    # the main thread's own loop (kaizen_core._sync), the same for every call and still open
    assert {id(loop) for loop in LoopRecordingTier.loops} == {id(LoopRecordingTier.loops[0])}
    assert LoopRecordingTier.loops[0] is not background_loop() and not LoopRecordingTier.loops[0].is_closed()
    assert memory._get_tier() is tier  # one tier object for every call


@pytest.mark.anyio
async def test_blocking_calls_work_inside_a_running_event_loop() -> None:
    """What Jupyter does: the documented (blocking) names called from a running loop."""
    asyncio.get_running_loop()
    memory = ShortTermMemory(max_entries=10, ttl_seconds=60)
    entry = memory.add(content={"question": "What is AI?", "answer": "..."}, importance=0.8, tags=["qa"])
    assert memory.get(entry.id) == entry
    assert [e.id for e in memory.search("AI")] == [entry.id]
    buffer = BufferMemory(max_turns=2)
    buffer.add_turn("s", "q", "a")
    assert [m.content for m in buffer.get_turns("s")] == ["q", "a"]


@pytest.mark.anyio
async def test_async_twins_are_coroutines_with_the_same_behaviour(tmp_path: Path) -> None:
    memory = PersistentBufferMemory(f"sqlite:///{tmp_path}/a.db", agent_id="bot")
    assert inspect.iscoroutinefunction(memory.aget_history) and not inspect.iscoroutinefunction(memory.get_history)
    await memory.aadd_message("user", "hello")
    assert [m.content for m in await memory.aget_history(limit=1)] == ["hello"]
    assert await memory.aload_from_db() == await memory.aload_context() == await memory.aload()
    await memory.aclose()
    assert memory.get_history.__name__ == "get_history"
    assert "aget_history" in (memory.get_history.__doc__ or "")


# -- constructor spellings and validation -------------------------------------------------------
def test_store_spellings_are_one_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    for kwargs in ({"store": url}, {"db": url}, {"backend": url}, {"storage_backend": url}):
        memory = PersistentBufferMemory(agent_id="bot", **kwargs)  # type: ignore[arg-type]
        memory.add_message("user", "x")
        memory.close()
    assert [m.content for m in PersistentBufferMemory(db=url, agent_id="bot").get_history()] == ["x"] * 4
    with pytest.raises(ConfigError, match="several names"):
        PersistentBufferMemory(db=url, storage_backend=url)
    with pytest.raises(ConfigError, match="needs a store"):
        PersistentBufferMemory()

    class DataFlow:  # a separate product: not a store
        pass

    with pytest.raises(ConfigError, match="DataFlow is a separate product"):
        PersistentBufferMemory(db=DataFlow(), agent_id="a")
    ltm = LongTermMemory(storage=SQLiteStorage(db_path=tmp_path / "l.db"))
    assert ltm.agent_id == "agent" and ltm.add("x").content == "x"
    with pytest.raises(ConfigError, match="needs a store"):
        LongTermMemory()


def test_bad_input_is_memory_003_not_a_pydantic_error() -> None:
    stm = ShortTermMemory()
    buffer = BufferMemory()
    cases = [
        lambda: stm.add(content={"ok": {1, 2}}),  # not JSON
        lambda: stm.add(content=42),
        lambda: stm.add(content={1: "int key"}),
        lambda: stm.add(content="x", importance=1.5),
        lambda: stm.add(content="x", importance="high"),
        lambda: stm.add(content="x", tags=[1, 2]),
        lambda: stm.add(content="x", metadata="not a dict"),
        lambda: stm.search(123),
        lambda: stm.search("x", limit=-1),
        lambda: buffer.add_message(role="robot", content="hi"),
        lambda: buffer.add_message(role="user", content=["not", "text"]),
        lambda: buffer.get_history(limit="10"),
    ]
    for case in cases:
        with pytest.raises(MemoryValueError) as info:
            case()
        assert info.value.code == "MEMORY_003"


def test_short_term_max_entries_keeps_the_most_important() -> None:
    stm = ShortTermMemory(max_entries=3, ttl_seconds=600)
    low = stm.add("low", importance=0.1)
    stm.add("high", importance=0.9)
    stm.add("mid", importance=0.5)
    stm.add("newest", importance=0.5)
    assert stm.count() == 3 and stm.get(low.id) is None
    assert stm.ttl_seconds == stm.ttl == 600
    with pytest.raises(ConfigError):
        ShortTermMemory(max_entries=0)


def test_dict_content_is_stored_whole_and_searched_by_its_text(tmp_path: Path) -> None:
    for storage in (SQLiteStorage(db_path=tmp_path / "d.db"), FileStorage(tmp_path / "d.jsonl"), "memory://"):
        memory = LongTermMemory(storage_backend=storage, agent_id="bot")
        entry = memory.add(content={"user_name": "Alice", "preferences": {"style": "formal"}, "langs": ["en", "fr"]})
        assert entry.text == "user_name: Alice\npreferences: style: formal\nlangs: en, fr"
        (found,) = memory.search("communication style")
        assert found.content == {"user_name": "Alice", "preferences": {"style": "formal"}, "langs": ["en", "fr"]}
        reopened = LongTermMemory(storage_backend=storage, agent_id="bot") if storage != "memory://" else memory
        assert reopened.get(entry.id) == entry
        memory.close()


def test_postgresql_storage_without_the_plugin_is_kaizen_003(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kaizen_postgres.memory_storage", None)  # import fails: not installed
    with pytest.raises(PluginNotInstalledError) as info:
        PostgreSQLStorage("postgresql://localhost/kaizen")
    assert info.value.code == "KAIZEN_003" and "pip install kaizen-postgres" in (info.value.hint or "")


def test_semantic_memory_needs_an_embedding_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaizen_core import plugins
    from kaizen_core._sync import run_sync
    from kaizen_core.errors import MemoryBackendError
    from kaizen_core.providers.mock import MockProvider

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # no embedding plugin installed
    plugins.reset()
    try:
        with pytest.raises(MemoryBackendError):
            SemanticMemory("memory://")
    finally:
        monkeypatch.undo()
        plugins.reset()
    memory = SemanticMemory("memory://", embedding_provider=MockProvider())
    entry = memory.add("the cat is called Miso")
    memory.add("deploys happen on fridays")
    assert len(run_sync(memory.tier.keys, "vec/")) == 2  # vectors stored as entries are added
    assert memory.search("the cat is called Miso", limit=1)[0].id == entry.id


@pytest.mark.anyio
async def test_tier_manager_from_documented_config_and_optimize_tiers() -> None:
    now = [0.0]
    manager = TierManager(
        config={"hot_promotion_threshold": 2, "warm_promotion_threshold": 1, "access_window_seconds": 3600,
                "auto_optimize": True, "cold_demotion_threshold": 86400, "demote_after": 10, "optimize_interval": 5},
        clock=lambda: now[0],
    )  # fmt: skip
    assert manager.config.promotion_threshold == 2 and manager.config.promotion_window == 3600
    assert manager.config.cold_after == 86400 and manager.persistent is None
    manager.attach_persistent(HotMemoryTier("warm"))
    await manager.put("k", {"v": 1})
    assert await manager.hot.exists("k")
    now[0] = 11.0
    await manager.get("other")  # auto_optimize: 11 s since the last run, "k" idle > demote_after
    assert not await manager.hot.exists("k") and await manager.get("k") == {"v": 1}
    assert await manager.optimize_tiers() == {"hot": 0, "warm": 0}
    with pytest.raises(ConfigError, match="fields:"):
        TierManager(config={"hot_promotion_treshold": 5})


def test_buffer_through_a_tier_manager_promotes_hot_sessions(tmp_path: Path) -> None:
    manager = TierManager(config={"hot_promotion_threshold": 2})
    writer = PersistentBufferMemory(f"sqlite:///{tmp_path}/t.db", agent_id="bot")
    writer.add_message("user", "hello", session_id="customer_123")
    writer.close()
    memory = PersistentBufferMemory(backend=f"sqlite:///{tmp_path}/t.db", tier_manager=manager, agent_id="bot", max_turns=100)
    assert [m.content for m in memory.load_context("customer_123")] == ["hello"]  # from warm
    assert isinstance(manager.warm, MemoryTier)  # the buffer's store became the manager's warm tier
    assert not manager.hot.peek("buffer/customer_123")  # type: ignore[attr-defined]
    memory.load_context("customer_123")  # second read within the window: promoted
    assert manager.hot.peek("buffer/customer_123")  # type: ignore[attr-defined]
