"""The worker's own logic, in this process (no cluster): what a Ray actor would do with its calls,
in an order the cluster cannot be made to produce on demand."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kaizen_core import BaseAgent
from kaizen_core.errors import AgentInterrupted
from kaizen_core.orchestration import AgentSpec
from kaizen_ray.worker import AgentWorker, ChildRequest, locator_stream


def request(agent: BaseAgent, child_id: str) -> ChildRequest:
    spec = AgentSpec.from_agent(agent)
    return ChildRequest(child_id=child_id, spec=spec, spec_key=spec.fingerprint, inputs={"question": "q"}, metadata={})


def test_an_interrupt_that_arrives_before_its_child_starts_still_stops_it() -> None:
    agent = BaseAgent(
        {"llm_provider": "mock", "provider_config": {"script": [{"delay": 3600, "answer": "late"}]}},
        "question: str -> answer: str",
        agent_id="early",
    )
    worker = AgentWorker()
    queued = request(agent, "run-1-agent-0")
    assert worker.interrupt(queued.child_id, queued.token, "user", "graceful", "stop", {}) is False
    reply = asyncio.run(worker.run(queued))
    assert isinstance(reply.error, AgentInterrupted)
    # ...but not a later submission of the same child (a resumed parent run)
    again = request(agent.__class__({"llm_provider": "mock"}, "question: str -> answer: str", agent_id="early"), queued.child_id)
    assert asyncio.run(worker.run(again)).result is not None


def test_a_child_is_resumed_from_the_checkpoint_its_locator_stream_names(tmp_path: Path) -> None:
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.config import AutonomousConfig

    config = AutonomousConfig(llm_provider="mock", checkpoint_storage=f"file://{tmp_path}", permission_mode="bypass")
    agent = BaseAutonomousAgent(config, "task: str -> summary: str", agent_id="auto")
    spec = AgentSpec.from_agent(agent)
    worker = AgentWorker()
    first = ChildRequest(child_id="p-item-0", spec=spec, spec_key=spec.fingerprint, inputs={"task": "t"}, metadata={})
    done = asyncio.run(worker.run(first))
    assert done.error is None and done.resumed_from is None
    # the worker noted every checkpoint of the child in the agent's own store
    entries = asyncio.run(agent.state_manager.journal_read(locator_stream("auto", "p-item-0")))
    assert entries and all(e["checkpoint_id"] for e in entries)
    # a retry of that child (its first worker died after finishing) resumes: the completed checkpoint's result
    retry = ChildRequest(child_id="p-item-0", spec=spec, spec_key=spec.fingerprint, inputs={"task": "t"}, metadata={}, attempt=1)
    again = asyncio.run(worker.run(retry))
    assert again.resumed_from == entries[-1]["checkpoint_id"]
    assert again.result is not None and again.result["summary"] == done.result["summary"]
