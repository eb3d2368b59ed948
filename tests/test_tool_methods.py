"""Agent-level tool methods (discover_tools, execute_tool, execute_tool_chain) and the tool arguments
of BaseAgent (tools="all", tool_registry=, mcp_servers=): every direct call passes the permission gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.agents.autonomous import BaseAutonomousAgent
from kaizen_core.config import AutonomousConfig
from kaizen_core.control import ControlProtocol, InMemoryTransport
from kaizen_core.errors import ConfigError, InputValidationError, PluginNotInstalledError
from kaizen_core.hooks import HookEvent, HookManager, HookResult
from kaizen_core.plugins import get_registry
from kaizen_core.tools import ToolContext, ToolRegistry, tool
from kaizen_core.tools.builtin import BUILTIN_TOOL_NAMES, register_builtin_tools

pytestmark = pytest.mark.anyio


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "data.txt").write_text("hello")
    return root


def agent_with(ws: Path, cls: type[BaseAgent] = BaseAgent, **kwargs: object) -> BaseAgent:
    config = (AutonomousConfig if cls is BaseAutonomousAgent else BaseAgentConfig)(
        llm_provider="mock", workspace_root=str(ws), checkpoint_storage=None
    )
    return cls(config, "task -> result", **kwargs)  # type: ignore[arg-type]


# --- tools="all" and the documented categories ---------------------------------------------------
def test_tools_all_as_an_argument_gives_every_registered_tool(ws: Path) -> None:
    agent = agent_with(ws, tools="all")
    assert agent.tools is not None
    assert set(agent.tools.names()) == set(get_registry().names("tool"))
    assert set(BUILTIN_TOOL_NAMES) <= set(agent.tools.names())


def test_a_single_tool_name_as_the_argument_is_that_tool(ws: Path) -> None:
    agent = agent_with(ws, tools="read_file")
    assert agent.tools is not None and agent.tools.names() == ["read_file"]


async def test_discover_tools_groups_the_builtins_as_documented(ws: Path) -> None:
    agent = agent_with(ws, tools="all")
    names = {c: {t.name for t in await agent.discover_tools(category=c)} for c in ("file", "http", "bash", "web")}
    assert names == {
        "file": {"read_file", "write_file", "delete_file", "list_directory", "file_exists"},
        "http": {"http_get", "http_post", "http_put", "http_delete"},
        "bash": {"bash_command"},
        "web": {"fetch_url", "extract_links"},
    }
    # the earlier spellings still find the same tools
    assert {t.name for t in await agent.discover_tools(category="files")} == names["file"]
    assert {t.name for t in await agent.discover_tools(category="shell")} == names["bash"]


async def test_discover_tools_filters_by_danger_level_and_keyword(ws: Path) -> None:
    agent = agent_with(ws, tools="all")
    safe = await agent.discover_tools(category="file", danger_level="safe")
    assert {t.name for t in safe} == {"read_file", "list_directory", "file_exists"}
    assert [t.name for t in await agent.discover_tools(keyword="links")] == ["extract_links"]


async def test_an_agent_without_tools_discovers_none(ws: Path) -> None:
    assert await agent_with(ws).discover_tools(category="file") == []


def test_register_builtin_tools_and_tool_registry_keyword(ws: Path) -> None:
    registry = register_builtin_tools(ToolRegistry(context=ToolContext(workspace_root=ws)))
    assert sorted(registry.names()) == sorted(BUILTIN_TOOL_NAMES)
    agent = agent_with(ws, tool_registry=registry)
    assert agent.tools is registry
    with pytest.raises(ConfigError, match="not both"):
        agent_with(ws, tools=["read_file"], tool_registry=registry)


def test_mcp_servers_without_the_kaizen_mcp_plugin_name_the_package_to_install(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaizen_core import plugins

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")  # built-ins only: as if kaizen-mcp were not installed
    plugins.reset()
    try:
        agent_with(ws, mcp_servers=[])  # nothing asked for: fine
        with pytest.raises(PluginNotInstalledError) as info:
            agent_with(ws, mcp_servers=[{"name": "fs", "command": "python", "args": [], "transport": "stdio"}])
        assert info.value.code == "KAIZEN_003" and info.value.hint == "pip install kaizen-mcp"
        config = BaseAgentConfig(llm_provider="mock", mcp_servers=[{"name": "fs", "command": "python"}])
        with pytest.raises(PluginNotInstalledError, match="tool source named 'mcp'"):
            BaseAgent(config, "task -> result")  # the config field (TOML) takes the same path
        with pytest.raises(PluginNotInstalledError):
            import anyio

            anyio.run(agent_with(ws).discover_mcp_tools, "kaizen_builtin")
    finally:
        monkeypatch.delenv("KAIZEN_LOAD_PLUGINS")
        plugins.reset()


# --- execute_tool passes the gate ----------------------------------------------------------------
@pytest.mark.parametrize("cls", [BaseAgent, BaseAutonomousAgent])
async def test_execute_tool_runs_a_safe_tool_and_returns_its_output(ws: Path, cls: type[BaseAgent]) -> None:
    agent = agent_with(ws, cls, tools="all")
    result = await agent.execute_tool("read_file", {"path": "data.txt"})
    assert result.success and result.output == "hello" and result.tool_name == "read_file"
    listing = await agent.execute_tool("list_directory", {"path": "."})
    assert listing.success and [entry["name"] for entry in listing.output] == ["data.txt"]


@pytest.mark.parametrize("cls", [BaseAgent, BaseAutonomousAgent])
async def test_execute_tool_denies_a_high_tool_without_approval(ws: Path, cls: type[BaseAgent]) -> None:
    agent = agent_with(ws, cls, tools="all")
    result = await agent.execute_tool("delete_file", {"path": "data.txt"})
    assert not result.success and result.error_code == "EXEC_005"
    assert "no control protocol" in (result.error or "")
    assert (ws / "data.txt").read_text() == "hello"


async def test_execute_tool_asks_the_control_protocol_and_runs_when_approved(ws: Path) -> None:
    transport = InMemoryTransport()
    answers = iter([False, True])
    transport.client.auto_respond(lambda request: {"approved": next(answers)})
    agent = agent_with(ws, tools="all", control_protocol=ControlProtocol(transport))
    refused = await agent.execute_tool("delete_file", {"path": "data.txt"})
    assert refused.error_code == "EXEC_005" and (ws / "data.txt").exists()
    approved = await agent.execute_tool("delete_file", {"path": "data.txt"})
    assert approved.success and not (ws / "data.txt").exists()
    requests = [r for r in transport.client.received if r.request_type == "approval"]
    assert [r.data["action"] for r in requests] == ["delete_file", "delete_file"]
    assert requests[0].data["details"]["danger_level"] == "high"
    await agent.aclose()


async def test_execute_tool_follows_the_agents_permission_config(ws: Path) -> None:
    config = BaseAgentConfig(llm_provider="mock", workspace_root=str(ws), denied_tools=["read_file"])
    agent = BaseAgent(config, "task -> result", tools="all")
    result = await agent.execute_tool("read_file", {"path": "data.txt"})
    assert result.error_code == "EXEC_005" and "denied" in (result.error or "")
    edits = BaseAgent(config.model_copy(update={"permission_mode": "accept_edits"}), "task -> result", tools="all")
    written = await edits.execute_tool("write_file", {"path": "out.txt", "content": "x"})
    assert written.success and (ws / "out.txt").read_text() == "x"


async def test_execute_tool_fires_the_tool_and_permission_hooks(ws: Path) -> None:
    seen: list[tuple[str, str | None]] = []
    hooks = HookManager()
    for event in (HookEvent.PRE_PERMISSION_CHECK, HookEvent.PRE_TOOL_CALL, HookEvent.POST_TOOL_CALL):
        hooks.register(event, lambda ctx: seen.append((ctx.event.value, ctx.metadata.get("tool"))))
    agent = agent_with(ws, tools="all", hook_manager=hooks)
    await agent.execute_tool("file_exists", {"path": "data.txt"})
    assert seen == [
        ("pre_permission_check", "file_exists"),
        ("pre_tool_call", "file_exists"),
        ("post_tool_call", "file_exists"),
    ]


async def test_a_blocking_pre_tool_hook_stops_a_direct_call(ws: Path) -> None:
    ran: list[int] = []

    @tool
    def touch() -> str:
        """Record a call."""
        ran.append(1)
        return "done"

    hooks = HookManager()
    hooks.register(HookEvent.PRE_TOOL_CALL, lambda ctx: HookResult.block("no"))
    agent = agent_with(ws, tools=[touch], hook_manager=hooks)
    result = await agent.execute_tool("touch")
    assert result.error_code == "EXEC_005" and ran == []


async def test_execute_tool_reports_unknown_tools_and_bad_arguments(ws: Path) -> None:
    agent = agent_with(ws, tools=["read_file"])
    unknown = await agent.execute_tool("teleport", {})
    assert unknown.error_code == "EXEC_001" and "available tools: read_file" in (unknown.error or "")
    invalid = await agent.execute_tool("read_file", {"file": "data.txt"})
    assert invalid.error_code == "EXEC_001" and "path" in (invalid.error or "")


# --- execute_tool_chain -------------------------------------------------------------------------------
async def test_execute_tool_chain_takes_documented_steps_and_stops_at_a_denied_one(ws: Path) -> None:
    agent = agent_with(ws, tools="all")
    results = await agent.execute_tool_chain(
        [
            {"tool_name": "read_file", "params": {"path": "data.txt"}},
            {"tool_name": "write_file", "params": {"path": "output.txt", "content": "..."}},
            {"tool_name": "file_exists", "params": {"path": "data.txt"}},
        ]
    )
    assert [r.tool_name for r in results] == ["read_file", "write_file"]
    assert results[0].output == "hello"
    assert results[1].error_code == "EXEC_005" and not (ws / "output.txt").exists()  # MEDIUM: needs approval
    everything = await agent.execute_tool_chain(
        [("write_file", {"path": "o.txt", "content": "x"}), {"name": "file_exists", "arguments": {"path": "data.txt"}}],
        stop_on_error=False,
    )
    assert [r.success for r in everything] == [False, True] and everything[1].output is True


async def test_a_malformed_chain_step_fails_before_any_step_runs(ws: Path) -> None:
    agent = agent_with(ws, tools="all")
    with pytest.raises(InputValidationError) as info:
        await agent.execute_tool_chain(
            [{"tool_name": "write_file", "params": {"path": "a", "content": "b"}}, {"params": {}}]
        )
    assert info.value.code == "EXEC_001"
    assert not (ws / "a").exists()
