"""The response cache (cache_enabled, cache_ttl, cache_key_strategy, cache_storage): an identical
request is answered once, on any memory tier, with an injected clock for expiry."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, BaseAutonomousAgent, InputField, OutputField, Signature
from kaizen_core.agents.response_cache import ResponseCache
from kaizen_core.config import AutonomousConfig
from kaizen_core.errors import ConfigError, MemoryBackendError, ProviderError
from kaizen_core.memory.hot import HotMemoryTier
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.mock import tool_calls_reply as calls
from kaizen_core.tools import tool


class QA(Signature):
    """Answer the question."""

    question: str = InputField(desc="The question")
    answer: str = OutputField(desc="The answer")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def cached_agent(provider: MockProvider | None = None, **config: Any) -> BaseAgent:
    cfg = BaseAgentConfig(llm_provider="mock", cache_enabled=True, **config)
    return BaseAgent(cfg, QA(), provider=provider or MockProvider(cost_per_input_token=0.01))


def test_an_identical_request_is_answered_from_the_cache_at_no_cost() -> None:
    provider = MockProvider(script=[{"answer": "42"}], cost_per_input_token=0.01)
    agent = cached_agent(provider)
    first = agent.run(question="meaning of life?")
    second = agent.run(question="meaning of life?")
    assert first["answer"] == second["answer"] == "42"
    assert len(provider.requests) == 1  # the model was asked once
    assert first["_meta"]["cost"] > 0 and second["_meta"]["cost"] == 0.0
    assert second["_meta"]["usage"]["total_tokens"] == 0
    stats = agent.response_cache.stats()  # type: ignore[union-attr]
    assert (stats.hits, stats.misses, stats.stores) == (1, 1, 1)


def test_anything_that_changes_the_request_is_a_different_entry() -> None:
    provider = MockProvider()
    agent = cached_agent(provider)
    agent.run(question="a")
    agent.run(question="b")
    hotter = BaseAgent(
        BaseAgentConfig(llm_provider="mock", cache_enabled=True, temperature=0.9), QA(), provider=provider
    )
    hotter.response_cache = agent.response_cache  # same entries, different params
    hotter.run(question="a")
    assert len(provider.requests) == 3


def test_the_key_covers_messages_schema_tools_params_model_provider_and_options() -> None:
    agent = cached_agent()
    from kaizen_core.agents.run import AgentRun

    run = AgentRun(agent=agent, run_id="r", inputs={"question": "q"}, messages=[])
    from kaizen_core.agents.prompting import initial_messages
    from kaizen_core.providers.types import ToolDefinition

    run.messages = initial_messages(agent.signature, {"question": "q"})
    base = run.request()
    key = ResponseCache.key(base, provider="mock")
    variants = [
        ResponseCache.key(base.model_copy(update={"messages": base.messages[:1]}), provider="mock"),
        ResponseCache.key(base.model_copy(update={"output_schema": None}), provider="mock"),
        ResponseCache.key(base.model_copy(update={"schema_name": "other"}), provider="mock"),
        ResponseCache.key(base.model_copy(update={"tools": [ToolDefinition(name="t")]}), provider="mock"),
        ResponseCache.key(
            base.model_copy(update={"params": base.params.model_copy(update={"seed": 1})}), provider="mock"
        ),
        ResponseCache.key(base.model_copy(update={"model": "other-model"}), provider="mock"),
        ResponseCache.key(base, provider="openai"),
        ResponseCache.key(base, provider="mock", options={"script": []}),
    ]
    assert len({key, *variants}) == len(variants) + 1
    # how long to wait is not part of the answer
    patient = base.model_copy(update={"params": base.params.model_copy(update={"timeout": 999.0})})
    assert ResponseCache.key(patient, provider="mock") == key


def test_entries_expire_after_cache_ttl_on_the_cache_clock() -> None:
    provider = MockProvider()
    agent = cached_agent(provider, cache_ttl=60)
    clock = Clock()
    agent.response_cache = ResponseCache("memory://", ttl=60, clock=clock)
    agent.run(question="q")
    clock.now += 59
    agent.run(question="q")
    assert len(provider.requests) == 1
    clock.now += 2  # 61 s after it was stored
    agent.run(question="q")
    assert len(provider.requests) == 2
    clock.now += 30  # the refreshed entry is valid again
    agent.run(question="q")
    assert len(provider.requests) == 2


def test_no_ttl_means_no_expiry() -> None:
    clock = Clock()
    agent = cached_agent(cache_ttl=None)
    agent.response_cache = ResponseCache("memory://", ttl=None, clock=clock)
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    agent.run(question="q")
    clock.now += 10**9
    agent.run(question="q")
    assert len(provider.requests) == 1


def test_a_sqlite_cache_is_shared_by_agents_and_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cache.db"
    first, second = MockProvider(script=[{"answer": "from the model"}]), MockProvider(script=[{"answer": "other"}])
    cached_agent(first, cache_storage=url).run(question="q")
    result = cached_agent(second, cache_storage=url).run(question="q")
    assert result["answer"] == "from the model" and second.requests == []


def test_the_cache_is_off_by_default_and_unknown_strategies_are_refused() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA())
    assert agent.response_cache is None
    with pytest.raises(ConfigError, match="cache_key_strategy"):
        BaseAgentConfig(cache_key_strategy="semantic")


def test_streamed_calls_are_cached_too() -> None:
    provider = MockProvider()
    agent = cached_agent(provider, stream=True)
    agent.run(question="q")
    agent.run(question="q")
    assert len(provider.requests) == 1


def test_failed_calls_are_not_cached() -> None:
    provider = MockProvider(script=[{"error": {"message": "overloaded", "status": 503}}, {"answer": "ok"}])
    agent = cached_agent(provider, retry_attempts=0)
    with pytest.raises(ProviderError):
        agent.run(question="q")
    assert agent.response_cache.stats().stores == 0  # type: ignore[union-attr]


def test_tool_loop_turns_are_cached_and_the_tools_still_run() -> None:
    ran: list[str] = []

    @tool
    def lookup(term: str) -> str:
        """Look a term up."""
        ran.append(term)
        return f"{term}: found"

    def make(provider: MockProvider) -> BaseAutonomousAgent:
        config = AutonomousConfig(llm_provider="mock", cache_enabled=True, checkpoint_storage=None)
        return BaseAutonomousAgent(config, "task -> summary", provider=provider, tools=[lookup])

    provider = MockProvider(script=[calls(("lookup", {"term": "x"})), {"summary": "done"}])
    agent = make(provider)
    assert agent.run_autonomous_sync("find x")["summary"] == "done"
    again = agent.run_autonomous_sync("find x")
    assert again["summary"] == "done" and len(provider.requests) == 2  # both turns from the cache
    assert ran == ["x", "x"]  # a cached reply that calls a tool still runs the tool (through the gate)


class BrokenTier(HotMemoryTier):
    async def get(self, key: str) -> Any:
        raise MemoryBackendError("cache tier unreachable")

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        raise MemoryBackendError("cache tier unreachable")


def test_a_cache_outage_does_not_fail_the_run(caplog: pytest.LogCaptureFixture) -> None:
    provider = MockProvider()
    agent = cached_agent(provider)
    agent.response_cache = ResponseCache(BrokenTier("cache"))
    with caplog.at_level(logging.WARNING, logger="kaizen_core.agents.response_cache"):
        assert isinstance(agent.run(question="q")["answer"], str)
        agent.run(question="q")
    assert len(provider.requests) == 2
    assert agent.response_cache.stats().errors == 4  # type: ignore[union-attr]
    assert "cache tier unreachable" in caplog.text


def test_closing_the_agent_closes_the_cache_tier_and_a_later_run_opens_it_again(tmp_path: Path) -> None:
    provider = MockProvider()
    agent = cached_agent(provider, cache_storage=f"sqlite:///{tmp_path}/cache.db")
    agent.run(question="q")
    first = agent.response_cache
    agent.close()
    assert agent._response_cache is None
    agent.run(question="q")  # a new cache on the same store: still a hit
    assert agent.response_cache is not first and len(provider.requests) == 1
    agent.close()
