"""Metrics of model calls, trace ids on log records, and spans an interrupt cut short."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import anyio
import pytest
from otel_recorded import Recorded

from kaizen_core import AutonomousConfig, BaseAutonomousAgent
from kaizen_core.errors import AgentInterrupted
from kaizen_core.hooks import JsonLogsHook
from kaizen_core.interrupts import InterruptMode
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool
from kaizen_otel import TraceContextFilter, current_ids

pytestmark = pytest.mark.anyio
log = logging.getLogger("tests.kaizen_otel.tool")


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def noisy(text: str) -> str:
    """Logs a line, then echoes."""
    log.warning("working on %s", text)
    return text


def _agent(recorded: Recorded, script: list[Any], tools: list[Any], **provider: Any) -> BaseAutonomousAgent:
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=4),
        "task -> summary",
        provider=MockProvider(script=script, **provider),
        tools=tools,
        agent_id="metered",
    )
    agent.hook_manager.register_hook(recorded.hook)
    return agent


async def test_token_usage_duration_and_cost_metrics_per_model_call(recorded: Recorded) -> None:
    agent = _agent(
        recorded,
        [tool_calls_reply(("noisy", {"text": "a"})), {"summary": "done"}],
        [noisy],
        cost_per_input_token=1e-6,
        cost_per_output_token=2e-6,
    )
    result = await agent.run_autonomous("t")
    usage = {p.attributes["gen_ai.token.type"]: p for p in recorded.points("gen_ai.client.token.usage")}
    assert set(usage) == {"input", "output"}
    assert usage["input"].sum == result["usage"]["input_tokens"] and usage["input"].count == 2
    assert usage["output"].sum == result["usage"]["output_tokens"]
    assert list(usage["input"].explicit_bounds)[:4] == [1, 4, 16, 64]  # the conventions' buckets
    attributes = usage["input"].attributes
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "mock"
    assert "kaizen.run.id" not in attributes  # bounded labels: no ids
    (duration,) = recorded.points("gen_ai.client.operation.duration")
    assert duration.count == 2 and duration.sum >= 0
    (cost,) = recorded.points("kaizen.gen_ai.client.cost")
    assert cost.value == pytest.approx(result["usage"]["cost_usd"]) and cost.value > 0


async def test_log_records_inside_a_tool_carry_the_tool_spans_ids(recorded: Recorded) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(TraceContextFilter())
    log.addHandler(handler)
    try:
        agent = _agent(recorded, [tool_calls_reply(("noisy", {"text": "a"})), {"summary": "done"}], [noisy])
        await agent.run_autonomous("t")
        log.warning("outside any run")
    finally:
        log.removeHandler(handler)
    inside, outside = records
    span = recorded.one("execute_tool")
    assert (inside.trace_id, inside.span_id) == (format(span.context.trace_id, "032x"), format(span.context.span_id, "016x"))
    assert (outside.trace_id, outside.span_id) == (None, None)
    assert current_ids() is None


async def test_json_log_lines_carry_the_ids_of_their_operations_spans(recorded: Recorded) -> None:
    """The core's structured logs (``json_logs``) with kaizen-otel active: each line names its span."""
    out = io.StringIO()
    agent = _agent(recorded, [tool_calls_reply(("noisy", {"text": "a"})), {"summary": "done"}], [noisy])
    agent.hook_manager.register_hook(JsonLogsHook(stream=out))
    await agent.run_autonomous("t")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    spans = {"run": recorded.one("invoke_agent"), "tool_call": recorded.one("execute_tool")}
    chats = recorded.spans("chat")
    for line in lines:
        assert line["trace_id"] == format(spans["run"].context.trace_id, "032x"), line
    for event, span in spans.items():
        (line,) = [line for line in lines if line["event"] == event]
        assert line["span_id"] == format(span.context.span_id, "016x")
    model_lines = [line["span_id"] for line in lines if line["event"] == "model_call"]
    assert model_lines == [format(c.context.span_id, "016x") for c in chats] and len(chats) == 2


async def test_a_tool_call_an_interrupt_cut_short_ends_with_its_run(recorded: Recorded) -> None:
    started = anyio.Event()

    @tool(danger_level=DangerLevel.SAFE, read_only=True)
    async def hang(text: str) -> str:
        """Never returns by itself."""
        started.set()
        await anyio.sleep_forever()
        return text

    agent = _agent(recorded, [tool_calls_reply(("hang", {"text": "a"})), {"summary": "done"}], [hang])
    agent.config.enable_interrupts = False  # no signal handlers in a test

    async def interrupt_when_started() -> None:
        await started.wait()
        agent.interrupt_manager.request_interrupt(mode=InterruptMode.IMMEDIATE, message="stop now")

    async with anyio.create_task_group() as tg:
        tg.start_soon(interrupt_when_started)
        with pytest.raises(AgentInterrupted):
            await agent.run_autonomous("t")
    run, tool_span = recorded.one("invoke_agent"), recorded.one("execute_tool")
    assert run.attributes["kaizen.status"] == "interrupted"
    assert tool_span.attributes["kaizen.status"] == "interrupted" and tool_span.end_time <= run.end_time
    assert tool_span.parent is not None and tool_span.parent.span_id == run.context.span_id
