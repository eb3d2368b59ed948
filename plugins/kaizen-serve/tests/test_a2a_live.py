"""A2A against a live ``kaizen serve`` process, driven by the a2a-sdk's own client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.helpers import get_data_parts, get_text_parts, new_data_message, new_text_message
from a2a.types import CancelTaskRequest, GetTaskRequest, Role, SendMessageRequest, TaskState
from conftest import AGENTS, KEY, QUICKSTART

from kaizen_serve.auth import hash_key

WRITER = AGENTS / "writer.toml"
AUTH = {"Authorization": f"Bearer {KEY}"}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def a2a_client(http: httpx.AsyncClient, base: str, *, streaming: bool) -> Any:
    card = await A2ACardResolver(http, base).get_agent_card()
    return await create_client(card, client_config=ClientConfig(httpx_client=http, streaming=streaming))


async def final_task(responses: AsyncIterator[Any]) -> Any:
    """The last task state the client saw (a ``task`` response, or the task status updates)."""
    task = None
    async for response in responses:
        if response.HasField("task"):
            task = response.task
        elif response.HasField("status_update"):
            assert task is not None
            task.status.CopyFrom(response.status_update.status)
        elif response.HasField("artifact_update"):
            assert task is not None
            task.artifacts.append(response.artifact_update.artifact)
    assert task is not None
    return task


def user_text(text: str) -> Any:
    return new_text_message(text, role=Role.ROLE_USER)


async def test_the_sdk_client_fetches_the_card_sends_a_message_and_gets_the_answer_as_a_task(serve: Any) -> None:
    server = serve(QUICKSTART)
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        card = await A2ACardResolver(http, f"{server.url}/agents/quickstart-qa").get_agent_card()
        assert card.name == "quickstart-qa"
        assert card.capabilities.streaming
        assert {i.protocol_version for i in card.supported_interfaces} == {"1.0", "0.3"}
        assert card.supported_interfaces[0].url == f"{server.url}/agents/quickstart-qa/a2a"
        assert "bearer" in card.security_schemes
        default = await A2ACardResolver(http, server.url).get_agent_card()  # /.well-known/agent-card.json
        assert default.name == "quickstart-qa"

        client = await a2a_client(http, f"{server.url}/agents/quickstart-qa", streaming=False)
        task = await final_task(client.send_message(SendMessageRequest(message=user_text("Capital of France?"))))
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        (artifact,) = task.artifacts
        (outputs,) = get_data_parts(artifact.parts)
        assert isinstance(outputs["answer"], str) and isinstance(outputs["confidence"], float)
        assert set(outputs) == {"answer", "confidence"}  # the signature's outputs, no _meta
        run_id = artifact.metadata["kaizen_run_id"]

        # The task is an ordinary run: the run API knows it and holds the same result.
        run = (await http.get(f"{server.url}/runs/{run_id}")).json()
        assert run["status"] == "completed" and run["inputs"] == {"question": "Capital of France?"}
        assert run["result"]["answer"] == outputs["answer"] and run["key_name"] == "env"

        fetched = await client.get_task(GetTaskRequest(id=task.id))
        assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
        await client.close()


async def test_streaming_with_data_inputs_and_invalid_inputs_rejected(serve: Any) -> None:
    server = serve(QUICKSTART)
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        client = await a2a_client(http, f"{server.url}/agents/quickstart-qa", streaming=True)
        message = new_data_message({"question": "Largest planet?"}, role=Role.ROLE_USER)
        states = []
        async for response in client.send_message(SendMessageRequest(message=message)):
            if response.HasField("status_update"):
                states.append(response.status_update.status.state)
        assert states[0] == TaskState.TASK_STATE_WORKING
        assert states[-1] == TaskState.TASK_STATE_COMPLETED

        bad = new_data_message({"query": "wrong field"}, role=Role.ROLE_USER)
        rejected = await final_task(client.send_message(SendMessageRequest(message=bad)))
        assert rejected.status.state == TaskState.TASK_STATE_REJECTED
        text = " ".join(get_text_parts(rejected.status.message.parts))
        assert "EXEC_001" in text
        await client.close()


async def test_cancel_task_interrupts_the_run_waiting_for_approval(serve: Any) -> None:
    server = serve(WRITER)
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        client = await a2a_client(http, f"{server.url}/agents/writer", streaming=True)
        run_id = task_id = None
        async for response in client.send_message(SendMessageRequest(message=user_text("write out.txt"))):
            if response.HasField("task"):
                task_id = response.task.id
            if response.HasField("status_update"):
                update = response.status_update
                run_id = update.metadata["kaizen_run_id"] if "kaizen_run_id" in update.metadata else run_id
                if "waiting for an answer to approval_request" in " ".join(get_text_parts(update.status.message.parts)):
                    break
        assert task_id and run_id
        assert (await http.get(f"{server.url}/runs/{run_id}")).json()["pending"]
        cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        with anyio.fail_after(30):
            while (await http.get(f"{server.url}/runs/{run_id}")).json()["status"] != "interrupted":
                await anyio.sleep(0.05)  # polling the run's state, not racing it: the loop ends on the condition
        await client.close()


async def test_jsonrpc_names_of_a2a_0_3_and_1_0_and_auth(serve: Any) -> None:
    server = serve(QUICKSTART)
    rpc = f"{server.url}/agents/quickstart-qa/a2a"
    async with httpx.AsyncClient(timeout=30) as http:
        old = await http.post(
            rpc,
            headers=AUTH,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "message/send",
                "params": {"message": {"role": "user", "parts": [{"kind": "text", "text": "Hi?"}], "messageId": "m1"}},
            },
        )
        result = old.json()["result"]
        assert result["kind"] == "task" and result["status"]["state"] == "completed"
        got = await http.post(
            rpc, headers=AUTH, json={"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"id": result["id"]}}
        )
        assert got.json()["result"]["id"] == result["id"]

        new = await http.post(
            rpc,
            headers={**AUTH, "A2A-Version": "1.0"},
            json={
                "jsonrpc": "2.0",
                "id": 3,
                "method": "SendMessage",
                "params": {"message": {"role": "ROLE_USER", "parts": [{"text": "Hi?"}], "messageId": "m2"}},
            },
        )
        assert new.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"

        assert (await http.post(rpc, json={"jsonrpc": "2.0", "id": 4, "method": "SendMessage"})).status_code == 401
        assert (await http.get(f"{server.url}/agents/quickstart-qa/.well-known/agent-card.json")).status_code == 401
        assert (await http.get(f"{server.url}/.well-known/agent-card.json")).status_code == 401
        missing = await http.get(f"{server.url}/agents/nobody/.well-known/agent-card.json", headers=AUTH)
        assert missing.status_code == 404


async def test_a_key_limited_to_one_agent_is_refused_on_the_others(serve: Any, workdir: Path) -> None:
    limited = "ksk_limited_" + "l" * 24
    keys = workdir / "keys.toml"
    keys.write_text(f'[[keys]]\nname = "writer-only"\nsha256 = "{hash_key(limited)}"\nagents = ["writer"]\n')
    server = serve(QUICKSTART, WRITER, args=["--api-key-file", str(keys)])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {limited}"}, timeout=30) as http:
        card = await http.get(f"{server.url}/agents/writer/.well-known/agent-card.json")
        assert card.status_code == 200 and card.json()["name"] == "writer"
        for path in ("/agents/quickstart-qa/.well-known/agent-card.json", "/.well-known/agent-card.json"):
            refused = await http.get(f"{server.url}{path}")
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "EXEC_005", path
        rpc = await http.post(
            f"{server.url}/agents/quickstart-qa/a2a",
            json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "x"}},
        )
        assert rpc.status_code == 403


async def test_message_stream_of_a2a_0_3_streams_the_task_as_server_sent_events(serve: Any) -> None:
    server = serve(QUICKSTART)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "message/stream",
        "params": {"message": {"role": "user", "parts": [{"kind": "text", "text": "Hi?"}], "messageId": "m1"}},
    }
    states = []
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        async with http.stream("POST", f"{server.url}/agents/quickstart-qa/a2a", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    result = json.loads(line[5:])["result"]
                    if result.get("kind") == "status-update":
                        states.append(result["status"]["state"])
    assert states[0] == "working" and states[-1] == "completed"


async def test_an_a2a_task_waits_for_an_approval_given_over_http_then_completes(serve: Any, workdir: Path) -> None:
    server = serve(WRITER)
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        client = await a2a_client(http, f"{server.url}/agents/writer", streaming=True)
        run_id = None
        states, artifacts = [], []
        async for response in client.send_message(SendMessageRequest(message=user_text("write out.txt"))):
            if response.HasField("artifact_update"):
                artifacts.append(response.artifact_update.artifact)
            if not response.HasField("status_update"):
                continue
            update = response.status_update
            states.append(update.status.state)
            if "kaizen_run_id" in update.metadata:
                run_id = update.metadata["kaizen_run_id"]
            if "waiting for an answer to approval_request" in " ".join(get_text_parts(update.status.message.parts)):
                (request_id,) = (await http.get(f"{server.url}/runs/{run_id}")).json()["pending"]
                answer = await http.post(f"{server.url}/runs/{run_id}/responses/{request_id}", json={"approved": True})
                assert answer.status_code == 202
        assert states[-1] == TaskState.TASK_STATE_COMPLETED
        (artifact,) = artifacts
        assert get_text_parts(artifact.parts) == ["wrote out.txt"]
        assert get_data_parts(artifact.parts) == [{"summary": "wrote out.txt"}]
        assert (workdir / "out.txt").read_text() == "hello"
        await client.close()
