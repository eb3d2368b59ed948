"""Checkpoints of an autonomous run reuse the dumps of unchanged messages (MessageDumps).

What is pinned: a checkpoint always holds the messages as they are when it is saved, whether
a message was appended, replaced or edited in place (at any depth) since the previous save;
and a crashed run whose checkpoints were built from reused dumps resumes exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.providers.types import CompletionRequest, Message, ToolCall
from kaizen_core.state import StateManager
from kaizen_core.state.agent_state import MessageDumps
from kaizen_core.tools import DangerLevel, ToolRegistry, tool

pytestmark = pytest.mark.anyio


def dumps_of(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in messages]


# --- MessageDumps ------------------------------------------------------------------------------
def test_dumps_follow_appends_replacements_and_in_place_edits() -> None:
    call = ToolCall(id="c1", name="read", arguments={"path": "a", "opts": {"lines": [1, 2]}})
    messages = [
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=[call], provider_data={"p": {"sig": "x"}}),
        Message(role="tool", content="text", tool_call_id="c1", name="read"),
    ]
    cache = MessageDumps()
    first = cache.dump(messages)
    assert first == dumps_of(messages)
    assert cache.dump(messages) == first

    messages[0].content = "go on"  # a field
    call.arguments["opts"]["lines"].append(3)  # deep inside a tool call
    messages[1].provider_data["p"]["sig"] = "y"  # type: ignore[index]  # deep inside a dict field
    messages[2].is_error = True
    assert cache.dump(messages) == dumps_of(messages)

    messages[1].tool_calls.append(ToolCall(id="c2", name="read"))  # the list of tool calls grew
    messages[1].tool_calls[0] = ToolCall(id="c1", name="read", arguments={})  # a tool call replaced
    messages[2] = Message(role="tool", content="other", tool_call_id="c1")  # a message replaced
    messages.append(Message(role="assistant", content="done"))
    assert cache.dump(messages) == dumps_of(messages)

    del messages[1:3]  # trimmed
    assert cache.dump(messages) == dumps_of(messages)


def test_a_message_appearing_twice_and_nested_models_are_dumped_correctly() -> None:
    shared = Message(role="user", content="again")
    messages = [shared, Message(role="assistant", content="a"), shared]
    cache = MessageDumps()
    assert cache.dump(messages) == dumps_of(messages)
    shared.content = "changed"
    assert cache.dump(messages) == dumps_of(messages)


def test_the_returned_dumps_do_not_alias_the_messages() -> None:
    message = Message(role="assistant", tool_calls=[ToolCall(id="c", name="t", arguments={"k": [1]})])
    dump = MessageDumps().dump([message])[0]
    dump["tool_calls"][0]["arguments"]["k"].append(2)
    assert message.tool_calls[0].arguments == {"k": [1]}


# --- through the agent ---------------------------------------------------------------------
class EditingProvider(MockProvider):
    """A provider that edits earlier messages of the request in place (as a redacting proxy might)."""

    async def complete(self, request: CompletionRequest) -> Any:
        if len(self.requests) == 2:  # the third call: two checkpoints were saved since the first
            user = next(m for m in request.messages if m.role == "user")
            user.content = f"{user.content} [edited]"
            assistant = next(m for m in request.messages if m.tool_calls)
            assistant.tool_calls[0].arguments["path"] = "edited.txt"
        return await super().complete(request)


def config(tmp_path: Path, **overrides: Any) -> AutonomousConfig:
    values: dict[str, Any] = {
        "llm_provider": "mock",
        "workspace_root": str(tmp_path),
        "enable_interrupts": False,
        "checkpoint_frequency": 1,
        "permission_mode": "bypass",
    }
    values.update(overrides)
    return AutonomousConfig(**values)


async def test_a_message_edited_between_cycles_is_checkpointed_as_edited(tmp_path: Path) -> None:
    manager = StateManager(tmp_path / "ckpt", retention_count=None)
    script = [calls(("file_exists", {"path": f"f{i}"})) for i in range(4)] + [{"summary": "done"}]
    provider = EditingProvider(script=script)
    agent = BaseAutonomousAgent(
        config(tmp_path), "task -> summary", provider=provider, tools=["file_exists"], state_manager=manager,
        agent_id="editor",
    )  # fmt: skip
    result = await agent.run_autonomous("look")
    assert result["stop_reason"] == "converged"

    metas = await manager.list_checkpoints("editor")
    by_step = {m.step_number: m for m in metas if m.status == "running"}
    before = await manager.load_checkpoint(by_step[2].checkpoint_id)  # saved before the edit
    after = await manager.load_checkpoint(by_step[3].checkpoint_id)  # saved after it
    user = [m["role"] for m in before.conversation_history].index("user")
    assert before.conversation_history[user]["content"].endswith("look")
    assert before.conversation_history[user + 1]["tool_calls"][0]["arguments"] == {"path": "f0"}
    assert after.conversation_history[user]["content"].endswith("look [edited]")
    assert after.conversation_history[user + 1]["tool_calls"][0]["arguments"] == {"path": "edited.txt"}
    # Every checkpoint equals a fresh dump of the run's messages at that point; the last one all of them.
    final = await manager.load_checkpoint(result["checkpoint_id"])
    assert final.conversation_history == dumps_of(provider.requests[-1].messages)
    # A fresh manager (no heads in memory) reads the same states back from the store.
    cold = StateManager(tmp_path / "ckpt", retention_count=None)
    assert (await cold.load_checkpoint(by_step[3].checkpoint_id)).conversation_history == after.conversation_history


class Crash(BaseException):
    """Stands in for the process dying in the middle of a tool."""


async def test_resume_after_a_crash_replays_exactly_once_with_reused_dumps(tmp_path: Path) -> None:
    counts = {"append": 0}
    crash = {"at": 4}

    @tool(danger_level=DangerLevel.LOW)
    def append(line: str) -> str:
        """Appends a line (not idempotent): crashes after its side effect on the 4th call."""
        counts["append"] += 1
        with open(tmp_path / "log.txt", "a") as fh:
            fh.write(line + "\n")
        if counts["append"] == crash["at"]:
            raise Crash()
        return "ok"

    script = [calls(("append", {"line": f"l{i}"})) for i in range(6)] + [{"summary": "done"}]
    registry = ToolRegistry([append])
    cfg = config(tmp_path, checkpoint_storage=f"file://{tmp_path / 'ckpt'}")
    agent = BaseAutonomousAgent(cfg, "task -> summary", provider=MockProvider(script=script), tools=registry,
                                agent_id="crashy")  # fmt: skip
    with pytest.raises(Crash):
        await agent.run_autonomous("write")
    assert counts["append"] == 4

    provider = MockProvider(script=script)
    resumed = BaseAutonomousAgent(cfg, "task -> summary", provider=provider, tools=registry, agent_id="crashy")
    result = await resumed.resume_from_latest()
    assert result["summary"] == "done"
    # l3 started before the crash without a recorded result: not re-run (not idempotent), the
    # model is told; l4 and l5 run once each after the resume.
    assert (tmp_path / "log.txt").read_text().splitlines() == ["l0", "l1", "l2", "l3", "l4", "l5"]
    assert counts["append"] == 6
    outcomes = [c["outcome"] for c in result["tool_calls"]]
    assert outcomes == ["success", "success", "success", "unknown", "success", "success"]
    # The resumed run continued from the messages the checkpoint held: the 3 cycles before the crash.
    first = [m for m in provider.requests[0].messages if m.role != "system"]
    assert [m.role for m in first[:7]] == ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool"]
    assert [m.tool_calls[0].arguments for m in first if m.tool_calls][:3] == [{"line": f"l{i}"} for i in range(3)]
