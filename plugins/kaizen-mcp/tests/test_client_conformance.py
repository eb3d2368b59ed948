"""kaizen-mcp's client keeps the plugin contract: registered by name, cheap to import, its tool source
honouring the core's ToolSource protocol and its tools the Tool contract (and the gate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, plugins
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.agents.mcp_methods import ToolSource
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.tools import Tool, ToolResult
from kaizen_mcp.client import MCPToolSource

pytestmark = pytest.mark.anyio

BUILTIN = {
    "read_file", "write_file", "delete_file", "list_directory", "file_exists",
    "http_get", "http_post", "http_put", "http_delete", "bash_command", "fetch_url", "extract_links",
}  # fmt: skip


def test_the_entry_point_registers_the_mcp_tool_source() -> None:
    plugins.reset()
    registry = plugins.get_registry()
    registration = registry.get("tool_source", "mcp")
    assert registration.distribution == "kaizen-mcp"
    assert registry.load("tool_source", "mcp") is MCPToolSource
    assert "mcp" in registry.names("cli_command")


def test_importing_the_plugin_and_building_an_agent_imports_no_mcp_sdk(notes_server: dict[str, Any]) -> None:
    code = (
        "import sys, kaizen_mcp.plugin; from kaizen_core import plugins, BaseAgent, BaseAgentConfig; "
        "plugins.get_registry(); "
        f"BaseAgent(BaseAgentConfig(llm_provider='mock'), 'q -> a', mcp_servers=[{notes_server!r}]); "
        "print(sorted(m for m in ('mcp', 'mcp_types', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_the_source_follows_the_tool_source_protocol_and_its_tools_the_tool_contract(
    notes_server: dict[str, Any],
) -> None:
    source = MCPToolSource([notes_server])
    assert isinstance(source, ToolSource)
    try:
        tools = await source.run_tools()
        assert tools and all(isinstance(t, Tool) for t in tools)
        assert [t.name for t in tools] == [t.name for t in await source.run_tools()]  # listed once, reused
        for found in tools:
            definition = found.to_definition()
            assert definition.name == found.name and definition.parameters["type"] == "object"
        stats = next(t for t in tools if t.name == "mcp__notes__note_stats")
        result = await stats.execute("not a dict")  # type: ignore[arg-type]
        assert isinstance(result, ToolResult) and not result.success and result.error_code == "EXEC_001"
    finally:
        await source.aclose()
        await source.aclose()


async def test_kaizen_builtin_lists_the_12_builtin_tools_and_keeps_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("inside", encoding="utf-8")
    config = BaseAgentConfig(llm_provider="mock", workspace_root=str(tmp_path))
    async with BaseAgent(config, "q -> a") as agent:  # no mcp_servers: kaizen_builtin is known by name
        tools = {t.name: t for t in await agent.discover_mcp_tools(server_name="kaizen_builtin")}
        assert set(tools) == {f"mcp__kaizen_builtin__{name}" for name in BUILTIN}
        levels = {name.rsplit("__", 1)[1]: t.danger_level.value for name, t in tools.items()}
        assert levels["read_file"] == "safe" and levels["write_file"] == "medium" and levels["delete_file"] == "high"
        read = await agent.execute_mcp_tool("mcp__kaizen_builtin__read_file", {"path": "data.txt"})
        assert read.success and read.output == "inside"
        outside = await agent.execute_mcp_tool("mcp__kaizen_builtin__read_file", {"path": "../../etc/passwd"})
        assert (
            not outside.success
            and outside.error_code == "EXEC_005"
            and "outside the workspace" in (outside.error or "")
        )
        deleted = await agent.execute_mcp_tool("mcp__kaizen_builtin__delete_file", {"path": "data.txt"})
        assert not deleted.success and deleted.error_code == "EXEC_005"  # HIGH: the agent's gate, nobody to ask
        assert (tmp_path / "data.txt").exists()


async def test_an_autonomous_agent_uses_kaizen_builtin_from_mcp_servers_under_its_own_gate(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("draft", encoding="utf-8")
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda request: {"approved": True})
    script = [
        calls(("mcp__kaizen_builtin__read_file", {"path": "in.txt"})),
        calls(("mcp__kaizen_builtin__write_file", {"path": "out.txt", "content": "final"})),
        {"summary": "copied"},
    ]
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None, workspace_root=str(tmp_path)),
        "task -> summary",
        provider=MockProvider(script=script),
        mcp_servers=["kaizen_builtin"],
        control_protocol=ControlProtocol(transport),
    )
    async with agent:
        assert "mcp__kaizen_builtin__read_file" in {t.name for t in await agent.discover_tools()}
        result = await agent.run_autonomous("copy in.txt to out.txt")
    assert [r["outcome"] for r in result["tool_calls"]] == ["success", "success"]
    assert (tmp_path / "out.txt").read_text() == "final"  # in the agent's workspace, after its approval
    assert [r.data["action"] for r in transport.client.received if r.request_type == "approval"] == [
        "mcp__kaizen_builtin__write_file"
    ]


async def test_execute_tool_reaches_mcp_tools_like_any_other(notes_server: dict[str, Any]) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server]) as agent:
        result = await agent.execute_tool("mcp__notes__read_note", {"name": "todo"})
        assert result.success and result.output == {"result": "buy milk"}
        assert "mcp__notes__delete_note" in {t.name for t in await agent.discover_tools(category="mcp")}
