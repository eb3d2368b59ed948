"""Hooks on agents: every agent's hook manager, what each run fires, pairing across concurrent tool calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import AutonomousConfig, BaseAgent, BaseAgentConfig, BaseAutonomousAgent
from kaizen_core.errors import AgentInterrupted, ProviderError
from kaizen_core.hooks import HookContext, HookEvent, HookManager
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.state import StateManager
from kaizen_core.tools import DangerLevel, tool

pytestmark = pytest.mark.anyio
E = HookEvent


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def slow_echo(text: str, wait: float) -> str:
    """Echo text after waiting."""
    await asyncio.sleep(wait)
    return text


def test_an_agent_has_no_hook_manager_until_asked_and_then_always_the_same() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer")
    assert agent._hooks is None  # a plain run does no hook work at all
    agent.run(question="q")
    assert agent._hooks is None
    manager = agent.hook_manager
    assert isinstance(manager, HookManager) and agent._hook_manager is manager and agent.hook_manager is manager
    seen: list[str] = []
    agent._hook_manager.register(E.POST_AGENT_LOOP, lambda ctx: seen.append(ctx.metadata["status"]))
    agent.run(question="q")
    assert seen == ["success"]
    other = HookManager()
    agent.hook_manager = other
    assert agent.hook_manager is other
    agent.run(question="q")
    assert seen == ["success"]  # the old manager is no longer the agent's


def test_a_configured_hook_timeout_applies_to_the_lazy_manager() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", hook_timeout=1.5), "question -> answer")
    assert agent.hook_manager.default_timeout == 1.5


async def test_a_state_manager_given_without_hooks_fires_the_agents_hooks(tmp_path: Path) -> None:
    state = StateManager(f"file://{tmp_path}")
    agent = BaseAutonomousAgent(AutonomousConfig(llm_provider="mock"), "task -> summary", state_manager=state)
    saved: list[str] = []
    agent.hook_manager.register(E.POST_CHECKPOINT_SAVE, lambda ctx: saved.append(ctx.metadata["checkpoint_id"]))
    result = await agent.run_autonomous("t")
    assert saved and saved[-1] == result["checkpoint_id"]
    assert state.hook_manager is agent.hook_manager


async def test_post_agent_loop_ends_failed_and_interrupted_runs_too() -> None:
    hooks = HookManager()
    ends: list[HookContext] = []
    errors: list[HookContext] = []
    hooks.register(E.POST_AGENT_LOOP, ends.append)
    hooks.register(E.ON_ERROR, errors.append)
    failing = MockProvider(script=[{"error": {"status": 503, "message": "overloaded"}}])
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=failing, hook_manager=hooks)
    with pytest.raises(ProviderError) as info:
        await agent.run_async(question="q")
    (end,) = ends
    assert end.metadata["status"] == "error" and end.metadata["error"] is info.value and end.metadata["result"] is None
    assert end.metadata["action"] == "run" and end.duration_ms is not None
    (error,) = errors
    assert error.metadata["error"] is info.value and error.metadata["error_code"] == "AGENT_004"
    assert error.metadata["error_type"] == "ProviderError" and "Traceback" in error.metadata["traceback"]

    slow = MockProvider(script=[{"delay": 30, "answer": "late"}])
    stopping = BaseAgent(
        BaseAgentConfig(llm_provider="mock", enable_interrupts=False), "question -> answer", provider=slow, hook_manager=hooks
    )
    interrupts = stopping.interrupt_manager  # exists before the run: the run is watched

    def stop_now(ctx: HookContext) -> None:
        interrupts.request_interrupt("user", "immediate", "stop")

    hooks.register(E.PRE_AGENT_LOOP, stop_now)
    with pytest.raises(AgentInterrupted):
        await stopping.run_async(question="q")
    assert ends[-1].metadata["status"] == "interrupted" and ends[-1].agent_id == stopping.agent_id


async def test_concurrent_tool_calls_pair_their_own_pre_and_post() -> None:
    """SAFE tools of one cycle run at once: each POST_TOOL_CALL gets its own PRE's metadata."""
    script = [
        tool_calls_reply(("slow_echo", {"text": "slow", "wait": 0.05}), ("slow_echo", {"text": "fast", "wait": 0})),
        {"summary": "done"},
    ]
    config = AutonomousConfig(llm_provider="mock", checkpoint_storage=None, provider_config={"script": script})
    agent = BaseAutonomousAgent(config, "task -> summary", tools=[slow_echo])
    finished: list[tuple[str, str, str]] = []
    agent.hook_manager.register(E.PRE_TOOL_CALL, lambda ctx: ctx.metadata.update(started_for=ctx.metadata["arguments"]["text"]))
    agent.hook_manager.register(
        E.POST_TOOL_CALL, lambda ctx: finished.append((ctx.metadata["started_for"], ctx.metadata["result"], ctx.metadata["status"]))
    )
    await agent.run_autonomous("t")
    assert finished == [("fast", "fast", "success"), ("slow", "slow", "success")]  # fast one ends first


def test_every_run_event_carries_cycle_and_cost() -> None:
    provider = MockProvider(cost_per_input_token=0.001)
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=provider)
    seen: list[dict[str, Any]] = []
    for event in (E.PRE_AGENT_LOOP, E.POST_AGENT_LOOP):
        agent.hook_manager.register(event, lambda ctx: seen.append(dict(ctx.metadata)), name=f"r-{event.value}")
    result = agent.run(question="q")
    pre, post = seen
    assert (pre["cycle"], pre["cost_usd"], pre["action"], pre["inputs"]) == (0, 0.0, "run", {"question": "q"})
    assert post["cost_usd"] == pytest.approx(result["_meta"]["cost"]) and post["cost_usd"] > 0
    assert post["result"] == {"answer": result["answer"]} and post["usage"] == result["_meta"]["usage"]


def test_a_subclass_may_set_its_hook_manager_before_base_init() -> None:
    class Preset(BaseAgent):
        def __init__(self) -> None:
            self.hook_manager = HookManager()  # before BaseAgent.__init__: no memory or state yet
            preset = self.hook_manager
            super().__init__(BaseAgentConfig(llm_provider="mock"), "question -> answer", hook_manager=preset)

    agent = Preset()
    seen: list[str] = []
    agent.hook_manager.register(E.POST_AGENT_LOOP, lambda ctx: seen.append(ctx.metadata["status"]))
    agent.run(question="q")
    assert seen == ["success"]
