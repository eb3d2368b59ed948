"""The one permission gate, budgets and the loop guards, as a user meets them (issue 10 acceptance)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.errors import BudgetExceededError
from kaizen_core.permissions import ExecutionContext
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.providers.types import Completion, CompletionRequest, Usage
from kaizen_core.state import StateManager
from kaizen_core.tools import ToolContext, ToolRegistry, tool

pytestmark = pytest.mark.anyio


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "keep.txt").write_text("precious")
    return root


def file_tools(ws: Path, *names: str) -> ToolRegistry:
    return ToolRegistry.from_config(list(names), context=ToolContext(workspace_root=ws))


# --- one gate for BaseAgent too ---------------------------------------------------------------
def test_base_agent_does_not_run_a_high_danger_tool_without_approval(ws: Path) -> None:
    provider = MockProvider(script=[calls(("delete_file", {"path": "keep.txt"})), {"answer": "done"}])
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock"),
        "question -> answer",
        provider=provider,
        tools=file_tools(ws, "delete_file"),
    )
    result = agent.run(question="clean up")
    assert (ws / "keep.txt").read_text() == "precious"
    record = result["_meta"]["tool_calls"][0]
    assert record["outcome"] == "denied" and record["error_code"] == "EXEC_005"
    decision = result["_meta"]["permission_decisions"][0]
    assert decision["initial_decision"] == "ask" and decision["decision"] == "deny"
    assert "no control protocol" in decision["reason"]
    assert "permission denied" in provider.requests[1].messages[-1].content  # the model is told why


def test_base_agent_asks_its_control_protocol_and_runs_an_approved_call(ws: Path) -> None:
    provider = MockProvider(script=[calls(("delete_file", {"path": "keep.txt"})), {"answer": "done"}])
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda r: {"approved": True})
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock"),
        "question -> answer",
        provider=provider,
        tools=file_tools(ws, "delete_file"),
        control_protocol=ControlProtocol(transport),
    )
    result = agent.run(question="clean up")
    assert not (ws / "keep.txt").exists()
    assert result["_meta"]["tool_calls"][0]["outcome"] == "success"
    approval = next(r for r in transport.client.received if r.request_type == "approval")
    assert approval.data["action"] == "delete_file"
    assert approval.data["details"]["arguments"] == {"path": "keep.txt"}
    assert approval.data["details"]["danger_level"] == "high"


def test_plan_mode_does_not_run_a_custom_tool_not_marked_read_only(ws: Path) -> None:
    ran: list[str] = []

    @tool
    def record_note(text: str) -> str:
        """Store a note."""
        ran.append(text)
        return "ok"

    @tool(read_only=True)
    def count_notes() -> int:
        """How many notes exist."""
        return len(ran)

    provider = MockProvider(script=[calls(("record_note", {"text": "x"}), ("count_notes", {})), {"answer": "planned"}])
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", permission_mode="plan"),
        "question -> answer",
        provider=provider,
        tools=[record_note, count_notes],
    )
    result = agent.run(question="plan it")
    assert ran == []
    assert [(c["name"], c["outcome"]) for c in result["_meta"]["tool_calls"]] == [
        ("record_note", "denied"),
        ("count_notes", "success"),
    ]


def test_custom_tools_default_to_low_danger_and_run_in_default_mode() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    assert add.danger_level.value == "low" and add.read_only is False
    provider = MockProvider(script=[calls(("add", {"a": 2, "b": 3})), {"answer": "5"}])
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=provider, tools=[add])
    assert agent.run(question="2+3?")["_meta"]["tool_calls"][0]["outcome"] == "success"


# --- budgets ------------------------------------------------------------------------------------
class UnpricedProvider(MockProvider):
    """A provider whose model has no price: usage has tokens, cost None (as for an unknown model)."""

    async def complete(self, request: CompletionRequest) -> Completion:
        completion = await super().complete(request)
        return completion.model_copy(update={"usage": Usage(input_tokens=40, output_tokens=10, cost_usd=None)})


def test_usd_budget_with_an_unpriced_model_refuses_before_any_tool_runs(ws: Path) -> None:
    ran: list[int] = []

    @tool
    def act() -> str:
        """Do something."""
        ran.append(1)
        return "done"

    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock", max_budget_usd=1.0),
        "question -> answer",
        provider=UnpricedProvider(script=[calls(("act", {})), {"answer": "x"}]),
        tools=[act],
    )
    with pytest.raises(BudgetExceededError, match="has no price") as info:
        agent.run(question="go")
    assert ran == []
    assert "max_budget_tokens" in (info.value.hint or "")
    assert info.value.result["_meta"]["provider_calls"] == 1


def test_unpriced_model_falls_back_to_the_token_budget_with_one_warning(
    ws: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = [calls(("file_exists", {"path": f"f{i}"})) for i in range(10)]
    agent = BaseAutonomousAgent(
        AutonomousConfig(
            llm_provider="mock", max_budget_usd=1.0, max_budget_tokens=120, checkpoint_storage=None, max_cycles=10
        ),
        "task -> summary",
        provider=UnpricedProvider(script=script),
        tools=file_tools(ws, "file_exists"),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(BudgetExceededError, match="token budget") as info:
        agent.run_autonomous_sync("spend tokens")
    assert info.value.result["_meta"]["provider_calls"] == 3  # 50 tokens a call: 150 >= 120 after the third
    assert sum("has no price" in r.getMessage() for r in caplog.records) == 1


async def test_shared_budget_counts_concurrent_runs_exactly(ws: Path) -> None:
    import anyio

    context = ExecutionContext(token_limit=10_000)
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock"),
        "question -> answer",
        provider=MockProvider(),
        execution_context=context,
    )
    results: list[dict[str, Any]] = []

    async def one(i: int) -> None:
        results.append(await agent.run_async(question=f"q{i}"))

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)
    assert len(results) == 8 and context.tokens_spent > 0  # every run finished and spent tokens
    assert context.tokens_spent == sum(r["_meta"]["usage"]["total_tokens"] for r in results)


# --- repeated calls (the bundled small model's failure mode) ------------------------------------
def test_repeated_identical_calls_are_steered_to_the_final_answer(ws: Path) -> None:
    script = [calls(("file_exists", {"path": "keep.txt"}))] * 3 + [{"summary": "keep.txt exists"}]
    provider = MockProvider(script=script)
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None, max_cycles=10),
        "task -> summary",
        provider=provider,
        tools=file_tools(ws, "file_exists"),
    )
    result = agent.run_autonomous_sync("does keep.txt exist?")
    assert result["summary"] == "keep.txt exists" and result["stop_reason"] == "converged"
    outcomes = [c["outcome"] for c in result["tool_calls"]]
    assert outcomes == ["success", "repeated", "repeated"]  # run once, then answered from memory
    repeat_message = provider.requests[2].messages[-1].content
    assert "already called file_exists" in repeat_message and "true" in repeat_message
    assert provider.requests[-1].tools == []  # steered: the final answer was asked without tools
    assert result["cycles_used"] == 3


# --- disk: deltas stay O(change), completed journals are deleted ---------------------------------
async def test_forty_cycles_keep_deltas_small(tmp_path: Path, ws: Path) -> None:
    manager = StateManager(f"file://{tmp_path}/cp", retention_count=None, full_snapshot_every=1000)
    script = [calls(("file_exists", {"path": f"f{i}.txt"})) for i in range(40)] + [{"summary": "done"}]
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=50),
        "task -> summary",
        provider=MockProvider(script=script),
        tools=file_tools(ws, "file_exists"),
        state_manager=manager,
        agent_id="long-run",
    )
    await agent.run_autonomous("check forty files")
    # order by the step in the documented id (``<agent>_step_<n>_...``): mtimes can tie on coarse clocks
    files = {int(re.search(r"_step_(\d+)_", p.name)[1]): p for p in (tmp_path / "cp").rglob("*.ckpt")}  # type: ignore[index]
    assert sorted(files) == list(range(len(files)))  # one file per step, none missing
    # deltas only: the byte-driven snapshot policy writes a full snapshot now and then
    steps = [s for s in sorted(files) if json.loads(files[s].read_bytes().partition(b"\n")[0])["meta"]["kind"] == "delta"]
    sizes = [files[step].stat().st_size for step in steps]
    deltas = sizes[1:-1]  # skip the first delta and the final one (holds the result)
    assert len(deltas) >= 15
    early, late = deltas[:5], deltas[-5:]
    assert max(late) <= max(early) * 1.1, (early, late)


async def test_completed_run_deletes_its_journal(tmp_path: Path, ws: Path) -> None:
    manager = StateManager(f"file://{tmp_path}/cp")
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock"),
        "task -> summary",
        provider=MockProvider(script=[calls(("file_exists", {"path": "a"})), {"summary": "ok"}]),
        tools=file_tools(ws, "file_exists"),
        state_manager=manager,
        agent_id="tidy",
    )
    result = await agent.run_autonomous("go")
    stream = f"tidy.{result['run_id']}.tools"
    assert await manager.journal_read(stream) == []
    state = await manager.load_checkpoint(result["checkpoint_id"])
    assert state.status == "completed"
