"""create_app embedded in a program: agent objects served by uvicorn on loopback; a question over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import sse_events

from kaizen_core import AutonomousConfig, BaseAgent, BaseAgentConfig, BaseAutonomousAgent
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.redaction import register_secret
from kaizen_core.signatures import InputField, OutputField, Signature
from kaizen_core.tools import DangerLevel, tool
from kaizen_serve import create_app
from kaizen_testing.servers._process import free_port, port_open, wait_until

KEY = "ksk_embedded-" + "k" * 20


def colour_agent() -> BaseAutonomousAgent:
    agent: BaseAutonomousAgent

    @tool(danger_level=DangerLevel.SAFE, read_only=True)
    async def pick_colour() -> str:
        """Ask the user for a colour."""
        answer = await agent.ask_user_question("Which colour?", ["red", "blue"])
        return answer or "no answer"

    provider = MockProvider(script=[tool_calls_reply(("pick_colour", {})), {"summary": "asked"}])
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=3, enable_interrupts=False),
        "task -> summary",
        provider=provider,
        tools=[pick_colour],
        agent_id="colours",
    )
    return agent


SECRET = "hunter2-db-password-9f8e7d"


class BrokenSignature(Signature):
    """A signature whose validation fails with an unexpected error quoting a secret."""

    question: str = InputField(description="q")
    answer: str = OutputField(description="a")

    @classmethod
    def validate_inputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"could not reach the database with password {SECRET}")


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    import uvicorn

    register_secret(SECRET)
    broken = BaseAgent(BaseAgentConfig(llm_provider="mock"), BrokenSignature(), agent_id="broken")
    app = create_app(
        agents={"colours": colour_agent(), "broken": broken},
        api_keys={"ci": KEY},
        storage=f"sqlite:///{tmp_path / 's.db'}",
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: port_open(port), what="embedded uvicorn", timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_agents_question_is_answered_over_http(embedded: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=embedded, headers=headers, timeout=30) as client:
        run_id = client.post("/agents/colours/runs", json={"inputs": {"task": "choose"}}).json()["run_id"]
        events: list[dict[str, Any]] = []
        with client.stream("GET", f"/runs/{run_id}/events") as response:
            for event in sse_events(response):
                events.append(event)
                if event["event"] == "question":
                    asked = event["data"]["data"]
                    assert asked["question"] == "Which colour?" and asked["options"] == ["red", "blue"]
                    assert (
                        client.post(
                            f"/runs/{run_id}/responses/{asked['request_id']}", json={"approved": True}
                        ).status_code
                        == 422
                    )
                    assert (
                        client.post(
                            f"/runs/{run_id}/responses/{asked['request_id']}", json={"answer": "blue"}
                        ).status_code
                        == 202
                    )
        answered = next(e for e in events if e["event"] == "response")["data"]["data"]
        assert answered == {"request_id": asked["request_id"], "outcome": "answered", "answer": "blue", "by": "ci"}
        result = next(e for e in events if e["event"] == "tool_result")["data"]["data"]
        assert result["tool"] == "pick_colour" and result["result"] == "blue"
        assert client.get(f"/runs/{run_id}").json()["status"] == "completed"


def test_an_unexpected_error_is_a_coded_500_without_traceback_or_secret(
    embedded: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("ERROR")
    with httpx.Client(base_url=embedded, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
        response = client.post("/agents/broken/runs", json={"inputs": {"question": "q"}})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "EXEC_003"
    assert SECRET not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text  # logged for the operator, redacted
