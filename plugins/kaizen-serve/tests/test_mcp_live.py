"""The MCP channel: an MCP client lists the served agents as tools at /mcp and calls one (a run of the server)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import AGENTS, KEY, QUICKSTART
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def mcp_client(url: str, key: str | None = KEY) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return Client(
        streamable_http_client(f"{url}/mcp", http_client=create_mcp_http_client(headers=headers)),
        read_timeout_seconds=30,
    )


async def test_an_mcp_client_lists_the_agents_as_tools_and_calls_one(serve: Any) -> None:
    server = serve(QUICKSTART, AGENTS / "writer.toml")
    async with mcp_client(server.url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"quickstart-qa", "writer"}
        assert tools["quickstart-qa"].input_schema["required"] == ["question"]
        result = await client.call_tool("quickstart-qa", {"question": "Capital of France?"})
        assert not result.is_error
        assert set(result.structured_content or {}) == {"answer", "confidence"}
        invalid = await client.call_tool("quickstart-qa", {"topic": "France"})
        assert invalid.is_error
    with server.client() as http:
        runs = http.get("/runs", params={"agent": "quickstart-qa"}).json()["runs"]
    assert len(runs) == 1 and runs[0]["key_name"] == "mcp" and runs[0]["status"] == "completed"


async def test_mcp_needs_a_key(serve: Any) -> None:
    server = serve(QUICKSTART)
    with server.client(key=None) as anonymous:
        refused = anonymous.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "EXEC_005"
