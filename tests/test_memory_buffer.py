"""Conversation buffers: BufferMemory, PersistentBufferMemory, cross-process persistence, hooks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kaizen_core.errors import ConfigError, MemoryBackendError
from kaizen_core.hooks import HookContext, HookEvent, HookManager, HookResult
from kaizen_core.memory import BufferMemory, PersistentBufferMemory, open_tier
from kaizen_core.memory.buffer import decode_messages, encode_messages
from kaizen_core.providers import Message

pytestmark = pytest.mark.anyio


async def test_buffer_keeps_last_n_turns_per_session() -> None:
    memory = BufferMemory(max_turns=2)
    for i in range(3):
        await memory.aadd_turn("alice", f"q{i}", f"a{i}")
    await memory.aadd_turn("bob", "hello", "hi bob")
    turns = await memory.aget_turns("alice")
    assert all(isinstance(m, Message) for m in turns)
    assert [(m.role, m.content) for m in turns] == [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    assert [m.content for m in await memory.aget_turns("bob")] == ["hello", "hi bob"]
    assert await memory.aget_turns("nobody") == []
    assert memory.sessions() == ["alice", "bob", "nobody"]


async def test_buffer_history_limit_and_clear() -> None:
    memory = BufferMemory(max_turns=5)
    await memory.aadd_message("user", "one", session_id="s")
    await memory.aadd_message("assistant", "two", session_id="s")
    await memory.aadd_message("user", "three", session_id="s")
    assert [m.content for m in await memory.aget_history(2, session_id="s")] == ["two", "three"]
    assert await memory.aget_history(0, session_id="s") == []
    await memory.aclear("s")
    assert await memory.aget_history(session_id="s") == []


async def test_trimming_never_starts_with_an_assistant_message() -> None:
    memory = BufferMemory(max_turns=1, max_messages=3)
    await memory.aadd_turn("s", "q1", "a1")
    await memory.aadd_turn("s", "q2", "a2")  # 4 messages -> trimmed to 3 -> leading assistant dropped
    assert [m.content for m in await memory.aget_turns("s")] == ["q2", "a2"]


@pytest.mark.parametrize("bad", [0, -1, True, "3"])
def test_bad_max_turns(bad: object) -> None:
    with pytest.raises(ConfigError):
        BufferMemory(max_turns=bad)  # type: ignore[arg-type]


def test_encoding_roundtrip_and_compression() -> None:
    messages = [Message(role="user", content="hello " * 200), Message(role="assistant", content="ok")]
    compressed = encode_messages(messages, compress=True)
    plain = encode_messages(messages, compress=False)
    assert compressed["format"] == "jsonl+zlib+base64" and plain["format"] == "jsonl"
    assert len(compressed["data"]) < len(plain["data"]) / 5
    assert plain["data"].count("\n") == 1  # JSONL: one message per line
    assert decode_messages(compressed) == messages == decode_messages(plain)
    with pytest.raises(MemoryBackendError):
        decode_messages({"format": "jsonl+zlib+base64", "data": "!!not base64"})


async def test_persistent_buffer_survives_a_new_instance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/conv.db"
    first = PersistentBufferMemory(url, agent_id="bot", buffer_size=10)
    await first.aadd_turn("u1", "My name is Alice", "Hello Alice")
    await first.aadd_message("user", "I like tea", session_id="u1")
    await first.aclose()
    second = PersistentBufferMemory(url, agent_id="bot", buffer_size=10)
    history = await second.aget_history(session_id="u1")
    assert [m.content for m in history] == ["My name is Alice", "Hello Alice", "I like tea"]
    assert await second.astored_sessions() == ["u1"]
    await second.aclose()


async def test_persistent_buffer_stores_compressed_jsonl(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    memory = PersistentBufferMemory(f"sqlite:///{db}", agent_id="bot", enable_compression=True)
    await memory.aadd_turn("s", "x" * 5000, "y")
    await memory.aclose()
    conn = sqlite3.connect(db)
    (raw,) = conn.execute("SELECT value FROM kaizen_memory WHERE key='buffer/s'").fetchone()
    conn.close()
    assert b"x" * 100 not in (raw if isinstance(raw, bytes) else raw.encode())


async def test_auto_persist_interval_bounds_what_a_crash_loses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/i.db"
    memory = PersistentBufferMemory(url, agent_id="bot", auto_persist_interval=3)
    for i in range(5):
        await memory.aadd_message("user", f"m{i}", session_id="s")
    # what a crash now would leave: the store as another process reads it
    store = open_tier(url, namespace="bot")

    async def stored() -> list[str | None]:
        return [m.content for m in decode_messages(await store.get("buffer/s"))]

    assert await stored() == ["m0", "m1", "m2"]
    assert memory.dirty_sessions() == ["s"]
    assert await memory.apersist() == 1
    assert await stored() == [f"m{i}" for i in range(5)]
    await memory.aclose()
    await store.close()


async def test_buffer_size_bounds_stored_history(tmp_path: Path) -> None:
    memory = PersistentBufferMemory(f"sqlite:///{tmp_path}/b.db", agent_id="bot", buffer_size=4)
    for i in range(6):
        await memory.aadd_turn("s", f"q{i}", f"a{i}")
    await memory.aclose()
    again = PersistentBufferMemory(f"sqlite:///{tmp_path}/b.db", agent_id="bot", buffer_size=4)
    assert [m.content for m in await again.aget_history(session_id="s")] == ["q4", "a4", "q5", "a5"]
    await again.aclose()


async def test_agents_do_not_see_each_others_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    a = PersistentBufferMemory(url, agent_id="agent-a")
    b = PersistentBufferMemory(url, agent_id="agent-b")
    await a.aadd_turn("user123", "secret of A", "noted")
    await b.aadd_turn("user123", "B's message", "ok")
    fresh_b = PersistentBufferMemory(url, agent_id="agent-b")
    assert [m.content for m in await fresh_b.aget_turns("user123")] == ["B's message", "ok"]
    fresh_a = PersistentBufferMemory(url, agent_id="agent-a")
    assert [m.content for m in await fresh_a.aget_turns("user123")] == ["secret of A", "noted"]
    for memory in (a, b, fresh_a, fresh_b):
        await memory.aclose()


async def test_clear_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cl.db"
    memory = PersistentBufferMemory(url, agent_id="bot")
    await memory.aadd_turn("s1", "a", "b")
    await memory.aadd_turn("s2", "c", "d")
    await memory.aclear("s1", stored=True)
    assert await memory.astored_sessions() == ["s2"]
    await memory.aclear(stored=True)
    assert await memory.astored_sessions() == []
    await memory.aclose()
    await memory.aclose()


PROCESS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from kaizen_core.memory import PersistentBufferMemory

    async def main(url, step, mode):
        memory = PersistentBufferMemory(url, agent_id="assistant", auto_persist_interval=0 if mode == "atexit" else 1)
        before = [m.content for m in await memory.aget_turns("user123")]
        await memory.aadd_turn("user123", f"question {step}", f"answer {step}")
        print(json.dumps(before))
        if mode == "close":
            await memory.aclose()
        # mode "atexit": no close, nothing persisted yet: the atexit flush must save it

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
    """
)


@pytest.mark.parametrize("mode", ["close", "atexit"])
def test_two_processes_one_after_another_share_history(tmp_path: Path, mode: str) -> None:
    import json

    script = tmp_path / "proc.py"
    script.write_text(PROCESS_SCRIPT)
    url = f"sqlite:///{tmp_path}/conversations.db"

    def run(step: int) -> list[str]:
        done = subprocess.run(
            [sys.executable, str(script), url, str(step), mode], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    assert run(1) == []
    assert run(2) == ["question 1", "answer 1"]
    assert run(3) == ["question 1", "answer 1", "question 2", "answer 2"]


async def test_memory_events_fire_through_hook_manager(tmp_path: Path) -> None:
    hooks = HookManager()
    seen: list[tuple[str, dict[str, object]]] = []

    def record(ctx: HookContext) -> HookResult:
        seen.append((ctx.event.name, dict(ctx.metadata)))
        return HookResult(success=True)

    for event in (HookEvent.PRE_MEMORY_SAVE, HookEvent.POST_MEMORY_SAVE, HookEvent.PRE_MEMORY_LOAD, HookEvent.POST_MEMORY_LOAD):
        hooks.register(event, record)
    memory = PersistentBufferMemory(f"sqlite:///{tmp_path}/h.db", agent_id="bot", hook_manager=hooks)
    await memory.aadd_turn("s", "hi", "hello")
    await memory.aget_turns("s")
    await memory.aload("s")
    names = [name for name, _ in seen]
    assert names == [
        "PRE_MEMORY_SAVE", "POST_MEMORY_SAVE",
        "PRE_MEMORY_LOAD", "POST_MEMORY_LOAD",
        "PRE_MEMORY_LOAD", "POST_MEMORY_LOAD",
    ]  # fmt: skip
    assert seen[0][1]["session_id"] == "s" and seen[0][1]["messages"] == 2
    assert seen[3][1]["messages"] == 2
    await memory.aclose()


async def test_blocking_pre_save_hook_prevents_storing() -> None:
    hooks = HookManager()
    hooks.register(HookEvent.PRE_MEMORY_SAVE, lambda ctx: HookResult.block("privacy mode"))
    memory = BufferMemory(max_turns=3, hook_manager=hooks)
    await memory.aadd_turn("s", "my password is x", "ok")
    assert await memory.aget_turns("s") == []


async def test_a_second_object_in_the_process_sees_unsaved_messages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/same.db"
    first = PersistentBufferMemory(url, agent_id="bot", auto_persist_interval=0)
    await first.aadd_message("user", "not persisted yet", session_id="s")
    other_agent = PersistentBufferMemory(url, agent_id="someone-else")
    assert await other_agent.aget_history(session_id="s") == []
    assert first.dirty_sessions() == ["s"]  # another agent's read writes nothing
    second = PersistentBufferMemory(url, agent_id="bot")
    assert [m.content for m in await second.aget_history(session_id="s")] == ["not persisted yet"]
    assert first.dirty_sessions() == []
    for memory in (first, second, other_agent):
        await memory.aclose()
