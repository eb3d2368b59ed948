"""The same client over streamable HTTP: the notes server in its own process on a loopback port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.redaction import redact
from kaizen_core.tools import DangerLevel
from kaizen_mcp.client import MCPServerError
from kaizen_testing.servers._process import free_port, port_open, stop_process, wait_until

NOTES_SERVER = Path(__file__).with_name("mcp_notes_server.py")

pytestmark = pytest.mark.anyio


async def test_an_http_server_is_discovered_and_its_tools_pass_the_gate(
    notes_http: dict[str, Any], notes_dir: Path
) -> None:
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda request: {"approved": True})
    script = [
        calls(("mcp__remote__read_note", {"name": "todo"}), ("mcp__remote__note_stats", {})),
        calls(("mcp__remote__delete_note", {"name": "old"})),
        {"summary": "done"},
    ]
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None),
        "task -> summary",
        provider=MockProvider(script=script),
        mcp_servers=[notes_http],
        control_protocol=ControlProtocol(transport),
    )
    async with agent:
        tools = {t.name: t for t in await agent.discover_mcp_tools("remote")}
        assert tools["mcp__remote__read_note"].danger_level is DangerLevel.SAFE
        assert tools["mcp__remote__delete_note"].danger_level is DangerLevel.HIGH
        result = await agent.run_autonomous("tidy")
    assert [(r["name"], r["outcome"]) for r in result["tool_calls"]] == [
        ("mcp__remote__read_note", "success"),
        ("mcp__remote__note_stats", "success"),
        ("mcp__remote__delete_note", "success"),
    ]
    assert [r.data["action"] for r in transport.client.received if r.request_type == "approval"] == [
        "mcp__remote__delete_note"
    ]
    assert not (notes_dir / "old.txt").exists()


async def test_structured_results_and_header_secrets_over_http(notes_http: dict[str, Any]) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_http]) as agent:
        stats = await agent.execute_mcp_tool("mcp__remote__note_stats", {})
        assert stats.success and stats.output["names"] == ["old", "todo"]
    assert redact("sent notes-http-secret-token") == "sent ***"  # header values are registered secrets
    assert "notes-http-secret-token" not in repr(agent._mcp_source.configs["remote"])  # type: ignore[union-attr]


async def test_nothing_listening_at_the_url_is_an_error_naming_the_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    entry = {"name": "nowhere", "url": url, "startup_timeout": 30}
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[entry]) as agent:
        with pytest.raises(MCPServerError, match="MCP server 'nowhere' failed to start") as info:
            await agent.discover_mcp_tools()
    assert url in (info.value.hint or "")


async def test_an_http_server_that_went_away_is_reconnected_when_it_is_back(notes_dir: Path, tmp_path: Path) -> None:
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, str(NOTES_SERVER), "streamable-http", str(port)],
            cwd=notes_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(port), what="the notes MCP server (HTTP)", timeout=60, process=process)
        return process

    entry = {"name": "remote", "url": f"http://127.0.0.1:{port}/mcp"}
    process = start()
    try:
        async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[entry]) as agent:
            first = await agent.execute_mcp_tool("mcp__remote__note_stats", {})
            assert first.success
            stop_process(process)
            down = await agent.execute_mcp_tool("mcp__remote__note_stats", {})
            assert not down.success and down.error_code == "EXEC_004" and "'remote'" in (down.error or "")
            process = start()
            back = await agent.execute_mcp_tool("mcp__remote__note_stats", {})
            assert back.success and back.output["pid"] != first.output["pid"]
    finally:
        stop_process(process)
