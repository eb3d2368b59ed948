"""``build_server`` in-process (the SDK's client on the server object): gate, hooks, policy, names, redaction."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from kaizen_core.agents.base import BaseAgent
from kaizen_core.config import BaseAgentConfig
from kaizen_core.errors import ConfigError
from kaizen_core.hooks import HookContext, HookEvent, HookResult
from kaizen_core.redaction import forget_secrets, register_secret
from kaizen_mcp.server import ServerPolicy, build_server


def qa_agent() -> BaseAgent:
    config = BaseAgentConfig(llm_provider="mock", provider_config={"script": [{"answer": "4"}]})
    return BaseAgent(config, "question: str -> answer: str", agent_id="qa")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    return tmp_path


@pytest.mark.anyio
async def test_every_call_passes_the_permission_gate(workspace: Path) -> None:
    server = build_server({"qa": qa_agent()}, workspace=workspace)
    decisions: list[dict[str, Any]] = []

    async def record(context: HookContext) -> HookResult:
        decisions.append(dict(context.metadata))
        return HookResult(success=True)

    server.host.hook_manager.register(HookEvent.POST_PERMISSION_CHECK, record)
    async with Client(server.lowlevel) as client:
        assert not (await client.call_tool("read_file", {"path": "notes.txt"})).is_error
        assert not (await client.call_tool("qa", {"question": "2+2?"})).is_error
        assert (await client.call_tool("write_file", {"path": "x.txt", "content": "x"})).is_error
    assert [(d["tool"], d["decision"]) for d in decisions] == [
        ("read_file", "allow"),
        ("qa", "allow"),
        ("write_file", "deny"),
    ]
    assert decisions[2]["initial_decision"] == "ask"


@pytest.mark.anyio
async def test_a_blocking_pre_tool_call_hook_stops_the_call(workspace: Path) -> None:
    server = build_server(workspace=workspace)

    async def block(context: HookContext) -> HookResult:
        return HookResult.block("no reading today")

    server.host.hook_manager.register(HookEvent.PRE_TOOL_CALL, block)
    async with Client(server.lowlevel) as client:
        result = await client.call_tool("read_file", {"path": "notes.txt"})
    assert result.is_error
    assert result.structured_content == {
        "error": "tool call blocked by a hook: no reading today",
        "error_code": "EXEC_005",
    }


@pytest.mark.anyio
async def test_plan_mode_runs_only_read_only_tools(workspace: Path) -> None:
    server = build_server({"qa": qa_agent()}, workspace=workspace, policy=ServerPolicy(permission_mode="plan"))
    async with Client(server.lowlevel) as client:
        read = await client.call_tool("read_file", {"path": "notes.txt"})
        agent = await client.call_tool("qa", {"question": "2+2?"})
    assert not read.is_error
    assert agent.is_error and "plan mode allows only read-only tools" in agent.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_secrets_never_leave_the_server(workspace: Path) -> None:
    secret = "kz-test-secret-7f3a9c1e5b"
    (workspace / "config.txt").write_text(f"token={secret}", encoding="utf-8")
    register_secret(secret)
    try:
        server = build_server(workspace=workspace)
        async with Client(server.lowlevel) as client:
            result = await client.call_tool("read_file", {"path": "config.txt"})
            missing = await client.call_tool("read_file", {"path": f"{secret}.txt"})
    finally:
        forget_secrets(secret)
    assert result.content[0].text == "token=***"  # type: ignore[union-attr]
    assert missing.is_error
    assert secret not in missing.content[0].text and secret not in str(missing.structured_content)  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_agents_only_server(workspace: Path) -> None:
    server = build_server({"qa": qa_agent()}, builtin=False, workspace=workspace)
    async with Client(server.lowlevel) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("qa", {"question": "2+2?"})
        assert client.server_info is not None and client.server_info.name == "kaizen"
    assert names == ["qa"]
    assert result.structured_content == {"answer": "4"}


@pytest.mark.parametrize(
    ("name", "message"),
    [("read_file", "already a tool of this server"), ("has space", "not a valid MCP tool name"), ("", "not a valid")],
)
def test_agent_names_must_be_free_and_valid(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_server({name: qa_agent()})
    assert info.value.code == "KAIZEN_002"


def test_a_missing_workspace_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        build_server(workspace=tmp_path / "missing")


def test_kaizen_lists_and_runs_the_mcp_command(capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.cli import main

    assert main(["--help"]) == 0
    assert "mcp" in capsys.readouterr().out
    assert main(["mcp", "serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: kaizen mcp serve" in out and "--transport [stdio|streamable-http]" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy]\naprove = 'always'\n", "aprove: Extra inputs are not permitted"),
        (
            "[policy]\npermission_rules = [{pattern = '(', permission_type = 'deny'}]\n",
            "invalid permission rule pattern",
        ),
        ("[policy]\napprove = 'sometimes'\n", "approve: Input should be 'never' or 'always'"),
        ("[server]\n", "has no [policy] table"),
        ("[policy\n", "is not valid TOML"),
    ],
)
def test_invalid_policy_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "policy.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        ServerPolicy.from_toml(file)
    assert info.value.code == "KAIZEN_002"


@pytest.mark.anyio
async def test_the_endpoint_embeds_in_another_starlette_app(workspace: Path) -> None:
    """The README's recipe (kaizen-serve's): the app's routes in a parent app whose lifespan runs the sessions."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from kaizen_mcp.server import streamable_http_app
    from kaizen_testing.servers._process import free_port

    server = build_server(workspace=workspace)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    mcp_app = streamable_http_app(server, path="/mcp")
    parent = Starlette(
        routes=[Route("/health", lambda request: PlainTextResponse("ok")), *mcp_app.routes], lifespan=lifespan
    )
    port = free_port()
    web = uvicorn.Server(uvicorn.Config(parent, host="127.0.0.1", port=port, log_level="warning"))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(web.serve)
        with anyio.fail_after(30):
            while not web.started:  # uvicorn sets it once the socket listens
                await anyio.sleep(0.02)
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                result = await client.call_tool("read_file", {"path": "notes.txt"})
        web.should_exit = True
    assert result.content[0].text == "hello"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_an_autonomous_agent_tool_runs_its_loop_under_its_own_gate(workspace: Path) -> None:
    from kaizen_core.agent_loader import load_agent

    example = Path(__file__).resolve().parents[3] / "examples" / "autonomous" / "agent.toml"
    agent = load_agent(example, workspace_root=str(workspace))
    server = build_server({"organizer": agent}, builtin=False, workspace=workspace)
    async with Client(server.lowlevel) as client:
        result = await client.call_tool("organizer", {"task": "index this folder"})
    assert not result.is_error, result
    assert result.structured_content == {"summary": "listed the folder, read notes.txt and proposed INDEX.md"}
    assert result.meta is not None
    assert result.meta["kaizen/run"]["tool_calls"] == [
        {"name": "list_directory", "outcome": "success"},
        {"name": "read_file", "outcome": "success"},
        {"name": "write_file", "outcome": "denied", "error_code": "EXEC_005"},  # MEDIUM, nobody to approve
    ]
    assert not (workspace / "INDEX.md").exists()


@pytest.mark.anyio
async def test_a_call_past_the_tool_timeout_is_an_error(workspace: Path) -> None:
    from kaizen_core.tools import ToolContext

    config = BaseAgentConfig(llm_provider="mock", provider_config={"script": [{"delay": 60, "answer": "late"}]})
    slow = BaseAgent(config, "question: str -> answer: str", agent_id="slow")
    server = build_server(
        {"slow": slow}, builtin=False, tool_context=ToolContext(workspace_root=workspace, tool_timeout=0.5)
    )
    async with Client(server.lowlevel) as client:
        with anyio.fail_after(30):  # far below the model's 60 s: the timeout, not the reply, ended the call
            result = await client.call_tool("slow", {"question": "?"})
    assert result.is_error
    assert result.structured_content == {"error": "tool 'slow' timed out after 0.5s", "error_code": "EXEC_004"}


def test_two_agent_files_with_one_name_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kaizen_core.cli import main

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "qa.toml").write_text(
            '[agent]\nsignature = "question -> answer"\nllm_provider = "mock"\n', encoding="utf-8"
        )
    assert (
        main(["mcp", "serve", "--workspace", str(tmp_path), str(tmp_path / "a/qa.toml"), str(tmp_path / "b/qa.toml")])
        == 1
    )
    error = capsys.readouterr().err
    assert '"code": "KAIZEN_002"' in error and "two agent files give the tool name 'qa'" in error


@pytest.mark.anyio
async def test_a_failure_of_kaizen_itself_is_exec_003_without_its_text(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = build_server(workspace=workspace)

    async def broken(name: str, params: dict[str, Any]) -> Any:
        raise RuntimeError("internal detail kz-hidden-4411")

    monkeypatch.setattr(server.host, "execute_tool", broken)
    async with Client(server.lowlevel) as client:
        result = await client.call_tool("read_file", {"path": "notes.txt"})
    assert result.is_error
    assert result.structured_content == {
        "error": "internal error while running tool 'read_file'",
        "error_code": "EXEC_003",
    }
    assert "kz-hidden-4411" in caplog.text  # logged on the server (redacted traceback), not sent


def test_an_unset_api_key_variable_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaizen_core.cli import main

    monkeypatch.delenv("KZ_TEST_UNSET_KEY", raising=False)
    args = ["mcp", "serve", "--transport", "streamable-http", "--port", "0", "--api-key-env", "KZ_TEST_UNSET_KEY"]
    assert main([*args, "--workspace", str(tmp_path)]) == 1
    assert "environment variable 'KZ_TEST_UNSET_KEY' is not set or empty" in capsys.readouterr().err


def test_policy_lists_must_name_served_tools() -> None:
    with pytest.raises(ConfigError, match="allowed_tools names tools this server does not have: write_fiel"):
        build_server(policy=ServerPolicy(allowed_tools=["write_fiel"]))
    with pytest.raises(ConfigError, match="denied_tools names tools this server does not have: read_file"):
        build_server({"qa": qa_agent()}, builtin=False, policy=ServerPolicy(denied_tools=["read_file"]))
