"""The SDK's own client against real ``kaizen mcp serve`` processes, over stdio and streamable HTTP.

Each stdio test spawns its own server (the client owns the subprocess); the HTTP server is
one process per module on a loopback port it picks (`--port 0`), waited on until it prints
the URL it listens on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from kaizen_core.tools.builtin import BUILTIN_TOOL_NAMES
from kaizen_testing.servers._process import stop_process, wait_until

#: a generous bound so a hung server fails the test instead of hanging the suite
CALL_TIMEOUT = 60.0

AGENT_TOML = """\
[agent]
id = "qa"
signature = "question: str -> answer: str, confidence: float"
instructions = "Answer the question in a few words."
llm_provider = "mock"

[agent.provider_config]
script = [{answer = "Paris", confidence = 0.9}]
"""

NOTE = "the workspace note\n"
#: the status line of ``kaizen mcp serve --transport streamable-http``
READY = re.compile(r"kaizen mcp serve: kaizen_builtin on (?P<url>http://127\.0\.0\.1:\d+/mcp) \(13 tools\)")


@dataclass
class Site:
    """A workspace with a note in it, a secret file outside it, and an agent file."""

    workspace: Path
    agent_file: Path
    outside: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    base = tmp_path_factory.mktemp("mcp-serve")
    workspace = base / "ws" / "inner"
    workspace.mkdir(parents=True)
    (workspace / "notes.txt").write_text(NOTE, encoding="utf-8")
    outside = base / "secret.txt"  # reachable as ../../secret.txt from the workspace
    outside.write_text("outside the workspace\n", encoding="utf-8")
    agent_file = base / "qa.toml"
    agent_file.write_text(AGENT_TOML, encoding="utf-8")
    return Site(workspace, agent_file, outside)


def serve_args(site: Site, *extra: str) -> list[str]:
    """``kaizen mcp serve`` (run as ``python -m kaizen_core.cli``, the ``kaizen`` entry point's main)."""
    return ["-m", "kaizen_core.cli", "mcp", "serve", "--workspace", str(site.workspace), *extra, str(site.agent_file)]


@dataclass
class HttpServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serving_http(site: Site, log: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[HttpServer]:
    """``kaizen mcp serve --transport streamable-http [options] --port 0``, its output in ``log``.

    The server picks a free port and prints its URL once the socket listens; stopped on exit.
    """
    args = [sys.executable, *serve_args(site, "--transport", "streamable-http", *options, "--port", "0")]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_until(
            lambda: READY.search(log.read_text()) is not None,
            what="kaizen mcp serve",
            timeout=60,
            process=process,
            log=log,
        )
        found = READY.search(log.read_text())
        assert found is not None
        yield HttpServer(found.group("url"), process, log)
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def http_server(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    with serving_http(site, tmp_path_factory.mktemp("mcp-http") / "server.log") as server:
        yield server


@asynccontextmanager
async def connect(transport: str, site: Site, request: pytest.FixtureRequest, *extra: str) -> AsyncIterator[Client]:
    """The SDK's client connected to a ``kaizen mcp serve`` of ``transport``."""
    if transport == "stdio":
        target: StdioServerParameters | str = StdioServerParameters(
            command=sys.executable, args=serve_args(site, *extra), cwd=str(site.workspace)
        )
    else:
        assert not extra, "the module's HTTP server has the default options"
        target = request.getfixturevalue("http_server").url
    with anyio.fail_after(CALL_TIMEOUT):
        async with Client(target, read_timeout_seconds=CALL_TIMEOUT) as client:
            yield client


transports = pytest.mark.parametrize("transport", ["stdio", "streamable-http"])


@pytest.mark.anyio
@transports
async def test_lists_the_twelve_builtin_tools_and_the_agent(
    transport: str, site: Site, request: pytest.FixtureRequest
) -> None:
    async with connect(transport, site, request) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert client.server_info is not None and client.server_info.name == "kaizen_builtin"
    assert set(listed) == {*BUILTIN_TOOL_NAMES, "qa"}
    assert len(BUILTIN_TOOL_NAMES) == 12
    agent = listed["qa"]
    assert agent.input_schema["required"] == ["question"]
    assert agent.input_schema["properties"]["question"]["type"] == "string"
    assert agent.output_schema is not None
    assert agent.output_schema["properties"]["confidence"]["type"] == "number"
    assert agent.description == "Answer the question in a few words."
    assert listed["read_file"].input_schema["required"] == ["path"]


@pytest.mark.anyio
@transports
async def test_read_file_inside_the_workspace(transport: str, site: Site, request: pytest.FixtureRequest) -> None:
    async with connect(transport, site, request) as client:
        result = await client.call_tool("read_file", {"path": "notes.txt"})
    assert not result.is_error
    assert [block.text for block in result.content] == [NOTE]  # type: ignore[union-attr]


@pytest.mark.anyio
@transports
async def test_paths_out_of_the_workspace_are_refused(
    transport: str, site: Site, request: pytest.FixtureRequest
) -> None:
    async with connect(transport, site, request) as client:
        passwd = await client.call_tool("read_file", {"path": "../../etc/passwd"})
        sibling = await client.call_tool("read_file", {"path": "../../secret.txt"})
        absolute = await client.call_tool("read_file", {"path": str(site.outside)})
    for result in (passwd, sibling, absolute):
        assert result.is_error
        assert result.structured_content is not None
        assert result.structured_content["error_code"] == "EXEC_005"
        text = result.content[0].text  # type: ignore[union-attr]
        assert text.startswith("[EXEC_005] ") and "outside the workspace root" in text
        assert "root:" not in text and "outside the workspace\n" not in text  # nothing of the files leaks
    assert "'../../etc/passwd'" in passwd.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
@transports
async def test_the_agent_tool_returns_its_typed_result(
    transport: str, site: Site, request: pytest.FixtureRequest
) -> None:
    async with connect(transport, site, request) as client:
        result = await client.call_tool("qa", {"question": "Capital of France?"})
    assert not result.is_error
    assert result.structured_content == {"answer": "Paris", "confidence": 0.9}
    assert result.content[0].text == '{"answer": "Paris", "confidence": 0.9}'  # type: ignore[union-attr]
    assert result.meta is not None
    run = result.meta["kaizen/run"]
    assert run["agent_id"] == "qa" and run["provider"] == "mock" and run["usage"]["total_tokens"] > 0


@pytest.mark.anyio
@transports
async def test_bad_input_is_a_tool_error_with_a_kaizen_code(
    transport: str, site: Site, request: pytest.FixtureRequest
) -> None:
    async with connect(transport, site, request) as client:
        missing = await client.call_tool("qa", {"topic": "France"})
        wrong_type = await client.call_tool("read_file", {"path": ["not", "a", "string"]})
        unknown = await client.call_tool("no_such_tool", {})
    for result in (missing, wrong_type, unknown):
        assert result.is_error
        assert result.structured_content is not None and result.structured_content["error_code"] == "EXEC_001"
        assert "Traceback" not in result.content[0].text  # type: ignore[union-attr]
    assert "question: Field required" in missing.content[0].text  # type: ignore[union-attr]
    assert "topic: Extra inputs are not permitted" in missing.content[0].text  # type: ignore[union-attr]
    assert "unknown tool 'no_such_tool'" in unknown.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_annotations_follow_the_danger_levels(site: Site, request: pytest.FixtureRequest) -> None:
    async with connect("stdio", site, request) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    hints = {
        name: (tool.annotations.read_only_hint, tool.annotations.destructive_hint)  # type: ignore[union-attr]
        for name, tool in listed.items()
    }
    read_only = {"read_file", "list_directory", "file_exists", "http_get", "fetch_url", "extract_links"}
    destructive = {"delete_file", "http_delete", "bash_command"}
    assert {name for name, (ro, _) in hints.items() if ro} == read_only
    assert {name for name, (_, de) in hints.items() if de} == destructive
    assert hints["write_file"] == hints["http_post"] == hints["http_put"] == hints["qa"] == (False, False)
    assert listed["delete_file"].meta == {"kaizen/danger_level": "high"}
    assert listed["write_file"].meta == {"kaizen/danger_level": "medium"}


@pytest.mark.anyio
async def test_http_get_to_loopback_is_refused_by_the_egress_policy(http_server: HttpServer) -> None:
    # The server's own endpoint: a listening loopback address, so only the policy can refuse it.
    with anyio.fail_after(CALL_TIMEOUT):
        async with Client(http_server.url, read_timeout_seconds=CALL_TIMEOUT) as client:
            result = await client.call_tool("http_get", {"url": http_server.url})
    assert result.is_error
    assert result.structured_content is not None and result.structured_content["error_code"] == "EXEC_005"
    assert "is a loopback address" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_calls_needing_approval_are_denied_by_default(site: Site, request: pytest.FixtureRequest) -> None:
    async with connect("stdio", site, request) as client:
        write = await client.call_tool("write_file", {"path": "new.txt", "content": "x"})
        delete = await client.call_tool("delete_file", {"path": "notes.txt"})
        shell = await client.call_tool("bash_command", {"command": "cat notes.txt"})
    for result, level in ((write, "MEDIUM"), (delete, "HIGH"), (shell, "HIGH")):
        assert result.is_error
        assert result.structured_content is not None and result.structured_content["error_code"] == "EXEC_005"
        assert f"is {level}: approval required" in result.content[0].text  # type: ignore[union-attr]
    assert not (site.workspace / "new.txt").exists()
    assert (site.workspace / "notes.txt").read_text(encoding="utf-8") == NOTE


@pytest.mark.anyio
async def test_allow_tool_and_approve_always_let_gated_tools_run(site: Site, request: pytest.FixtureRequest) -> None:
    async with connect("stdio", site, request, "--allow-tool", "write_file") as client:
        written = await client.call_tool("write_file", {"path": "allowed.txt", "content": "by --allow-tool"})
        still_denied = await client.call_tool("delete_file", {"path": "allowed.txt"})
    assert not written.is_error, written
    assert (site.workspace / "allowed.txt").read_text(encoding="utf-8") == "by --allow-tool"
    assert still_denied.is_error and (site.workspace / "allowed.txt").exists()

    async with connect("stdio", site, request, "--approve", "always", "--deny-tool", "bash_command") as client:
        deleted = await client.call_tool("delete_file", {"path": "allowed.txt"})
        shell = await client.call_tool("bash_command", {"command": "cat notes.txt"})
    assert not deleted.is_error, deleted
    assert not (site.workspace / "allowed.txt").exists()
    assert shell.is_error and "in the denied list" in shell.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_policy_file_sets_rules_lists_and_an_audit_trail(
    site: Site, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    policy = tmp_path / "policy.toml"
    policy.write_text(
        "[policy]\n"
        'allowed_tools = ["write_file"]\n'
        'permission_rules = [{pattern = "http_.*", permission_type = "deny", reason = "no HTTP from this server"}]\n'
        f'hooks = [{{name = "audit", path = {json.dumps(str(audit))}}}]\n'
        "hook_timeout = 0.001\n",  # the audit hook has no timeout: not one record is lost to it
        encoding="utf-8",
    )
    async with connect("stdio", site, request, "--policy", str(policy)) as client:
        written = await client.call_tool("write_file", {"path": "by-policy.txt", "content": "ok"})
        fetched = await client.call_tool("http_get", {"url": "https://example.com/"})
    assert not written.is_error, written
    assert fetched.is_error and fetched.content[0].text == (  # type: ignore[union-attr]
        "[EXEC_005] permission denied for 'http_get': no HTTP from this server"
    )
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    decisions = [
        (r["what"]["tool"], r["decision"]["decision"]) for r in records if r["event"] == "post_permission_check"
    ]
    assert decisions == [("write_file", "allow"), ("http_get", "deny")]
    assert {r["who"]["agent_id"] for r in records} == {"kaizen-mcp-server"}
    (site.workspace / "by-policy.txt").unlink()


@pytest.mark.anyio
async def test_an_api_key_guards_the_http_endpoint(site: Site, tmp_path: Path) -> None:
    import httpx
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    key = "kz-mcp-test-key-93b1f0"
    log = tmp_path / "server.log"
    env = {**os.environ, "KZ_TEST_MCP_KEY": key}
    with serving_http(site, log, "--api-key-env", "KZ_TEST_MCP_KEY", env=env) as server:
        url = server.url
        async with httpx.AsyncClient() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": key}):
                refused = await http.post(url, json={}, headers=headers)
                assert refused.status_code == 401
                assert refused.json() == {"error": {"code": "EXEC_005", "message": "missing or wrong API key"}}
        authorized = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(streamable_http_client(url, http_client=authorized)) as client:
                result = await client.call_tool("read_file", {"path": "notes.txt"})
        assert result.content[0].text == NOTE  # type: ignore[union-attr]
    assert key not in log.read_text()
