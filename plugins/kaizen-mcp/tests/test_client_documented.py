"""The quick-reference "Tool Calling" example, as written there (only the import path differs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgentConfig, Signature
from kaizen_core.agents.base import BaseAgent  # documented: kaizen.core.base_agent
from kaizen_core.signatures import InputField, OutputField

pytestmark = pytest.mark.anyio


class QASignature(Signature):
    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="The answer")


async def test_the_documented_mcp_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data.txt").write_text("documented", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the example reads data.txt from the current directory
    config = BaseAgentConfig(llm_provider="mock")
    signature = QASignature()

    # MCP auto-connect - 12 builtin tools available automatically
    agent = BaseAgent(
        config=config,
        signature=signature,
        # Optional: Add custom MCP servers
        # mcp_servers=[{...}]
    )

    # Discover tools (from kaizen_builtin MCP server)
    tools = await agent.discover_mcp_tools(server_name="kaizen_builtin")

    # Execute single tool
    result = await agent.execute_mcp_tool(tool_name="mcp__kaizen_builtin__read_file", params={"path": "data.txt"})

    assert len(tools) == 12 and result.success and result.output == "documented"
    await agent.aclose()


async def test_the_documented_custom_server_entry_is_accepted(notes_server: dict[str, Any]) -> None:
    entry = {
        "name": "custom-server",
        "command": notes_server["command"],
        "args": notes_server["args"],
        "transport": "stdio",
    }
    async with BaseAgent(
        config=BaseAgentConfig(llm_provider="mock"), signature=QASignature(), mcp_servers=[entry]
    ) as agent:
        names = {t.name for t in await agent.discover_mcp_tools()}
    assert "mcp__custom-server__read_note" in names
