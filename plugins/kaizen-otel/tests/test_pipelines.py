"""Pipelines: the children's spans nest under the pipeline's span, also when they run concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from otel_recorded import Recorded

from kaizen_core import BaseAgent, BaseAgentConfig
from kaizen_core.orchestration import Pipeline
from kaizen_core.providers.mock import MockProvider

pytestmark = pytest.mark.anyio


def _child(recorded: Recorded, agent_id: str) -> BaseAgent:
    agent = BaseAgent(
        BaseAgentConfig(llm_provider="mock"),
        "task -> answer",
        provider=MockProvider(script=[{"answer": f"from {agent_id}"}], script_order="calls"),
        agent_id=agent_id,
    )
    agent.hook_manager.register_hook(recorded.hook)
    return agent


def _children_of(recorded: Recorded, span: Any) -> list[Any]:
    return [s for s in recorded.spans() if s.parent is not None and s.parent.span_id == span.context.span_id]


def test_sequential_children_nest_under_their_steps_under_the_pipeline(recorded: Recorded) -> None:
    pipeline = Pipeline.sequential([_child(recorded, "writer"), _child(recorded, "editor")])
    pipeline.hook_manager.register_hook(recorded.hook)
    pipeline.run(task="write a haiku")
    runs = {s.attributes["gen_ai.agent.id"]: s for s in recorded.spans("invoke_agent")}
    top = runs.pop(pipeline.agent.agent_id)
    assert top.parent is None and set(runs) == {"writer", "editor"}
    steps = recorded.spans("pipeline_step")
    assert sorted(s.name for s in steps) == ["pipeline_step step-0", "pipeline_step step-1"]
    for step in steps:
        assert step.parent is not None and step.parent.span_id == top.context.span_id
        assert step.attributes["kaizen.pipeline.pattern"] == "sequential"
        assert step.attributes["kaizen.status"] == "success"
        (child_run,) = _children_of(recorded, step)
        assert child_run.name.startswith("invoke_agent ")
        assert child_run.attributes["kaizen.parent_run.id"] == step.attributes["kaizen.parent_run.id"]
        assert step.attributes["kaizen.child_run.id"] == child_run.attributes["kaizen.run.id"]
        assert [s.name.split()[0] for s in _children_of(recorded, child_run)] == ["chat"]
    assert len({s.context.trace_id for s in recorded.spans()}) == 1  # one trace for the whole pipeline


def test_parallel_children_of_one_agent_get_one_step_each(recorded: Recorded) -> None:
    worker = _child(recorded, "worker")
    worker.provider = MockProvider(script=[{"answer": "w"}] * 8, script_order="calls")
    pipeline = Pipeline.parallel([worker, worker, worker, worker], max_workers=4)
    pipeline.hook_manager.register_hook(recorded.hook)
    pipeline.run(task="t")
    top = next(s for s in recorded.spans("invoke_agent") if s.attributes["gen_ai.agent.id"] == pipeline.agent.agent_id)
    steps = [s for s in recorded.spans("pipeline_step") if s.attributes["gen_ai.agent.id"] == "worker"]
    assert len(steps) == 4 and len({s.attributes["kaizen.pipeline.step"] for s in steps}) == 4
    for step in steps:
        assert step.parent is not None and step.parent.span_id == top.context.span_id
        (child_run,) = _children_of(recorded, step)
        assert step.attributes["kaizen.child_run.id"] == child_run.attributes["kaizen.run.id"]


class _ElsewhereExecutor:
    """Runs each child in a fresh context, as another process would: nothing but the ChildRun's metadata crosses."""

    name = "elsewhere"

    def __init__(self) -> None:
        self.carried: list[dict[str, Any]] = []

    async def submit(self, child: Any) -> dict[str, Any]:
        import contextvars

        from kaizen_core.hooks.context import hook_metadata

        self.carried.append(dict(child.metadata))

        async def remote() -> dict[str, Any]:
            with hook_metadata(**child.metadata):
                return await child.agent.run_async(**child.inputs)

        task = asyncio.get_running_loop().create_task(remote(), context=contextvars.Context())
        return await task

    async def aclose(self) -> None:
        return None


def test_a_child_run_elsewhere_continues_the_trace_from_the_traceparent_it_carries(recorded: Recorded) -> None:
    executor = _ElsewhereExecutor()
    pipeline = Pipeline.sequential([_child(recorded, "remote-writer")], executor=executor)
    pipeline.hook_manager.register_hook(recorded.hook)
    pipeline.run(task="t")
    step = recorded.one("pipeline_step")
    child_run = next(s for s in recorded.spans("invoke_agent") if s.attributes["gen_ai.agent.id"] == "remote-writer")
    (carried,) = executor.carried
    assert carried["traceparent"].split("-")[1:3] == [format(step.context.trace_id, "032x"), format(step.context.span_id, "016x")]
    assert child_run.parent is not None and child_run.parent.span_id == step.context.span_id
    assert child_run.context.trace_id == step.context.trace_id
