"""Group-committed tool journal: how many durable journal writes a cycle costs, and in what order.

A counting store records every journal write the agent makes. A cycle with k concurrent
calls costs two writes (reply + k starts, then k results); sequential calls each flush
their start together with what came before; no entry is lost or reordered.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.journal import RunJournal
from kaizen_core.config import AutonomousConfig
from kaizen_core.hooks import HookEvent, HookManager, HookResult
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.state import StateManager
from kaizen_core.state.filesystem import FilesystemStorage
from kaizen_core.tools import DangerLevel, ToolRegistry, tool

pytestmark = pytest.mark.anyio


class CountingStore(FilesystemStorage):
    """The file store, recording each journal write as the list of its entry types."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: builtins.list[builtins.list[str]] = []

    async def journal_append(self, stream: str, record: bytes) -> None:
        self.writes.append([json.loads(record)["type"]])
        await super().journal_append(stream, record)

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        self.writes.append([json.loads(r)["type"] for r in records])
        await super().journal_append_many(stream, records)


@tool(danger_level=DangerLevel.SAFE)
def look(name: str) -> str:
    """A SAFE tool: calls to it run concurrently."""
    return f"saw {name}"


@tool
def act(name: str) -> str:
    """A MEDIUM tool: calls to it run one by one."""
    return f"did {name}"


def agent_for(tmp_path: Path, store: CountingStore, script: list, **config: object) -> BaseAutonomousAgent:
    return BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", workspace_root=str(tmp_path), checkpoint_frequency=100, **config),
        "task -> summary",
        provider=MockProvider(script=script),
        tools=ToolRegistry([look, act]),
        agent_id="grouped",
        state_manager=StateManager(store),
    )


async def test_concurrent_calls_cost_two_journal_writes(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "ckpt")
    script = [calls(("look", {"name": "a"}), ("look", {"name": "b"}), ("look", {"name": "c"})), {"summary": "ok"}]
    result = await agent_for(tmp_path, store, script, permission_mode="bypass").run_autonomous("look")
    assert result["stop_reason"] == "converged"
    assert [c["outcome"] for c in result["tool_calls"]] == ["success"] * 3
    assert store.writes == [
        ["assistant", "start", "start", "start"],  # durable before any of the three runs
        ["result", "result", "result"],
        ["assistant"],  # the final reply (no tool calls)
    ]


async def test_sequential_calls_flush_each_start_with_the_previous_result(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "ckpt")
    script = [calls(("act", {"name": "a"}), ("act", {"name": "b"})), {"summary": "ok"}]
    await agent_for(tmp_path, store, script, permission_mode="bypass").run_autonomous("act")
    assert store.writes == [["assistant", "start"], ["result", "start"], ["result"], ["assistant"]]


async def test_a_refused_call_in_a_concurrent_batch_does_not_hold_the_others(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "ckpt")
    script = [calls(("look", {"name": "a"}), ("look", {"name": "secret"})), {"summary": "ok"}]
    agent = agent_for(tmp_path, store, script, permission_mode="bypass")
    hooks = HookManager()
    hooks.register(
        HookEvent.PRE_TOOL_CALL,
        lambda ctx: HookResult.block("not that one") if "secret" in json.dumps(ctx.metadata, default=str) else None,
    )
    agent.hook_manager = hooks
    result = await agent.run_autonomous("look")
    assert result["stop_reason"] == "converged"
    assert [c["outcome"] for c in result["tool_calls"]] == ["success", "blocked"]  # refused before its tool
    # the refused call never stages a start (one start in all); the allowed one is flushed with the reply
    assert store.writes[0][:2] == ["assistant", "start"] and len(store.writes) == 3
    assert sorted(t for w in store.writes[:2] for t in w) == ["assistant", "result", "result", "start"]
    assert store.writes[2] == ["assistant"]


async def test_resume_reads_batched_entries(tmp_path: Path) -> None:
    """What a batch wrote is what a resume replays: the reply and the results, in order."""
    store = CountingStore(tmp_path / "ckpt")
    manager = StateManager(store)
    await manager.journal_append_many("s", [{"type": "assistant", "cycle": 1}, {"type": "start", "key": "1/x"}])
    await manager.journal_append_many("s", [{"type": "result", "key": "1/x"}])
    assert await manager.journal_read("s") == [
        {"type": "assistant", "cycle": 1},
        {"type": "start", "key": "1/x"},
        {"type": "result", "key": "1/x"},
    ]


class GatedStore(CountingStore):
    """Holds the first journal write (before it is counted) until ``release`` is set."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = anyio.Event()
        self.release = anyio.Event()

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        await super().journal_append_many(stream, records)


async def test_flushes_reach_the_store_in_call_order_and_a_cancelled_one_loses_nothing(tmp_path: Path) -> None:
    store = GatedStore(tmp_path)
    journal = RunJournal(StateManager(store), "s")
    journal.stage({"type": "assistant", "n": 1})
    async with anyio.create_task_group() as tg:
        tg.start_soon(journal.flush)
        await store.entered.wait()  # the first flush is in the store, held there
        journal.stage({"type": "start", "n": 2})
        with anyio.CancelScope() as waiting:
            waiting.cancel()  # cancelled while it waits for the first: its entry stays staged
            await journal.flush()
        assert journal.pending == [{"type": "start", "n": 2}]
        journal.stage({"type": "result", "n": 3})
        tg.start_soon(journal.flush)  # waits for the first, then writes both staged entries
        await anyio.wait_all_tasks_blocked()
        assert store.writes == []  # the held first write is not overtaken
        store.release.set()
    assert store.writes == [["assistant"], ["start", "result"]]
    assert [e["n"] for e in await StateManager(store).journal_read("s")] == [1, 2, 3]
