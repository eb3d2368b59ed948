"""Kaizen's MCP client against a real stdio server written with the SDK (tests/mcp_notes_server.py).

The acceptance of issue 13: an agent given ``mcp_servers`` discovers the read-only and the
destructive tool; the autonomous loop calls the read-only one freely and the destructive one
only after an approval through the control protocol; calls and results are in the run's
tool calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.errors import ConfigError
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.tools import DangerLevel
from kaizen_mcp.client import MCPTool

pytestmark = pytest.mark.anyio

READ = "mcp__notes__read_note"
DELETE = "mcp__notes__delete_note"


def autonomous(
    server: dict[str, Any], script: list[Any], approve: bool | None = None, **config: Any
) -> tuple[BaseAutonomousAgent, InMemoryTransport]:
    transport = InMemoryTransport()
    if approve is not None:
        transport.client.auto_respond(lambda request: {"approved": approve})
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None, **config),
        "task -> summary",
        provider=MockProvider(script=script),
        mcp_servers=[server],
        control_protocol=ControlProtocol(transport) if approve is not None else None,
    )
    return agent, transport


async def test_discovers_both_tools_with_their_json_schemas_and_danger_levels(notes_server: dict[str, Any]) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server]) as agent:
        tools = {t.name: t for t in await agent.discover_mcp_tools()}
        assert {READ, DELETE, "mcp__notes__note_stats", "mcp__notes__crash", "mcp__notes__fail"} == set(tools)
        read, delete = tools[READ], tools[DELETE]
        assert isinstance(read, MCPTool) and read.server == "notes" and read.mcp_name == "read_note"
        assert read.parameters["properties"]["name"]["type"] == "string" and read.parameters["required"] == ["name"]
        assert read.danger_level is DangerLevel.SAFE and read.read_only
        assert delete.danger_level is DangerLevel.HIGH and not delete.read_only
        assert tools["mcp__notes__crash"].danger_level is DangerLevel.MEDIUM  # no hints
        assert "Read the note" in read.description
        # they are the agent's tools now, offered to the model with the server's schema
        definition = next(d for d in agent.tool_definitions() if d.name == READ)
        assert definition.parameters == read.parameters
        again = await agent.discover_mcp_tools(server_name="notes")  # a fresh listing, sorted by name
        assert [t.name for t in again] == sorted(tools)
        assert again[0].to_dict()["input_schema"] == again[0].parameters


async def test_autonomous_loop_runs_the_read_only_tool_freely_and_the_destructive_one_after_approval(
    notes_server: dict[str, Any], notes_dir: Path
) -> None:
    script = [calls((READ, {"name": "todo"})), calls((DELETE, {"name": "old"})), {"summary": "cleaned"}]
    agent, transport = autonomous(notes_server, script, approve=True)
    async with agent:
        result = await agent.run_autonomous("tidy my notes")
    assert result["summary"] == "cleaned"
    assert not (notes_dir / "old.txt").exists()
    records = result["tool_calls"]
    assert [(r["name"], r["outcome"]) for r in records] == [(READ, "success"), (DELETE, "success")]
    assert records[0]["arguments"] == {"name": "todo"}
    approvals = [r for r in transport.client.received if r.request_type == "approval"]
    assert [a.data["action"] for a in approvals] == [DELETE]  # the read-only call was not asked about
    assert approvals[0].data["details"]["danger_level"] == "high"
    # the results went back to the model as tool messages
    requests = agent.provider.requests  # type: ignore[attr-defined]
    tool_messages = [m for m in requests[-1].messages if m.role == "tool"]
    assert json.loads(tool_messages[0].content or "") == {"result": "buy milk"}
    assert json.loads(tool_messages[1].content or "") == {"result": "deleted old"}
    # the model was offered the MCP tools with their schemas
    offered = {t.name for t in requests[0].tools or []}
    assert {READ, DELETE} <= offered


async def test_a_refused_approval_keeps_the_destructive_tool_from_running(
    notes_server: dict[str, Any], notes_dir: Path
) -> None:
    agent, transport = autonomous(
        notes_server, [calls((DELETE, {"name": "old"})), {"summary": "left it"}], approve=False
    )
    async with agent:
        result = await agent.run_autonomous("tidy my notes")
    assert (notes_dir / "old.txt").read_text() == "obsolete"
    record = result["tool_calls"][0]
    assert record["name"] == DELETE and record["outcome"] == "denied" and record["error_code"] == "EXEC_005"
    assert [r.data["action"] for r in transport.client.received if r.request_type == "approval"] == [DELETE]


async def test_without_a_control_protocol_the_destructive_tool_is_denied(
    notes_server: dict[str, Any], notes_dir: Path
) -> None:
    agent, _ = autonomous(notes_server, [calls((DELETE, {"name": "old"})), {"summary": "could not"}])
    async with agent:
        result = await agent.run_autonomous("tidy my notes")
    assert (notes_dir / "old.txt").exists()
    assert result["tool_calls"][0]["outcome"] == "denied"


async def test_danger_levels_are_overridable_per_server(notes_server: dict[str, Any], notes_dir: Path) -> None:
    server = {**notes_server, "danger_levels": {"delete_note": "low", "*": "critical"}}
    agent, transport = autonomous(server, [calls((DELETE, {"name": "old"})), {"summary": "done"}], approve=True)
    async with agent:
        tools = {t.name: t.danger_level for t in await agent.discover_mcp_tools("notes")}
        assert tools[DELETE] is DangerLevel.LOW and tools[READ] is DangerLevel.CRITICAL
        result = await agent.run_autonomous("tidy")
    assert result["tool_calls"][0]["outcome"] == "success" and not (notes_dir / "old.txt").exists()
    assert not [r for r in transport.client.received if r.request_type == "approval"]  # LOW: allowed without asking


async def test_execute_mcp_tool_goes_through_the_gate_and_keeps_structured_results(
    notes_server: dict[str, Any], notes_dir: Path
) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server]) as agent:
        stats = await agent.execute_mcp_tool("mcp__notes__note_stats", {})
        assert stats.success and stats.output["count"] == 2 and stats.output["names"] == ["old", "todo"]
        assert isinstance(stats.output["pid"], int)  # structured content, not text
        read = await agent.execute_mcp_tool(READ, {"name": "todo"})
        assert read.success and read.output == {"result": "buy milk"}
        denied = await agent.execute_mcp_tool(DELETE, {"name": "old"})  # HIGH, nobody to ask
        assert not denied.success and denied.error_code == "EXEC_005" and (notes_dir / "old.txt").exists()
        invalid = await agent.execute_mcp_tool(READ, {"title": "todo"})  # checked against the server's schema
        assert (
            not invalid.success
            and invalid.error_code == "EXEC_001"
            and "'name' is a required property" in (invalid.error or "")
        )
        unknown = await agent.execute_mcp_tool("mcp__notes__nope", {})
        assert not unknown.success and unknown.error_code == "EXEC_001"


async def test_a_tool_error_of_the_server_is_a_failed_result_the_model_sees(notes_server: dict[str, Any]) -> None:
    server = {**notes_server, "danger_levels": {"fail": "safe"}}
    script = [calls(("mcp__notes__fail", {"reason": "no quota"})), {"summary": "gave up"}]
    agent, _ = autonomous(server, script)
    async with agent:
        result = await agent.run_autonomous("try")
    record = result["tool_calls"][0]
    assert record["outcome"] == "error" and record["error_code"] == "EXEC_004"
    last = agent.provider.requests[-1].messages[-1]  # type: ignore[attr-defined]
    assert last.role == "tool" and last.is_error and "refused: no quota" in (last.content or "")


async def test_an_unknown_server_name_is_a_config_error(notes_server: dict[str, Any]) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server]) as agent:
        with pytest.raises(ConfigError, match=r"no MCP server named 'other' \(known: notes, kaizen_builtin\)"):
            await agent.discover_mcp_tools("other")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "x", "transport": "stdio"}, "needs a command"),
        ({"name": "x", "url": "http://127.0.0.1:1/mcp", "command": "python"}, "takes no url"),
        ({"name": "a__b", "command": "python"}, "no '__'"),
        ({"name": "x", "command": "python", "startup_timeout": 0}, "startup_timeout"),
        ({"name": "x", "command": "python", "danger_levels": {"t": "fatal"}}, "danger_levels.t"),
        ("other", "not a server Kaizen knows by name"),
    ],
)
def test_invalid_server_entries_fail_when_the_agent_is_built(entry: Any, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[entry])


def test_two_servers_with_one_name_are_refused(notes_server: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="two servers are named 'notes'"):
        BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server, notes_server])
