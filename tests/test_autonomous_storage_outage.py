"""Storage outages during an autonomous run: reported, retried, never fatal, nothing half-written.

``FlakyStore`` wraps a real :class:`FilesystemStorage` and makes ``write`` /
``journal_append`` raise :class:`StorageError` (CHECKPOINT_003) while an outage is on.
Outages are switched on and off from lifecycle hooks and tools, so the tests depend
on the order of events, not on timing.
"""

from __future__ import annotations

import builtins
import logging
from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import StorageError
from kaizen_core.hooks import HookContext, HookEvent, HookManager
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.state import CheckpointMeta, CheckpointStore, FilesystemStorage, StateManager
from kaizen_core.tools import ToolRegistry, tool

pytestmark = pytest.mark.anyio


class FlakyStore(CheckpointStore):
    """A FilesystemStorage whose writes fail while ``writes_down`` / ``journal_down`` is set.

    ``fail_writes`` / ``fail_journal`` make only the next N calls fail. Every refused
    checkpoint id is remembered in ``refused_ids``.
    """

    scheme = "flaky"

    def __init__(self, root: Path) -> None:
        self.inner = FilesystemStorage(root)
        self.writes_down = False
        self.journal_down = False
        self.fail_writes = 0
        self.fail_journal = 0
        self.refused_ids: builtins.list[str] = []
        self.refused_journal = 0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FlakyStore:
        raise NotImplementedError

    def _outage(self, what: str) -> StorageError:
        return StorageError(f"flaky://test is unreachable ({what})", hint="the test's outage window")

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        if self.writes_down or self.fail_writes > 0:
            self.fail_writes = max(self.fail_writes - 1, 0)
            self.refused_ids.append(meta.checkpoint_id)
            raise self._outage("write")
        await self.inner.write(meta, payload)

    async def journal_append(self, stream: str, record: bytes) -> None:
        if self.journal_down or self.fail_journal > 0:
            self.fail_journal = max(self.fail_journal - 1, 0)
            self.refused_journal += 1
            raise self._outage("journal")
        await self.inner.journal_append(stream, record)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        return await self.inner.read(checkpoint_id)

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        return await self.inner.list(agent_id)

    async def delete(self, checkpoint_id: str) -> bool:
        return await self.inner.delete(checkpoint_id)

    async def list_agents(self) -> builtins.list[str]:
        return await self.inner.list_agents()

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        return await self.inner.journal_read(stream)


@tool
def note(text: str) -> str:
    """Record a note."""
    return f"noted {text}"


SCRIPT = [
    calls(("note", {"text": "one"})),
    calls(("note", {"text": "two"})),
    calls(("note", {"text": "three"})),
    calls(("note", {"text": "four"})),
    {"summary": "all noted"},
]


class Harness:
    """An agent on a FlakyStore, with ON_ERROR and per-cycle callbacks recorded."""

    def __init__(self, tmp_path: Path, *, frequency: int = 1, retry_seconds: float = 5.0, **config: Any) -> None:
        self.store = FlakyStore(tmp_path / "ckpt")
        self.manager = StateManager(self.store, retention_count=None)
        self.errors: list[dict[str, Any]] = []
        self.on_post_cycle: dict[int, Any] = {}
        hooks = HookManager()
        hooks.register(HookEvent.ON_ERROR, self._on_error)
        hooks.register(HookEvent.POST_CYCLE, self._post_cycle)
        values: dict[str, Any] = {
            "llm_provider": "mock",
            "workspace_root": str(tmp_path),
            "checkpoint_frequency": frequency,
            "permission_mode": "bypass",
            "enable_interrupts": False,
        }
        values.update(config)
        self.agent = BaseAutonomousAgent(
            AutonomousConfig(**values),
            "task -> summary",
            provider=MockProvider(script=list(SCRIPT)),
            hook_manager=hooks,
            tools=ToolRegistry([note]),
            agent_id="outage-agent",
            state_manager=self.manager,
        )
        self.agent.storage_retry_seconds = retry_seconds
        self.agent.storage_retry_delay = 0.01

    def _on_error(self, ctx: HookContext) -> None:
        self.errors.append(dict(ctx.metadata, cycle=ctx.cycle))

    def _post_cycle(self, ctx: HookContext) -> None:
        action = self.on_post_cycle.get(ctx.cycle or 0)
        if action is not None:
            action()

    async def run(self) -> dict[str, Any]:
        return await self.agent.run_autonomous("take notes")

    async def check_every_checkpoint_loads(self) -> list[CheckpointMeta]:
        """Every stored checkpoint loads, and no parent link points at a refused write."""
        loader = StateManager(FilesystemStorage(self.store.inner.root))
        metas = await loader.list_checkpoints(self.agent.agent_id)
        ids = {m.checkpoint_id for m in metas}
        assert not ids & set(self.store.refused_ids)
        for meta in metas:
            state = await loader.load_checkpoint(meta.checkpoint_id)
            assert state.checkpoint_id == meta.checkpoint_id
            assert state.agent_id == self.agent.agent_id
            if meta.parent_checkpoint_id is not None:
                assert meta.parent_checkpoint_id in ids, "a checkpoint's parent must be a saved checkpoint"
        return metas


async def test_failed_periodic_checkpoint_is_reported_and_retried_next_cycle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path, frequency=2)
    h.on_post_cycle[2] = lambda: setattr(h.store, "fail_writes", 1)  # the cycle-2 save fails once
    with caplog.at_level(logging.WARNING, logger="kaizen_core.agents.autonomous"):
        result = await h.run()

    assert result["stop_reason"] == "converged"
    assert result["summary"] == "all noted"
    assert [c["outcome"] for c in result["tool_calls"]] == ["success"] * 4
    assert len(h.store.refused_ids) == 1
    assert len(h.errors) == 1
    error = h.errors[0]
    assert error["phase"] == "checkpoint"
    assert error["error_code"] == "CHECKPOINT_003"
    assert "flaky://test is unreachable" in error["error_message"] and error["error_type"] == "StorageError"
    assert error["cycle"] == 2 and error["final"] is False
    assert result["_meta"]["storage_errors"] == [
        {
            "phase": "checkpoint",
            "error_code": "CHECKPOINT_003",
            "error": error["error_message"],
            "cycle": 2,
            "status": "running",
            "final": False,
        }
    ]
    assert any("checkpoint write failed in cycle 2" in r.getMessage() for r in caplog.records)

    metas = await h.check_every_checkpoint_loads()
    # start (0), cycle 2 refused -> retried at cycle 3 although frequency is 2, cycle 4, completion (5)
    assert sorted(m.step_number for m in metas) == [0, 3, 4, 5]
    assert result["checkpoint_id"] == metas[0].checkpoint_id
    latest = await h.manager.resume_from_latest(h.agent.agent_id)
    assert latest is not None and latest.status == "completed"
    assert latest.custom_state["final_result"]["summary"] == "all noted"


async def test_outage_over_several_cycles_then_recovery(tmp_path: Path) -> None:
    h = Harness(tmp_path, frequency=1)
    h.on_post_cycle[1] = lambda: setattr(h.store, "writes_down", True)
    h.on_post_cycle[3] = lambda: setattr(h.store, "writes_down", False)
    result = await h.run()

    assert result["stop_reason"] == "converged"
    assert [e["cycle"] for e in h.errors] == [1, 2]
    assert {e["phase"] for e in h.errors} == {"checkpoint"}
    assert len(h.store.refused_ids) == 2
    metas = await h.check_every_checkpoint_loads()
    assert sorted(m.step_number for m in metas) == [0, 3, 4, 5]
    # the first save after the outage links to the last one before it (the start checkpoint)
    by_step = {m.step_number: m for m in metas}
    assert by_step[3].parent_checkpoint_id == by_step[0].checkpoint_id
    state = await h.manager.load_checkpoint(by_step[3].checkpoint_id)
    assert [c["arguments"]["text"] for c in state.completed_tool_calls] == ["one", "two", "three"]


async def test_final_checkpoint_is_retried_until_the_store_returns(tmp_path: Path) -> None:
    h = Harness(tmp_path, frequency=10)
    h.on_post_cycle[5] = lambda: setattr(h.store, "fail_writes", 3)  # the completion save fails 3 times
    result = await h.run()

    assert result["stop_reason"] == "converged"
    assert h.errors == [] and "storage_errors" not in result["_meta"]
    assert len(h.store.refused_ids) == 3
    metas = await h.check_every_checkpoint_loads()
    assert metas[0].status == "completed"
    assert result["checkpoint_id"] == metas[0].checkpoint_id


async def test_final_checkpoint_gives_up_after_the_retry_budget(tmp_path: Path) -> None:
    h = Harness(tmp_path, frequency=1, retry_seconds=0.2)
    h.on_post_cycle[5] = lambda: setattr(h.store, "writes_down", True)  # down for good before completion
    result = await h.run()

    assert result["stop_reason"] == "converged"
    assert result["summary"] == "all noted"
    assert len(h.store.refused_ids) >= 2, "the final save must have been retried"
    assert [(e["phase"], e["status"], e["final"]) for e in h.errors] == [("checkpoint", "completed", True)]
    assert result["_meta"]["storage_errors"][0]["final"] is True
    metas = await h.check_every_checkpoint_loads()
    assert metas[0].status == "running" and metas[0].step_number == 4
    assert result["checkpoint_id"] == metas[0].checkpoint_id  # the newest checkpoint that exists


async def test_journal_append_is_retried_with_backoff(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.on_post_cycle[1] = lambda: setattr(h.store, "fail_journal", 3)  # the cycle-2 reply append fails 3 times
    result = await h.run()

    assert result["stop_reason"] == "converged"
    assert h.errors == [] and "storage_errors" not in result["_meta"]
    assert h.store.refused_journal == 3
    entries = await h.manager.journal_read(f"{h.agent.agent_id}.{result['run_id']}.tools")
    assert [e["type"] for e in entries] == ["assistant", "start", "result"] * 4 + ["assistant"]
    assert [e["cycle"] for e in entries if e["type"] == "assistant"] == [1, 2, 3, 4, 5]


async def test_journal_outage_is_reported_and_forces_a_checkpoint(tmp_path: Path) -> None:
    h = Harness(tmp_path, frequency=10, retry_seconds=0.05)

    @tool
    def journal_outage() -> str:
        """The journal store goes down while this runs; it is back after this cycle."""
        h.store.journal_down = True
        return "journal down"

    h.agent.tools = ToolRegistry([note, journal_outage])
    h.agent.provider = MockProvider(
        script=[calls(("note", {"text": "one"})), calls(("journal_outage", {})), *SCRIPT[2:]]
    )
    h.on_post_cycle[2] = lambda: setattr(h.store, "journal_down", False)
    result = await h.run()

    assert result["stop_reason"] == "converged"
    # the cycle's results are one batch write: its failure names every entry it dropped
    assert [(e["phase"], e["entry_types"], e["keys"]) for e in h.errors] == [("journal", ["result"], ["2/call_1_0"])]
    assert h.errors[0]["error_code"] == "CHECKPOINT_003"
    assert result["_meta"]["storage_errors"][0]["phase"] == "journal"
    assert h.store.refused_journal >= 2, "the append must have been retried"
    # the journal lost the result of cycle 2, so a checkpoint is saved right after that cycle
    metas = await h.check_every_checkpoint_loads()
    assert sorted(m.step_number for m in metas) == [0, 2, 5]
    state = await h.manager.load_checkpoint(next(m.checkpoint_id for m in metas if m.step_number == 2))
    assert [c["name"] for c in state.completed_tool_calls] == ["note", "journal_outage"]
    entries = await h.manager.journal_read(f"{h.agent.agent_id}.{result['run_id']}.tools")
    assert [(e["type"], e.get("key")) for e in entries if e["type"] != "assistant"] == [
        ("start", "1/call_0_0"),
        ("result", "1/call_0_0"),
        ("start", "2/call_1_0"),  # its result was lost in the outage
        ("start", "3/call_2_0"),
        ("result", "3/call_2_0"),
        ("start", "4/call_3_0"),
        ("result", "4/call_3_0"),
    ]


async def test_store_down_at_start_fails_fast(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.store.writes_down = True
    with pytest.raises(StorageError) as info:
        await h.run()
    assert info.value.code == "CHECKPOINT_003"
    assert h.store.refused_journal == 0, "nothing ran before the first checkpoint"
    assert await h.manager.list_checkpoints(h.agent.agent_id) == []
