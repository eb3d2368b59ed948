"""BaseAutonomousAgent: the tool loop, permissions and approvals, hooks, stop reasons, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from kaizen_core.agents.autonomous import BaseAutonomousAgent, json_protocol_schema
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.errors import AgentInterrupted, BudgetExceededError, CheckpointNotFoundError, ConvergenceError
from kaizen_core.hooks import HookEvent, HookManager, HookResult
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.state import StateManager
from kaizen_core.tools import DangerLevel, ToolRegistry, tool

pytestmark = pytest.mark.anyio


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("buy milk")
    (root / "old.log").write_text("old")
    return root


def make_config(tmp_path: Path, ws: Path, **overrides: Any) -> AutonomousConfig:
    values: dict[str, Any] = {
        "llm_provider": "mock",
        "checkpoint_storage": f"file://{tmp_path / 'ckpt'}",
        "workspace_root": str(ws),
        "enable_interrupts": False,
        "approval_timeout": 5,
    }
    values.update(overrides)
    return AutonomousConfig(**values)


def recording_hooks() -> tuple[HookManager, list[str]]:
    hooks = HookManager()
    seen: list[str] = []
    for event in HookEvent:
        hooks.register(event, lambda ctx: seen.append(ctx.event.value))
    return hooks, seen


def last_tool_message(provider: MockProvider, request_index: int = -1) -> dict[str, Any]:
    message = provider.requests[request_index].messages[-1]
    assert message.role == "tool"
    return json.loads(message.content or "{}")


# --- acceptance --------------------------------------------------------------------------
async def test_read_then_approved_write_then_answer(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(
        script=[
            calls(("read_file", {"path": "notes.txt"})),
            calls(("write_file", {"path": "todo.txt", "content": "- buy milk"})),
            {"summary": "wrote todo.txt"},
        ]
    )
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda r: {"approved": r.data["action"] == "write_file"})
    hooks, seen = recording_hooks()
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws),
        "task -> summary",
        provider=provider,
        tools=["read_file", "write_file"],
        hook_manager=hooks,
        control_protocol=ControlProtocol(transport),
    )
    result = await agent.run_autonomous("turn my notes into a todo file")

    assert result["summary"] == "wrote todo.txt"
    assert result["stop_reason"] == "converged"
    assert result["cycles_used"] == 3
    assert [(c["name"], c["outcome"]) for c in result["tool_calls"]] == [
        ("read_file", "success"),
        ("write_file", "success"),
    ]
    assert result["tool_calls"][1]["arguments"] == {"path": "todo.txt", "content": "- buy milk"}
    assert all(c["duration_ms"] >= 0 for c in result["tool_calls"])
    assert (ws / "todo.txt").read_text() == "- buy milk"
    assert seen.count("pre_tool_call") == 2 and seen.count("post_tool_call") == 2
    assert seen.count("pre_permission_check") == 2 and seen.count("post_permission_check") == 2
    assert seen.count("pre_cycle") == 3 and seen.count("post_cycle") == 3
    decisions = result["permission_decisions"]
    assert [(d["tool"], d["initial_decision"], d["decision"]) for d in decisions] == [
        ("read_file", "allow", "allow"),
        ("write_file", "ask", "allow"),
    ]
    approvals = [r for r in transport.client.received if r.request_type == "approval"]
    assert [a.data["action"] for a in approvals] == ["write_file"]
    assert approvals[0].data["details"]["arguments"]["path"] == "todo.txt"
    # the model saw the file content as a tool result
    assert provider.requests[1].messages[-1].content == "buy milk"
    assert result["usage"]["total_tokens"] > 0 and result["_meta"]["cycles_used"] == 3


async def test_deny_rule_on_delete_feeds_reason_back(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("delete_file", {"path": "old.log"})), {"summary": "could not delete"}])
    config = make_config(
        tmp_path,
        ws,
        permission_rules=[{"pattern": "delete_.*", "permission_type": "deny", "reason": "deleting is forbidden"}],
    )
    hooks, seen = recording_hooks()
    agent = BaseAutonomousAgent(config, "task -> summary", provider=provider, tools=["delete_file"], hook_manager=hooks)
    result = await agent.run_autonomous("clean up")

    assert (ws / "old.log").exists()
    assert result["stop_reason"] == "converged" and result["summary"] == "could not delete"
    assert result["tool_calls"][0]["outcome"] == "denied"
    fed_back = last_tool_message(provider, 1)
    assert fed_back["error_code"] == "EXEC_005" and "deleting is forbidden" in fed_back["error"]
    assert result["permission_decisions"][0]["decision"] == "deny"
    assert result["permission_decisions"][0]["source"] == "rule"
    assert "pre_tool_call" not in seen and seen.count("post_permission_check") == 1


async def test_path_traversal_refused_inside_a_run(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("read_file", {"path": "../../etc/passwd"})), {"summary": "refused"}])
    agent = BaseAutonomousAgent(make_config(tmp_path, ws), "task -> summary", provider=provider, tools=["read_file"])
    result = await agent.run_autonomous("read the password file")
    fed_back = last_tool_message(provider, 1)
    assert fed_back["error_code"] == "EXEC_005" and "outside the workspace" in fed_back["error"]
    assert "root:" not in json.dumps(fed_back)
    assert result["tool_calls"][0]["outcome"] == "error" and result["stop_reason"] == "converged"


async def test_max_cycles_asks_for_the_final_answer_without_tools(tmp_path: Path, ws: Path) -> None:
    script = [calls(("file_exists", {"path": f"notes{i}.txt"})) for i in range(3)] + [{"summary": "nothing found"}]
    provider = MockProvider(script=script)
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, max_cycles=3, checkpoint_frequency=100),
        "task -> summary",
        provider=provider,
        tools=["file_exists"],
        agent_id="looper",
    )
    result = await agent.run_autonomous("loop forever")
    assert result["stop_reason"] == "max_cycles"
    assert result["summary"] == "nothing found"  # a result never violates the signature
    assert result["cycles_used"] == 3 and len(result["tool_calls"]) == 3
    final_request = provider.requests[-1]
    assert final_request.tools == []  # the tools were withheld on the final-answer turn
    assert "final answer" in final_request.messages[-1].content


async def test_max_cycles_without_a_valid_answer_raises_convergence_error(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("file_exists", {"path": f"n{i}.txt"})) for i in range(10)])
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, max_cycles=3, checkpoint_frequency=100),
        "task -> summary",
        provider=provider,
        tools=["file_exists"],
        agent_id="looper",
    )
    with pytest.raises(ConvergenceError) as info:
        await agent.run_autonomous("loop forever")
    assert info.value.code == "AGENT_005"
    partial = info.value.result
    assert partial["stop_reason"] == "max_cycles"
    assert partial["cycles_used"] == 3 and len(partial["tool_calls"]) == 3
    assert partial["_meta"]["usage"]["total_tokens"] > 0
    state = await agent.state_manager.load_checkpoint(partial["checkpoint_id"])
    assert state.status == "paused" and state.custom_state["cycle"] == 3
    assert state.custom_state["stop_reason"] == "max_cycles"
    latest = await agent.state_manager.resume_from_latest("looper")
    assert latest is not None and latest.checkpoint_id == partial["checkpoint_id"]


# --- approvals -----------------------------------------------------------------------------
async def test_unanswered_approval_is_denied(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("write_file", {"path": "x.txt", "content": "x"})), {"summary": "no"}])
    transport = InMemoryTransport()  # nobody answers
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, approval_timeout=0.05),
        "task -> summary",
        provider=provider,
        tools=["write_file"],
        control_protocol=ControlProtocol(transport),
    )
    result = await agent.run_autonomous("write")
    assert not (ws / "x.txt").exists()
    assert result["tool_calls"][0]["outcome"] == "denied"
    assert "not approved" in last_tool_message(provider, 1)["error"]
    assert len(transport.client.received) >= 1


async def test_ask_without_control_protocol_is_denied_and_accept_edits_allows(tmp_path: Path, ws: Path) -> None:
    script = [calls(("write_file", {"path": "x.txt", "content": "x"})), {"summary": "ok"}]
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws), "task -> summary", provider=MockProvider(script=script), tools=["write_file"]
    )
    result = await agent.run_autonomous("write")
    assert result["tool_calls"][0]["outcome"] == "denied" and not (ws / "x.txt").exists()
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, permission_mode="accept_edits"),
        "task -> summary",
        provider=MockProvider(script=script),
        tools=["write_file"],
    )
    result = await agent.run_autonomous("write")
    assert result["tool_calls"][0]["outcome"] == "success" and (ws / "x.txt").read_text() == "x"


async def test_blocked_pre_tool_call_is_fed_back(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("read_file", {"path": "notes.txt"})), {"summary": "blocked"}])
    hooks = HookManager()
    hooks.register(HookEvent.PRE_TOOL_CALL, lambda ctx: HookResult.block("reads are audited today"))
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws), "task -> summary", provider=provider, tools=["read_file"], hook_manager=hooks
    )
    result = await agent.run_autonomous("read")
    assert result["tool_calls"][0]["outcome"] == "blocked"
    assert "reads are audited today" in last_tool_message(provider, 1)["error"]
    assert result["stop_reason"] == "converged"


# --- stop reasons --------------------------------------------------------------------------
async def test_budget_stops_the_run(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(script=[calls(("file_exists", {"path": "a"}))] * 20, cost_per_input_token=0.001)
    agent = BaseAutonomousAgent(
        # the same call every cycle: no repeat limit, so the budget is what ends the run
        make_config(tmp_path, ws, max_budget_usd=0.5, max_cycles=20, max_repeated_calls=0),
        "task -> summary",
        provider=provider,
        tools=["file_exists"],
    )
    with pytest.raises(BudgetExceededError) as info:
        await agent.run_autonomous("spend")
    partial = info.value.result
    assert partial["stop_reason"] == "budget"
    assert partial["cost"] >= 0.5
    # checked before every model call: the call that crossed the limit is the last one made
    assert provider.requests and len(provider.requests) == partial["_meta"]["provider_calls"] < 20
    state = await agent.state_manager.load_checkpoint(partial["checkpoint_id"])
    assert state.status == "paused" and state.custom_state["stop_reason"] == "budget"


async def test_interrupt_raises_with_partial_result_and_checkpoint(tmp_path: Path, ws: Path) -> None:
    holder: dict[str, BaseAutonomousAgent] = {}

    @tool
    def stop_me() -> str:
        """Requests an interrupt."""
        holder["agent"].interrupt_manager.request_interrupt("user", "graceful", "stop please")
        return "stopping"

    provider = MockProvider(script=[calls(("stop_me", {}))] * 5)
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, enable_interrupts=True), "task -> summary", provider=provider, tools=[stop_me]
    )
    holder["agent"] = agent
    with pytest.raises(AgentInterrupted) as info:
        await agent.run_autonomous("go")
    partial = info.value.result
    assert partial is not None and partial["stop_reason"] == "interrupted"
    assert partial["cycles_used"] == 1 and partial["tool_calls"][0]["outcome"] == "success"
    assert info.value.reason.metadata["checkpoint_id"]


async def test_invalid_tool_calls_fed_back_and_limited(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(
        script=[
            calls(("read_file", {"path": 42, "bogus": True})),
            calls(("no_such_tool", {})),
            calls(("read_file", {})),
            {"summary": "never"},
        ]
    )
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, max_tool_errors=2), "task -> summary", provider=provider, tools=["read_file"]
    )
    result = await agent.run_autonomous("misbehave")
    assert last_tool_message(provider, 1)["error_code"] == "EXEC_001"
    unknown = last_tool_message(provider, 2)
    assert unknown["error_code"] == "EXEC_001" and "unknown tool 'no_such_tool'" in unknown["error"]
    assert result["stop_reason"] == "tool_errors" and result["cycles_used"] == 3
    assert result["summary"] == "never"  # the final answer, asked for with the tools withheld
    assert provider.requests[-1].tools == []


# --- concurrency ---------------------------------------------------------------------------
async def test_safe_calls_run_concurrently_others_in_order(tmp_path: Path, ws: Path) -> None:
    first_started, second_started = anyio.Event(), anyio.Event()
    order: list[str] = []

    @tool(danger_level=DangerLevel.SAFE)
    async def wait_a() -> str:
        """Needs wait_b to run at the same time."""
        first_started.set()
        with anyio.fail_after(5):
            await second_started.wait()
        return "a"

    @tool(danger_level=DangerLevel.SAFE)
    async def wait_b() -> str:
        """Needs wait_a to run at the same time."""
        second_started.set()
        with anyio.fail_after(5):
            await first_started.wait()
        return "b"

    @tool(danger_level=DangerLevel.LOW)
    async def step(n: int) -> int:
        """Records order."""
        order.append(f"start{n}")
        if n == 1:
            # Finish only once every other task waits: a step 2 running alongside would
            # have started (and ended) by now, whatever the machine's speed.
            await anyio.wait_all_tasks_blocked()
        order.append(f"end{n}")
        return n

    provider = MockProvider(
        script=[calls(("wait_a", {}), ("wait_b", {}), ("step", {"n": 1}), ("step", {"n": 2})), {"summary": "ok"}]
    )
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws), "task -> summary", provider=provider, tools=ToolRegistry([wait_a, wait_b, step])
    )
    result = await agent.run_autonomous("parallel")
    assert [c["outcome"] for c in result["tool_calls"]] == ["success"] * 4
    # wait_b finishes first, but the result lists calls in the model's order
    assert [c["name"] for c in result["tool_calls"]] == ["wait_a", "wait_b", "step", "step"]
    assert order == ["start1", "end1", "start2", "end2"]
    tool_messages = [m for m in provider.requests[1].messages if m.role == "tool"]
    assert [m.content for m in tool_messages] == ["a", "b", "1", "2"]


# --- JSON protocol for providers without native tools ----------------------------------------
class NoToolsMock(MockProvider):
    supports_tools = False


async def test_json_protocol_without_native_tools(tmp_path: Path, ws: Path) -> None:
    provider = NoToolsMock(
        script=[
            json.dumps({"tool_calls": [{"name": "read_file", "arguments": {"path": "notes.txt"}}]}),
            {"content": json.dumps({"final_answer": {"summary": "milk"}})},
        ]
    )
    agent = BaseAutonomousAgent(make_config(tmp_path, ws), "task -> summary", provider=provider, tools=["read_file"])
    result = await agent.run_autonomous("read")
    assert result["summary"] == "milk" and result["cycles_used"] == 2
    assert result["tool_calls"][0]["outcome"] == "success"
    first = provider.requests[0]
    assert first.tools == []
    assert first.output_schema is not None and "tool_calls" in first.output_schema["properties"]
    assert first.output_schema["properties"]["tool_calls"]["items"]["properties"]["name"]["enum"] == ["read_file"]
    assert "read_file" in (first.messages[0].content or "")
    feedback = provider.requests[1].messages[-1]
    assert feedback.role == "user" and feedback.content.startswith("Tool results:")
    assert json.loads(feedback.content.split("\n", 1)[1])[0]["result"] == "buy milk"


def test_json_protocol_schema_hoists_defs() -> None:
    schema = json_protocol_schema(
        ["a"], {"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}, "$defs": {"X": {}}}
    )
    assert "$defs" in schema and "$defs" not in schema["properties"]["final_answer"]


# --- planning ------------------------------------------------------------------------------
async def test_planning_step_kept_in_state(tmp_path: Path, ws: Path) -> None:
    provider = MockProvider(
        script=["1. read notes\n2. answer", calls(("read_file", {"path": "notes.txt"})), {"summary": "s"}]
    )
    hooks, seen = recording_hooks()
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, planning_enabled=True),
        "task -> summary",
        provider=provider,
        tools=["read_file"],
        hook_manager=hooks,
    )
    result = await agent.run_autonomous("plan first")
    assert result["plan"] == "1. read notes\n2. answer"
    assert result["cycles_used"] == 2 and result["summary"] == "s"
    assert provider.requests[0].tools == []
    assert "pre_plan_generation" in seen and "post_plan_generation" in seen
    state = await agent.state_manager.load_checkpoint(result["checkpoint_id"])
    assert state.custom_state["plan"] == result["plan"]


# --- resume (in process; the SIGKILL test is in test_autonomous_crash.py) -----------------------
class SimulatedCrash(BaseException):
    """Stands in for the process dying in the middle of a tool."""


async def test_resume_replays_completed_calls_and_reports_unknown(tmp_path: Path, ws: Path) -> None:
    counts = {"append": 0, "touch": 0, "explode": 0}
    crash = {"armed": True}

    # LOW danger: run one at a time, so where the crash lands is deterministic (concurrency of
    # SAFE calls is tested separately).
    @tool(danger_level=DangerLevel.LOW)
    def append(line: str) -> str:
        """Appends a line (not idempotent)."""
        counts["append"] += 1
        with open(ws / "log.txt", "a") as fh:
            fh.write(line + "\n")
        return "ok"

    @tool(idempotent=True)
    def touch(name: str) -> str:
        """Creates a file (idempotent)."""
        counts["touch"] += 1
        (ws / name).write_text("t")
        return "touched"

    @tool(danger_level=DangerLevel.LOW)
    def explode_once() -> str:
        """Crashes the first time after doing its side effect."""
        counts["explode"] += 1
        with open(ws / "log.txt", "a") as fh:
            fh.write("explode\n")
        if crash["armed"]:
            crash["armed"] = False
            raise SimulatedCrash()
        return "fine"

    script = [
        calls(("append", {"line": "one"})),
        calls(("append", {"line": "two"}), ("touch", {"name": "t.txt"}), ("explode_once", {})),
        {"summary": "done"},
    ]
    registry = ToolRegistry([append, touch, explode_once])
    config = make_config(tmp_path, ws, checkpoint_frequency=100, permission_mode="bypass")
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script), tools=registry, agent_id="crashy"
    )
    with pytest.raises(SimulatedCrash):
        await agent.run_autonomous("go")
    assert (ws / "log.txt").read_text().splitlines() == ["one", "two", "explode"]

    provider = MockProvider(script=script)
    resumed = BaseAutonomousAgent(config, "task -> summary", provider=provider, tools=registry, agent_id="crashy")
    result = await resumed.resume_from_latest()
    assert result["stop_reason"] == "converged" and result["summary"] == "done"
    assert (ws / "log.txt").read_text().splitlines() == ["one", "two", "explode"]
    assert counts == {"append": 2, "touch": 1, "explode": 1}
    assert len(provider.requests) == 1  # cycles 1 and 2 came from the journal
    outcomes = [(c["name"], c["outcome"], c.get("replayed", False)) for c in result["tool_calls"]]
    assert outcomes == [
        ("append", "success", True),
        ("append", "success", True),
        ("touch", "success", True),
        ("explode_once", "unknown", False),
    ]
    unknown = json.loads(provider.requests[0].messages[-1].content or "{}")
    assert "outcome unknown" in unknown["error"]
    assert result["cycles_used"] == 3 and result["resumed_from"]


async def test_idempotent_started_call_is_rerun(tmp_path: Path, ws: Path) -> None:
    runs = {"n": 0}

    @tool(idempotent=True)
    def put(name: str) -> str:
        """Writes a marker (idempotent); crashes on its first run."""
        runs["n"] += 1
        (ws / name).write_text("x")
        if runs["n"] == 1:
            raise SimulatedCrash()
        return "written"

    script = [calls(("put", {"name": "m.txt"})), {"summary": "ok"}]
    config = make_config(tmp_path, ws, permission_mode="bypass")
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script), tools=[put], agent_id="idem"
    )
    with pytest.raises(SimulatedCrash):
        await agent.run_autonomous("go")
    agent2 = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script), tools=[put], agent_id="idem"
    )
    result = await agent2.resume_from_latest()
    assert runs["n"] == 2
    assert result["tool_calls"][-1]["outcome"] == "success" and result["summary"] == "ok"


async def test_resume_of_completed_run_returns_its_result(tmp_path: Path, ws: Path) -> None:
    script = [calls(("file_exists", {"path": "notes.txt"})), {"summary": "yes"}]
    config = make_config(tmp_path, ws)
    agent = BaseAutonomousAgent(
        config, "task -> summary", provider=MockProvider(script=script), tools=["file_exists"], agent_id="fin"
    )
    first = await agent.run_autonomous("check")
    provider = MockProvider(script=script)
    again = await BaseAutonomousAgent(
        config, "task -> summary", provider=provider, tools=["file_exists"], agent_id="fin"
    ).resume_from_checkpoint(first["checkpoint_id"])
    assert again["summary"] == "yes" and again["run_id"] == first["run_id"] and provider.requests == []


async def test_resume_without_checkpoint_fails_clearly(tmp_path: Path, ws: Path) -> None:
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws), "task -> summary", provider=MockProvider(), agent_id="nobody"
    )
    with pytest.raises(CheckpointNotFoundError) as info:
        await agent.resume_from_latest()
    assert info.value.code == "CHECKPOINT_002"


async def test_checkpoint_frequency_and_state_manager_injection(tmp_path: Path, ws: Path) -> None:
    manager = StateManager(tmp_path / "own", checkpoint_frequency=1)
    script = [calls(("file_exists", {"path": f"f{i}"})) for i in range(4)] + [{"summary": "s"}]
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws, checkpoint_frequency=2),
        "task -> summary",
        provider=MockProvider(script=script),
        tools=["file_exists"],
        state_manager=manager,
        agent_id="freq",
    )
    result = await agent.run_autonomous("count")
    metas = await manager.list_checkpoints("freq")
    steps = sorted(m.step_number for m in metas)
    # start (0), after cycles 2 and 4, and the completed run (5)
    assert steps == [0, 2, 4, 5]
    assert result["cycles_used"] == 5


def test_sync_wrapper_and_task_mapping(tmp_path: Path, ws: Path) -> None:
    agent = BaseAutonomousAgent(
        make_config(tmp_path, ws), "question -> answer", provider=MockProvider(script=[{"answer": "42"}])
    )
    result = agent.run_autonomous_sync("what is six times seven?")
    assert result["answer"] == "42" and result["stop_reason"] == "converged" and result["cycles_used"] == 1
    two_inputs = BaseAutonomousAgent(make_config(tmp_path, ws), "a, b -> c", provider=MockProvider())
    with pytest.raises(Exception, match="cannot map a task string"):
        two_inputs.run_autonomous_sync("x")
    assert two_inputs.run_autonomous_sync({"a": "1", "b": "2"})["stop_reason"] == "converged"


def test_file_organizer_example_runs_offline(tmp_path: Path) -> None:
    import subprocess
    import sys

    for name in ("a.txt", "b.jpg", "c.csv", "keep.bin"):
        (tmp_path / name).write_text(name)
    script = Path(__file__).parent.parent / "examples" / "autonomous" / "organize_files.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "stop reason: converged, cycles: 3" in out.stdout
    assert (tmp_path / "docs" / "a.txt").exists() and (tmp_path / "images" / "b.jpg").exists()
    assert (tmp_path / "data" / "c.csv").exists() and (tmp_path / "keep.bin").exists()
