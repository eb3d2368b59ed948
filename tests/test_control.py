"""ControlProtocol over the in-memory, stdio (real pipes) and CLI transports."""

from __future__ import annotations

import io
import json
import os

import anyio
import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, plugins
from kaizen_core.control import (
    CLITransport,
    ControlProtocol,
    ControlRequest,
    ControlResponse,
    InMemoryTransport,
    StdioTransport,
    parse_message,
)
from kaizen_core.errors import ConfigError, KaizenError

pytestmark = pytest.mark.anyio


async def test_question_answered_by_client() -> None:
    transport = InMemoryTransport()
    async with ControlProtocol(transport) as control, anyio.create_task_group() as tg:

        async def client() -> None:
            request = await transport.client.receive()
            assert request.request_type == "question"
            assert request.data == {"question": "Which color?", "options": ["red", "blue"]}
            await transport.client.respond(request.id, {"answer": "blue"})

        tg.start_soon(client)
        assert await control.ask_user_question("Which color?", ["red", "blue"], timeout=5) == "blue"


async def test_approval_auto_respond_and_deny() -> None:
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda r: {"approved": r.data["action"] == "write_file"})
    async with ControlProtocol(transport) as control:
        assert await control.request_approval("write_file", {"path": "a"}, timeout=5) is True
        assert await control.request_approval("delete_file", {"path": "a"}, timeout=5) is False
    assert [r.data["action"] for r in transport.client.received] == ["write_file", "delete_file"]


async def test_async_auto_responder() -> None:
    transport = InMemoryTransport()

    async def responder(request: ControlRequest) -> dict[str, object]:
        await anyio.sleep(0)
        return {"answer": request.data["question"][::-1]}

    transport.client.auto_respond(responder)
    async with ControlProtocol(transport) as control:
        assert await control.ask_user_question("abc", timeout=5) == "cba"


async def test_timeout_means_none_and_deny() -> None:
    transport = InMemoryTransport()
    async with ControlProtocol(transport) as control:
        assert await control.request_approval("write_file", timeout=0.05) is False
        assert await control.ask_user_question("anyone?", timeout=0.05) is None
        # a late answer to the timed-out request is ignored
        late = transport.client.receive_nowait()
        assert late is not None
        await transport.client.respond(late.id, {"approved": True})
        assert control.ignored and control.ignored[-1].type == "response"


async def test_responses_paired_by_id_out_of_order() -> None:
    transport = InMemoryTransport()
    answers: dict[str, str | None] = {}
    async with ControlProtocol(transport) as control, anyio.create_task_group() as tg:

        async def ask(q: str) -> None:
            answers[q] = await control.ask_user_question(q, timeout=5)

        tg.start_soon(ask, "first")
        tg.start_soon(ask, "second")
        first = await transport.client.receive()
        second = await transport.client.receive()
        # unsolicited and unknown-id messages are ignored
        await transport.client.send_raw(ControlResponse(request_id="nobody", data={"answer": "x"}))
        await transport.client.send_raw(ControlRequest(request_type="notification", data={"hi": 1}))
        await transport.client.respond(second.id, {"answer": second.data["question"] + "!"})
        await transport.client.respond(first.id, {"answer": first.data["question"] + "!"})
    assert answers == {"first": "first!", "second": "second!"}
    assert len(control.ignored) == 2


async def test_error_response_and_progress() -> None:
    transport = InMemoryTransport()
    transport.client.auto_respond(lambda r: None)
    async with ControlProtocol(transport) as control, anyio.create_task_group() as tg:

        async def client() -> None:
            req = await transport.client.receive()
            await transport.client.respond(req.id, {"approved": True}, error="client failed")

        tg.start_soon(client)
        assert await control.request_approval("x", timeout=5) is False
        await control.report_progress("halfway", 50)
        await control.report_progress("overshoot", 250)
    progress = [r for r in transport.client.received if r.request_type == "progress"]
    assert [p.data for p in progress] == [{"message": "halfway", "percentage": 50.0}, {"message": "overshoot", "percentage": 100.0}]
    assert not progress[0].expects_response


async def test_not_started_raises() -> None:
    with pytest.raises(KaizenError):
        await ControlProtocol(InMemoryTransport()).request_approval("x", timeout=0.1)


async def test_stop_releases_waiters() -> None:
    transport = InMemoryTransport()
    control = ControlProtocol(transport)
    await control.start()
    result: list[bool] = []
    async with anyio.create_task_group() as tg:

        async def ask() -> None:
            result.append(await control.request_approval("x", timeout=30))

        tg.start_soon(ask)
        await transport.client.receive()
        await control.stop()
    assert result == [False]


def test_parse_message() -> None:
    req = ControlRequest(request_type="approval", data={"action": "a"})
    assert parse_message(req.model_dump_json()) == req
    assert isinstance(parse_message({"type": "response", "request_id": "1"}), ControlResponse)
    assert parse_message("not json") is None
    assert parse_message('{"type": "other"}') is None


async def test_stdio_transport_over_real_pipes() -> None:
    to_agent_r, to_agent_w = os.pipe()
    with open(to_agent_r, encoding="utf-8") as agent_in, open(to_agent_w, "w", encoding="utf-8") as client_out:
        agent_out = io.StringIO()
        transport = StdioTransport(input=agent_in, output=agent_out)
        async with ControlProtocol(transport) as control, anyio.create_task_group() as tg:
            answers: list[bool] = []

            async def ask() -> None:
                answers.append(await control.request_approval("write_file", {"path": "x"}, timeout=10))

            tg.start_soon(ask)
            while not agent_out.getvalue():
                await anyio.sleep(0.01)
            request = json.loads(agent_out.getvalue().splitlines()[0])
            assert request["request_type"] == "approval" and request["data"]["action"] == "write_file"
            client_out.write("garbage line\n")
            client_out.write(json.dumps({"type": "response", "request_id": "unknown", "data": {}}) + "\n")
            client_out.write(json.dumps({"type": "response", "request_id": request["id"], "data": {"approved": True}}) + "\n")
            client_out.flush()
        assert answers == [True]
        assert len(control.ignored) == 1


async def test_cli_transport_prompts() -> None:
    answers_in = io.StringIO("2\ny\n")
    prompts = io.StringIO()
    transport = CLITransport(input=answers_in, output=prompts)
    async with ControlProtocol(transport) as control:
        assert await control.ask_user_question("Pick one", ["red", "blue"], timeout=10) == "blue"
        assert await control.request_approval("delete_file", {"path": "old.txt"}, timeout=10) is True
        await control.report_progress("done", 100)
    text = prompts.getvalue()
    assert "Pick one" in text and "2) blue" in text and "Approve delete_file?" in text and "path: old.txt" in text
    assert "[100%] done" in text


def test_transports_registered_by_name() -> None:
    registry = plugins.get_registry()
    assert registry.load("transport", "memory") is InMemoryTransport
    assert registry.load("transport", "stdio") is StdioTransport
    assert registry.load("transport", "cli") is CLITransport


# --- the agent's control methods (kaizen_core/agents/control_methods.py) --------------------------


def _agent(control: ControlProtocol | None) -> BaseAgent:
    return BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", control_protocol=control)


async def test_agent_methods_go_through_its_protocol_and_start_it_on_demand() -> None:
    transport = InMemoryTransport()
    transport.client.auto_respond(
        lambda r: {"answer": r.data["options"][-1]} if r.request_type == "question" else {"approved": True}
    )
    control = ControlProtocol(transport)
    agent = _agent(control)
    assert not control.started
    assert await agent.ask_user_question("Which option?", ["A", "B", "C"]) == "C"
    assert control.started  # started by the agent, on first use
    assert await agent.request_approval("Delete files?", {"count": 3}) is True
    await agent.report_progress("Processing...", percentage=150)
    kinds = [(r.request_type, r.data) for r in transport.client.received]
    assert kinds == [
        ("question", {"question": "Which option?", "options": ["A", "B", "C"]}),
        ("approval", {"action": "Delete files?", "details": {"count": 3}}),
        ("progress", {"message": "Processing...", "percentage": 100.0}),  # clamped
    ]
    # A run uses the same, already started protocol and leaves it running.
    await agent.run_async(question="q")
    assert control.started
    await agent.aclose()
    assert not control.started  # the agent stops what it started


async def test_agent_leaves_a_protocol_started_by_the_user_running() -> None:
    transport = InMemoryTransport()
    transport.client.deny_all()
    async with ControlProtocol(transport) as control:
        agent = _agent(control)
        assert await agent.request_approval("rm -rf build") is False  # an explicit refusal
        await agent.aclose()
        assert control.started


async def test_agent_without_an_answer_gets_none_and_a_denial() -> None:
    agent = _agent(ControlProtocol(InMemoryTransport()))  # nobody answers
    assert await agent.ask_user_question("Anyone?", timeout=0.01) is None
    assert await agent.request_approval("Deploy?", timeout=0.01) is False
    await agent.aclose()


async def test_agent_without_a_control_protocol_says_how_to_add_one() -> None:
    agent = _agent(None)
    for call in (
        agent.ask_user_question("Which?", ["a"]),
        agent.request_approval("Delete?", {}),
        agent.report_progress("half", 50),
    ):
        with pytest.raises(ConfigError, match="no control protocol") as info:
            await call
        assert info.value.code == "KAIZEN_002" and "control_protocol=" in (info.value.hint or "")
    agent.control_protocol = ControlProtocol(InMemoryTransport())  # set later: used from then on
    await agent.report_progress("half", 50)
    await agent.aclose()


async def test_ignored_messages_are_bounded_to_the_newest() -> None:
    transport = InMemoryTransport()
    async with ControlProtocol(transport) as control:
        kept = ControlProtocol.IGNORED_KEPT
        for n in range(kept + 50):
            await transport.client.send_raw(ControlResponse(request_id=f"late-{n}", data={"approved": True}))
        assert len(control.ignored) == kept
        ids = [m.request_id for m in control.ignored if isinstance(m, ControlResponse)]
        assert ids == [f"late-{n}" for n in range(50, kept + 50)]  # the newest are kept, in order
