"""The original docs' Tool Calling examples, run as written. The MCP part of quick-reference.md
"Tool Calling" (``discover_mcp_tools``, ``execute_mcp_tool``, ``mcp_servers=``) needs kaizen-mcp:
it runs in plugins/kaizen-mcp/tests/test_client_documented.py.

Imports translated: ``kaizen.core.base_agent`` -> ``kaizen_core.agents.base``, ``kaizen.tools`` ->
``kaizen_core.tools``, ``kaizen.tools.builtin`` -> ``kaizen_core.tools.builtin``. The examples use
``config`` and ``signature`` defined elsewhere in the docs; the tests define them first (mock
provider), outside the example's lines, in a workspace holding ``data.txt`` and ``input.txt``.

What the examples leave implicit, the tests check: the direct tool calls pass the agent's
permission gate, so ``write_file`` (MEDIUM) in the documented chain is refused without an
approval (no control protocol here), and the chain stops there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core import BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.tools import ToolResult

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # file tools are confined to the working directory
    (tmp_path / "data.txt").write_text("the data")
    (tmp_path / "input.txt").write_text("the input")


class TaskSignature(Signature):
    """Carry out the task."""

    task: str = InputField(description="Task to perform")
    result: str = OutputField(description="Task result")


config = BaseAgentConfig(llm_provider="mock", model="gpt-4")
signature = TaskSignature()

FILE_TOOLS = {"read_file", "write_file", "delete_file", "list_directory", "file_exists"}


async def test_autonomy_overview_tool_integration_example() -> None:
    """autonomy-overview.md, "5. Tool Integration (MCP-Based)", Example."""
    from kaizen_core.agents.base import BaseAgent

    # Tools auto-configured via MCP
    agent = BaseAgent(config, signature, tools="all")

    # Discover tools by category
    file_tools = await agent.discover_tools(category="file")

    # Execute single tool
    result = await agent.execute_tool("read_file", {"path": "data.txt"})

    # Chain multiple tools
    results = await agent.execute_tool_chain(
        [
            {"tool_name": "read_file", "params": {"path": "input.txt"}},
            {"tool_name": "write_file", "params": {"path": "output.txt", "content": "..."}},
        ]
    )

    assert {t.name for t in file_tools} == FILE_TOOLS
    assert isinstance(result, ToolResult) and result.success and result.output == "the data"
    assert [r.tool_name for r in results] == ["read_file", "write_file"]
    assert results[0].output == "the input"
    assert results[1].error_code == "EXEC_005" and not Path("output.txt").exists()  # MEDIUM: not approved


async def test_quick_reference_v05_tool_calling_example() -> None:
    """quick-reference-v0.5.md, "Tool Calling (NEW in v0.2.0)"."""
    mcp_servers: list[dict[str, str]] = []  # not in the example: "Optional MCP integration" (issue 13)

    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.tools import ToolRegistry
    from kaizen_core.tools.builtin import register_builtin_tools

    # Setup tool registry
    registry = ToolRegistry()
    register_builtin_tools(registry)  # 12 builtin tools

    # Works with ALL 25 agents (ADR-016 complete)
    agent = BaseAgent(
        config=config,
        signature=signature,
        tool_registry=registry,  # Enable tool calling
        mcp_servers=mcp_servers,  # Optional MCP integration
    )

    # Discover tools
    tools = await agent.discover_tools(category="file")

    # Execute single tool
    result = await agent.execute_tool("read_file", {"path": "data.txt"})

    # Chain multiple tools
    results = await agent.execute_tool_chain(
        [
            {"tool_name": "read_file", "params": {"path": "input.txt"}},
            {"tool_name": "write_file", "params": {"path": "output.txt", "content": "..."}},
        ]
    )

    assert len(registry) == 12 and agent.tools is registry
    assert {t.name for t in tools} == FILE_TOOLS
    assert result.success and result.output == "the data"
    assert [r.success for r in results] == [True, False] and results[1].error_code == "EXEC_005"


async def test_builtin_tools_are_grouped_as_documented() -> None:
    """quick-reference.md "Tool Calling" and autonomy-overview.md "5. Tool Integration": the 12 builtin
    tools, File (5), HTTP (4), Bash (1), Web (2), and their danger levels (SAFE auto-approved:
    read_file, http_get; write_file, http_post need an approval; delete_file, bash_command too)."""
    from kaizen_core.agents.base import BaseAgent

    agent = BaseAgent(config, signature, tools="all")
    groups = {c: {t.name for t in await agent.discover_tools(category=c)} for c in ("file", "http", "bash", "web")}
    assert groups == {
        "file": FILE_TOOLS,
        "http": {"http_get", "http_post", "http_put", "http_delete"},
        "bash": {"bash_command"},
        "web": {"fetch_url", "extract_links"},
    }
    assert (await agent.execute_tool("file_exists", {"path": "data.txt"})).output is True  # SAFE: runs
    for name, params in [
        ("write_file", {"path": "x.txt", "content": "x"}),  # MODERATE in the docs (MEDIUM here)
        ("delete_file", {"path": "data.txt"}),  # DANGEROUS in the docs (HIGH here)
        ("bash_command", {"command": "ls"}),
    ]:
        denied = await agent.execute_tool(name, params)
        assert denied.error_code == "EXEC_005", name
    assert Path("data.txt").exists() and not Path("x.txt").exists()
