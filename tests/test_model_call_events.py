"""PRE/POST_MODEL_CALL: every provider call of a run is bracketed by a pair of events."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen_core import AutonomousConfig, BaseAgent, BaseAgentConfig, BaseAutonomousAgent
from kaizen_core.errors import ProviderError
from kaizen_core.hooks import HookContext, HookEvent
from kaizen_core.providers.mock import MockProvider, tool_calls_reply
from kaizen_core.tools import DangerLevel, tool

pytestmark = pytest.mark.anyio
E = HookEvent


@tool(danger_level=DangerLevel.SAFE, read_only=True)
async def shout(text: str) -> str:
    """Upper-case text."""
    return text.upper()


def _record(agent: BaseAgent) -> list[HookContext]:
    seen: list[HookContext] = []

    def pre(context: HookContext) -> None:
        context.metadata["opened"] = len(seen)  # the matching POST sees what its PRE wrote
        seen.append(context)

    agent.hook_manager.register(E.PRE_MODEL_CALL, pre)
    agent.hook_manager.register(E.POST_MODEL_CALL, seen.append)
    return seen


def test_a_single_shot_run_fires_one_pair_with_usage() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock", model="mock-1"), "question -> answer")
    seen = _record(agent)
    result = agent.run(question="q")
    assert [c.event for c in seen] == [E.PRE_MODEL_CALL, E.POST_MODEL_CALL]
    pre, post = seen
    assert post.metadata["opened"] == 0 and pre.run_id == post.run_id
    assert pre.metadata["provider"] == "mock" and pre.metadata["model"] == "mock-1"
    assert post.metadata["error"] is None and post.duration_ms is not None
    usage = post.metadata["usage"]
    assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"] > 0
    assert result["answer"]


async def test_an_autonomous_run_fires_a_pair_per_call_whose_tokens_sum_to_the_runs_usage() -> None:
    provider = MockProvider(
        script=[
            tool_calls_reply(("shout", {"text": "a"})),
            tool_calls_reply(("shout", {"text": "b"})),
            {"summary": "done"},
        ]
    )
    agent = BaseAutonomousAgent(
        AutonomousConfig(llm_provider="mock", max_cycles=5), "task -> summary", provider=provider, tools=[shout]
    )
    seen = _record(agent)
    result = await agent.run_autonomous("t")
    posts = [c for c in seen if c.event is E.POST_MODEL_CALL]
    assert len(posts) == len([c for c in seen if c.event is E.PRE_MODEL_CALL]) == 3
    assert sorted(c.metadata["opened"] for c in posts) == [0, 2, 4]
    assert sum(c.metadata["usage"]["total_tokens"] for c in posts) == result["usage"]["total_tokens"]


class _Failing(MockProvider):
    async def complete(self, request: Any) -> Any:
        raise ProviderError("the model is down")


def test_a_failed_call_fires_post_with_the_error() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=_Failing())
    seen = _record(agent)
    with pytest.raises(ProviderError):
        agent.run(question="q")
    post = seen[-1]
    assert post.event is E.POST_MODEL_CALL
    assert post.metadata["error_type"] == "ProviderError" and isinstance(post.metadata["error"], ProviderError)
