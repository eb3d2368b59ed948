"""Config conversion (mappings strict, domain objects auto-extracted), the documented config fields,
structured-output settings, the A2A card's description, and the result of the blocking run()."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, BaseAutonomousAgent, InputField, OutputField, Signature
from kaizen_core.agents.results import AwaitedSyncResultError, RunResult
from kaizen_core.config import AutonomousConfig, KaizenConfig
from kaizen_core.errors import ConfigError
from kaizen_core.memory.buffer import BufferMemory, PersistentBufferMemory
from kaizen_core.providers.mock import MockProvider
from kaizen_core.structured_output import create_structured_output_config


class QA(Signature):
    """Answer the question."""

    question: str = InputField()
    answer: str = OutputField()


# --- conversion ---------------------------------------------------------------------------------
def test_a_mapping_with_an_unknown_key_is_refused_naming_it_and_the_fields() -> None:
    with pytest.raises(ConfigError) as info:
        BaseAgentConfig.from_any({"llm_provider": "mock", "max_token": 5, "colour": "red"})
    assert info.value.code == "KAIZEN_002"
    assert "colour, max_token" in info.value.message and "max_tokens" in (info.value.hint or "")
    assert info.value.details["fields"] == ["colour", "max_token"]


def test_autonomous_fields_in_a_mapping_for_a_base_agent_are_unknown() -> None:
    with pytest.raises(ConfigError, match="max_cycles"):
        BaseAgentConfig.from_any({"max_cycles": 3})
    assert AutonomousConfig.from_any({"max_cycles": 3}).max_cycles == 3


def test_domain_objects_contribute_only_their_config_fields() -> None:
    @dataclasses.dataclass
    class QAConfig:
        llm_provider: str = "mock"
        model: str = "m"
        answer_style: str = "short"

    class Settings:
        provider = "mock"
        temperature = 0.1
        unrelated = object()

    assert BaseAgentConfig.from_any(QAConfig()).model == "m"
    settings = BaseAgentConfig.from_any(Settings())
    assert (settings.llm_provider, settings.temperature) == ("mock", 0.1)


def test_log_level_is_case_insensitive_and_checked() -> None:
    assert BaseAgentConfig(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ConfigError, match="log_level"):
        BaseAgentConfig(log_level="LOUD")


def test_enable_metrics_adds_the_metrics_hook_once() -> None:
    config = BaseAgentConfig(enable_metrics=True, hooks=["metrics", "logging"])
    assert config.hooks == ["metrics", "logging"]
    assert BaseAgentConfig(enable_metrics=True, hooks=[{"name": "metrics", "max_samples": 5}]).hooks == [
        {"name": "metrics", "max_samples": 5}
    ]


def test_kaizen_config_cache_backend_is_memory_or_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    assert BaseAgentConfig.from_any(KaizenConfig(cache_enabled=True, cache_backend=url)).cache_storage == url
    with pytest.raises(ConfigError, match="needs its URL"):
        BaseAgentConfig.from_any(KaizenConfig(cache_backend="redis"))
    comprehensive = BaseAgentConfig.from_any(KaizenConfig(monitoring_level="comprehensive"))
    assert set(comprehensive.hooks) == {"profiler", "metrics"}


# --- memory from config and memory_backend ----------------------------------------------------------
def test_memory_comes_from_max_turns_enable_memory_memory_storage_or_memory_backend(tmp_path: Path) -> None:
    assert BaseAgent(BaseAgentConfig(llm_provider="mock"), QA()).memory is None
    assert isinstance(BaseAgent(BaseAgentConfig(llm_provider="mock", max_turns=3), QA()).memory, BufferMemory)
    auto = BaseAutonomousAgent(AutonomousConfig(llm_provider="mock", enable_memory=True, checkpoint_storage=None), QA())
    assert type(auto.memory) is BufferMemory
    stored = BaseAgent(BaseAgentConfig(llm_provider="mock", memory_storage=f"sqlite:///{tmp_path}/m.db"), QA())
    assert isinstance(stored.memory, PersistentBufferMemory)
    backend = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA(), memory_backend=f"sqlite:///{tmp_path}/m.db")
    assert isinstance(backend.memory, PersistentBufferMemory) and backend.memory.agent_id == backend.agent_id
    mine = BufferMemory(max_turns=2)
    assert BaseAgent(BaseAgentConfig(llm_provider="mock"), QA(), memory_backend=mine).memory is mine
    with pytest.raises(ConfigError, match="not both"):
        BaseAgent(BaseAgentConfig(llm_provider="mock"), QA(), memory=mine, memory_backend=mine)


def test_memory_backend_persists_the_conversation_for_the_next_agent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    first = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA(), agent_id="qa", memory_backend=url)
    first.run(question="My name is Alice", session_id="user123")
    first.close()
    provider = MockProvider()
    second = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA(), agent_id="qa", memory_backend=url, provider=provider)
    second.run(question="What's my name?", session_id="user123")
    contents = [m.content or "" for m in provider.requests[0].messages]
    assert any("My name is Alice" in c for c in contents)


def test_warm_tier_smaller_than_what_the_model_sees_is_refused() -> None:
    config = AutonomousConfig(llm_provider="mock", enable_memory=True, hot_tier_size=10, warm_tier_size=4)
    with pytest.raises(ConfigError, match="warm_tier_size"):
        BaseAutonomousAgent(config, QA())


# --- convergence threshold -------------------------------------------------------------------------
def test_convergence_threshold_needs_a_confidence_output(tmp_path: Path) -> None:
    config = AutonomousConfig(llm_provider="mock", convergence_threshold=0.8, checkpoint_storage=None)
    with pytest.raises(ConfigError, match="confidence"):
        BaseAutonomousAgent(config, QA()).run_autonomous_sync("q")


def test_the_last_cycle_answer_stands_below_the_threshold() -> None:
    config = AutonomousConfig(llm_provider="mock", convergence_threshold=0.9, max_cycles=2, checkpoint_storage=None)
    provider = MockProvider(script=[{"answer": "a", "confidence": 0.1}, {"answer": "b", "confidence": 0.2}])
    agent = BaseAutonomousAgent(config, "question -> answer, confidence: float", provider=provider)
    result = agent.run_autonomous_sync("q")
    assert (result["answer"], result["cycles_used"], result["stop_reason"]) == ("b", 2, "converged")


# --- structured output settings ---------------------------------------------------------------------
def test_response_format_with_another_schema_is_refused() -> None:
    other = {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}
    with pytest.raises(ConfigError, match="not the signature's output schema"):
        BaseAgent(BaseAgentConfig(llm_provider="mock", provider_config=other), QA())
    with pytest.raises(ConfigError, match="response_format"):
        BaseAgent(BaseAgentConfig(llm_provider="mock", provider_config={"response_format": "json"}), QA())
    with pytest.raises(ConfigError, match="letters, digits"):
        create_structured_output_config(QA, name="bad name!")


def test_response_format_is_the_agents_not_the_providers() -> None:
    config = BaseAgentConfig(llm_provider="mock", provider_config={**create_structured_output_config(QA), "script": []})
    agent = BaseAgent(config, QA())  # the mock provider would refuse an unknown response_format option
    assert agent.structured_output is not None and agent.structured_output.name == "QA"


# --- A2A card --------------------------------------------------------------------------------------
def test_capability_describes_the_card_and_the_signature_skill_keeps_the_instructions() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA())
    assert agent.to_a2a_card()["description"] == "Answer the question."
    agent.capability = "  Trivia  "  # type: ignore[attr-defined]
    card = agent.to_a2a_card()
    assert card["description"] == "Trivia"
    assert card["skills"][0]["description"].startswith("Answer the question.")


# --- RunResult -------------------------------------------------------------------------------------
def test_run_returns_a_plain_behaving_dict() -> None:
    result = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA()).run(question="q")
    assert isinstance(result, RunResult) and isinstance(result, dict)
    assert json.loads(json.dumps(result, default=str))["answer"] == result["answer"]
    assert result == dict(result)
    assert type(pickle.loads(pickle.dumps(result))) is dict


def test_awaiting_the_result_of_run_is_a_clear_error() -> None:
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), QA())

    async def mistaken() -> None:
        await agent.run(question="q")

    with pytest.raises(AwaitedSyncResultError) as info:
        asyncio.run(mistaken())
    assert info.value.code == "EXEC_003" and isinstance(info.value, TypeError)
    assert "await agent.run_async(" in str(info.value)

    async def right() -> str:
        return (await agent.run_async(question="q"))["answer"]

    assert isinstance(asyncio.run(right()), str)
