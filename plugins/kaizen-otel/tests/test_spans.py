"""Spans of agent runs, model calls and tool calls, as a user with an in-memory exporter sees them."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from otel_recorded import Recorded, make_recorded

from kaizen_core import AutonomousConfig, BaseAgent, BaseAgentConfig, BaseAutonomousAgent
from kaizen_core.errors import ProviderError
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool

pytestmark = pytest.mark.anyio


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def shout(text: str) -> str:
    """Upper-case text."""
    return text.upper()


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def explode(text: str) -> str:
    """Always fails."""
    raise RuntimeError("kaboom")


def _autonomous(recorded: Recorded, script: list[Any], tools: list[Any] | None = None, **cfg: Any) -> BaseAutonomousAgent:
    provider = MockProvider(script=script, cost_per_input_token=1e-6, cost_per_output_token=2e-6)
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=5, **cfg),
        "task -> summary",
        provider=provider,
        tools=tools or [shout],
        agent_id="organizer",
    )
    agent.hook_manager.register_hook(recorded.hook)
    return agent


async def test_one_run_with_two_tool_calls_is_one_invoke_agent_span_with_two_tools_and_chats_summing_to_usage(
    recorded: Recorded,
) -> None:
    agent = _autonomous(
        recorded, [tool_calls_reply(("shout", {"text": "a"})), tool_calls_reply(("shout", {"text": "b"})), {"summary": "done"}]
    )
    result = await agent.run_autonomous("t", session_id="sess-1")
    run = recorded.one("invoke_agent")
    tools = recorded.spans("execute_tool")
    chats = recorded.spans("chat")
    assert run.name == "invoke_agent organizer" and run.kind is SpanKind.INTERNAL
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == run.attributes["gen_ai.agent.id"] == "organizer"
    assert run.attributes["gen_ai.conversation.id"] == "sess-1"
    assert run.attributes["kaizen.run.id"] == result["run_id"]
    assert [t.name for t in tools] == ["execute_tool shout", "execute_tool shout"]
    assert len(chats) == 3
    for child in (*tools, *chats):
        assert child.parent is not None and child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
    assert {t.attributes["gen_ai.tool.call.id"] for t in tools} == {c["id"] for c in result["tool_calls"]}
    assert all(t.attributes["gen_ai.tool.name"] == "shout" and t.status.status_code is StatusCode.UNSET for t in tools)
    usage = result["usage"]
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in chats) == usage["input_tokens"] > 0
    assert sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats) == usage["output_tokens"] > 0
    assert run.attributes["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    chat = chats[0]
    assert chat.kind is SpanKind.CLIENT and chat.name == f"chat {chat.attributes['gen_ai.request.model']}"
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "mock"
    assert chat.attributes["gen_ai.response.model"]
    assert chat.attributes["gen_ai.conversation.id"] == "sess-1"
    # The calls ran inside the run: each ended before it, in order.
    assert all(run.start_time <= s.start_time <= s.end_time <= run.end_time for s in (*tools, *chats))


async def test_no_message_content_is_recorded_by_default(recorded: Recorded) -> None:
    agent = _autonomous(recorded, [tool_calls_reply(("shout", {"text": "secret-ish"})), {"summary": "done"}])
    await agent.run_autonomous("my personal task")
    for span in recorded.spans():
        assert not any(k in span.attributes for k in ("gen_ai.input.messages", "gen_ai.output.messages",
                                                      "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"))
        assert "personal" not in json.dumps(dict(span.attributes), default=str)


async def test_capture_content_records_messages_and_tool_io_redacted() -> None:
    recorded = make_recorded(capture_content=True)
    key = "sk-" + "A1b2C3d4" * 6  # looks like an OpenAI key: redaction must hide it
    agent = _autonomous(recorded, [tool_calls_reply(("shout", {"text": "hello"})), {"summary": "done"}])
    await agent.run_autonomous(f"task with {key}")
    first = recorded.spans("chat")[0]
    messages = json.loads(first.attributes["gen_ai.input.messages"])
    assert messages[-1]["role"] == "user" and "task with" in messages[-1]["parts"][0]["content"]
    assert key not in first.attributes["gen_ai.input.messages"]
    output = json.loads(first.attributes["gen_ai.output.messages"])
    assert output[0]["parts"][-1] == {"type": "tool_call", "id": output[0]["parts"][-1]["id"], "name": "shout",
                                      "arguments": {"text": "hello"}}
    tool_span = recorded.one("execute_tool")
    assert json.loads(tool_span.attributes["gen_ai.tool.call.arguments"]) == {"text": "hello"}
    assert tool_span.attributes["gen_ai.tool.call.result"] == "HELLO"


async def test_parallel_tool_calls_each_get_their_own_span_under_the_run(recorded: Recorded) -> None:
    calls = tool_calls_reply(*[("shout", {"text": str(i)}) for i in range(6)])
    agent = _autonomous(recorded, [calls, {"summary": "done"}])
    result = await agent.run_autonomous("t")
    run = recorded.one("invoke_agent")
    tools = recorded.spans("execute_tool")
    assert len(tools) == 6 and len({t.context.span_id for t in tools}) == 6
    assert {t.attributes["gen_ai.tool.call.id"] for t in tools} == {c["id"] for c in result["tool_calls"]}
    assert all(t.parent is not None and t.parent.span_id == run.context.span_id for t in tools)


async def test_concurrent_runs_keep_their_spans_apart(recorded: Recorded) -> None:
    agents = [
        _autonomous(recorded, [tool_calls_reply(("shout", {"text": "x"})), {"summary": "done"}]) for _ in range(4)
    ]
    for i, agent in enumerate(agents):
        agent.agent_id = f"agent-{i}"
    results: dict[str, Any] = {}

    async def one(agent: BaseAutonomousAgent) -> None:
        results[agent.agent_id] = await agent.run_autonomous("t")

    async with anyio.create_task_group() as tg:
        for agent in agents:
            tg.start_soon(one, agent)
    runs = recorded.spans("invoke_agent")
    assert len(runs) == 4 and len({r.context.trace_id for r in runs}) == 4  # each run is its own trace
    for run in runs:
        children = [s for s in recorded.spans() if s.parent is not None and s.parent.span_id == run.context.span_id]
        assert sorted(c.name.split()[0] for c in children) == ["chat", "chat", "execute_tool"]
        run_id = results[run.attributes["gen_ai.agent.id"]]["run_id"]
        assert run.attributes["kaizen.run.id"] == run_id


async def test_a_run_inside_an_application_span_is_its_child(recorded: Recorded) -> None:
    agent = _autonomous(recorded, [{"summary": "done"}])
    tracer = recorded.hook.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle_request") as outer:
        await agent.run_autonomous("t")
    run = recorded.one("invoke_agent")
    assert run.parent is not None and run.parent.span_id == outer.get_span_context().span_id
    assert not trace.get_current_span().get_span_context().is_valid  # nothing stays current after the block


class _Failing(MockProvider):
    async def complete(self, request: Any) -> Any:
        raise ProviderError("the model is down")


def test_a_failed_model_call_sets_error_status_and_type_on_chat_and_run(recorded: Recorded) -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=_Failing(), agent_id="qa")
    agent.hook_manager.register_hook(recorded.hook)
    with pytest.raises(ProviderError):
        agent.run(question="q")
    chat, run = recorded.one("chat"), recorded.one("invoke_agent")
    for span in (chat, run):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "ProviderError"
        assert span.attributes["kaizen.error.code"] == "AGENT_004"
        assert span.events[0].name == "exception" and "the model is down" in span.events[0].attributes["exception.message"]
    assert run.attributes["kaizen.status"] == "error"
    assert chat.parent is not None and chat.parent.span_id == run.context.span_id


async def test_a_failed_tool_call_is_an_error_span_with_the_tools_error_code(recorded: Recorded) -> None:
    agent = _autonomous(recorded, [tool_calls_reply(("explode", {"text": "a"})), {"summary": "done"}], tools=[explode])
    result = await agent.run_autonomous("t")
    span = recorded.one("execute_tool")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["kaizen.status"] == "error"
    assert span.attributes["error.type"] == result["tool_calls"][0]["error_code"]
    assert recorded.one("invoke_agent").status.status_code is StatusCode.UNSET  # the run itself succeeded


async def test_two_otel_hooks_on_one_agent_each_record_the_whole_tree() -> None:
    first, second = make_recorded(), make_recorded()
    agent = _autonomous(first, [tool_calls_reply(("shout", {"text": "a"})), {"summary": "done"}])
    agent.hook_manager.register_hook(second.hook)
    await agent.run_autonomous("t")
    for recorded in (first, second):
        run = recorded.one("invoke_agent")
        children = [s for s in recorded.spans() if s.parent is not None and s.parent.span_id == run.context.span_id]
        assert sorted(s.name for s in children) == ["chat mock-model", "chat mock-model", "execute_tool shout"]
