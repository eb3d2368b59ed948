"""Server processes: started lazily, reused across runs, restarted once when they die, stopped with
the agent; a server that cannot start is a clear error naming it, with its stderr, never a hang."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agent_loader import load_agent
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_mcp.client import MCPServerError

pytestmark = pytest.mark.anyio

STATS = "mcp__notes__note_stats"


def agent_for(*servers: dict[str, Any], script: list[Any] | None = None) -> BaseAutonomousAgent:
    return BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None),
        "task -> summary",
        provider=MockProvider(script=script or [{"summary": "ok"}]),
        mcp_servers=list(servers),
    )


async def server_pid(agent: BaseAgent) -> int:
    result = await agent.execute_mcp_tool(STATS, {})
    assert result.success, result.error
    return int(result.output["pid"])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_servers_start_on_first_use_and_are_reused_across_runs(notes_server: dict[str, Any]) -> None:
    broken = {"name": "broken", "command": "/nonexistent/mcp-server"}
    lazy = agent_for(broken)  # building the agent starts nothing, so a broken server is not noticed yet
    with pytest.raises(MCPServerError, match="'broken' failed to start"):
        await lazy.run_autonomous("go")
    await lazy.aclose()

    script = [calls((STATS, {})), {"summary": "one"}, calls((STATS, {})), {"summary": "two"}]
    async with agent_for(notes_server, script=script) as agent:
        first = await agent.run_autonomous("count")
        second = await agent.run_autonomous("count again")
        pids = [await server_pid(agent)]
        for result in (first, second):
            message = next(m for m in result["_meta"]["tool_calls"] if m["name"] == STATS)
            assert message["outcome"] == "success"
        contents = [m.content for r in agent.provider.requests for m in r.messages if m.role == "tool"]  # type: ignore[attr-defined]
        assert len(contents) == 2 and all(f'"pid": {pids[0]}' in (c or "") for c in contents)  # one process


async def test_a_crashed_server_is_restarted_once(notes_server: dict[str, Any]) -> None:
    server = {**notes_server, "danger_levels": {"crash": "safe"}}
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[server]) as agent:
        before = await server_pid(agent)
        crashed = await agent.execute_mcp_tool("mcp__notes__crash", {})
        assert not crashed.success and crashed.error_code == "EXEC_004"
        assert "'notes' closed the connection during the call to 'crash'" in (crashed.error or "")
        assert "outcome is unknown" in (crashed.error or "") and "crashing on request" in (crashed.error or "")
        after = await server_pid(agent)  # started again
        assert after != before and gone(before)
        again = await agent.execute_mcp_tool("mcp__notes__crash", {})
        assert not again.success
        refused = await agent.execute_mcp_tool(STATS, {})  # the one restart is used up
        assert not refused.success and "already restarted 1 time(s) (max_restarts=1)" in (refused.error or "")


async def test_a_server_killed_while_idle_is_started_again_for_the_next_call(notes_server: dict[str, Any]) -> None:
    async with BaseAgent(BaseAgentConfig(llm_provider="mock"), "q -> a", mcp_servers=[notes_server]) as agent:
        before = await server_pid(agent)
        os.kill(before, signal.SIGKILL)
        assert await server_pid(agent) != before  # read-only: retried on the new process if the kill raced the call


async def test_close_stops_the_server_processes_and_a_later_use_starts_them_again(notes_server: dict[str, Any]) -> None:
    agent = agent_for(notes_server)
    pid = await server_pid(agent)
    assert not gone(pid)
    await agent.aclose()
    assert gone(pid)
    await agent.aclose()  # twice is fine
    pid2 = await server_pid(agent)
    assert pid2 != pid
    await agent.aclose()
    assert gone(pid2)


def test_the_sync_api_runs_and_closes_the_same_way(notes_server: dict[str, Any]) -> None:
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", checkpoint_storage=None),
        "task -> summary",
        provider=MockProvider(script=[calls((STATS, {})), {"summary": "done"}]),
        mcp_servers=[notes_server],
    )
    with agent:
        result = agent.run_autonomous_sync("count")
        assert result["tool_calls"][0]["outcome"] == "success"
        content = next(m.content for m in agent.provider.requests[-1].messages if m.role == "tool")  # type: ignore[attr-defined]
        pid = int(json.loads(content or "")["pid"])
        assert not gone(pid)
    assert gone(pid)


async def test_a_server_that_exits_at_start_is_an_error_with_its_stderr_and_no_secret(tmp_path: Path) -> None:
    secret = "notes-env-secret-98765"  # not secret-shaped: masked because it was registered
    script = "import os, sys; sys.stderr.write('fatal: key rejected: ' + os.environ['NOTES_API_KEY']); sys.exit(2)"
    broken = {"name": "broken", "command": sys.executable, "args": ["-c", script], "env": {"NOTES_API_KEY": secret}}
    async with agent_for(broken) as agent:
        with pytest.raises(MCPServerError) as info:
            await agent.run_autonomous("go")
    error = info.value
    assert error.code == "EXEC_004" and "'broken' failed to start" in error.message
    assert "fatal: key rejected: ***" in error.message and secret not in str(error)
    assert secret not in repr(agent._mcp_source.configs["broken"])  # type: ignore[union-attr]


async def test_a_missing_program_is_an_error_naming_the_server() -> None:
    async with agent_for({"name": "ghost", "command": "/nonexistent/mcp-server"}) as agent:
        with pytest.raises(MCPServerError, match="MCP server 'ghost' failed to start: FileNotFoundError") as info:
            await agent.discover_mcp_tools("ghost")
    assert "starts an MCP server speaking stdio" in (info.value.hint or "")


async def test_a_server_that_never_answers_fails_at_the_startup_timeout(tmp_path: Path) -> None:
    mute = {
        "name": "mute",
        "command": sys.executable,
        "args": ["-c", "import sys, time; sys.stderr.write('warming up'); sys.stderr.flush(); time.sleep(600)"],
        "startup_timeout": 2,
    }
    async with agent_for(mute) as agent:
        with pytest.raises(MCPServerError, match="'mute' did not finish starting within 2s") as info:
            await agent.run_autonomous("go")
    assert "raise startup_timeout" in (info.value.hint or "")


async def test_servers_come_from_an_agent_toml_file(tmp_path: Path, notes_server: dict[str, Any]) -> None:
    file = tmp_path / "agent.toml"
    file.write_text(
        f"""
[agent]
type = "autonomous"
signature = "task -> summary"
llm_provider = "mock"
checkpoint_storage = ""

[[agent.mcp_servers]]
name = "notes"
command = {notes_server["command"]!r}
args = {notes_server["args"]!r}
cwd = {notes_server["cwd"]!r}
danger_levels = {{ delete_note = "critical" }}
""",
        encoding="utf-8",
    )
    agent = load_agent(file, checkpoint_storage=None)
    async with agent:
        tools = {t.name: t.danger_level.value for t in await agent.discover_mcp_tools()}
    assert tools["mcp__notes__read_note"] == "safe" and tools["mcp__notes__delete_note"] == "critical"
