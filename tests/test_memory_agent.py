"""Memory attached to an agent: ``agent.memory`` / ``agent._memory``, recall before a run, remember after."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.errors import ConfigError
from kaizen_core.memory import BufferMemory, LongTermMemory, PersistentBufferMemory, SemanticMemory
from kaizen_core.memory.storage import SQLiteStorage
from kaizen_core.providers.mock import MockProvider


class QASignature(Signature):
    """Answer the question."""

    question: str = InputField(desc="the question")
    answer: str = OutputField(desc="the answer")


def agent_with(provider: MockProvider, **config: object) -> BaseAgent:
    return BaseAgent(BaseAgentConfig(llm_provider="mock", **config), QASignature(), provider=provider)  # type: ignore[arg-type]


def system_texts(provider: MockProvider) -> list[str]:
    return [m.content or "" for m in provider.requests[-1].messages if m.role == "system"]


def test_underscore_memory_is_the_same_attribute_as_memory() -> None:
    agent = agent_with(MockProvider())
    assert agent.memory is None and agent._memory is None
    memory = BufferMemory(max_turns=3)
    agent._memory = memory
    assert agent.memory is memory
    agent.memory = None
    assert agent._memory is None
    with pytest.raises(ConfigError, match="arecall"):
        agent._memory = {"not": "a memory"}
    with pytest.raises(ConfigError):
        BaseAgent(BaseAgentConfig(llm_provider="mock"), QASignature(), memory=object())


def test_long_term_memory_is_recalled_and_the_turn_remembered(tmp_path: Path) -> None:
    long_term = LongTermMemory(storage_backend=SQLiteStorage(db_path=tmp_path / "m.db"))
    long_term.add(content={"user_name": "Alice", "preferences": {"style": "formal"}}, importance=0.9, tags=["user_profile"])
    long_term.add("Deploys happen on Fridays", importance=0.3)
    provider = MockProvider(script=[{"answer": "You prefer formal communication"}])
    agent = agent_with(provider)
    agent._memory = long_term
    result = agent.run(question="What's my communication style?")
    assert result["answer"] == "You prefer formal communication"
    (recalled,) = [t for t in system_texts(provider) if "remember" in t]
    assert "preferences: style: formal" in recalled and "Fridays" not in recalled
    (turn,) = [e for e in long_term.all() if "conversation" in e.tags]
    assert turn.content == {
        "user": "question: What's my communication style?",
        "assistant": '{"answer": "You prefer formal communication"}',
    }
    # the next run (a new agent, the same store) recalls the remembered conversation too
    provider2 = MockProvider()
    agent2 = agent_with(provider2)
    agent2.memory = LongTermMemory(storage_backend=SQLiteStorage(db_path=tmp_path / "m.db"))
    agent2.run(question="communication style again?")
    assert "You prefer formal communication" in " ".join(system_texts(provider2))


def test_nothing_recalled_adds_no_message() -> None:
    provider = MockProvider()
    agent = agent_with(provider)
    agent.memory = LongTermMemory("memory://")
    agent.run(question="zebra")
    assert not any("remember" in t for t in system_texts(provider))


def test_buffer_memory_needs_a_session_and_keeps_its_turns() -> None:
    provider = MockProvider(script=[{"answer": "Hi Alice"}, {"answer": "Alice"}, {"answer": "?"}])
    agent = agent_with(provider, max_turns=5)
    assert isinstance(agent.memory, BufferMemory)
    agent.run(question="My name is Alice", session_id="user123")
    agent.run(question="What's my name?", session_id="user123")
    contents = [m.content for m in provider.requests[-1].messages]
    assert "question: My name is Alice" in contents
    agent.run(question="no session")
    assert "question: My name is Alice" not in [m.content for m in provider.requests[-1].messages]
    memory = agent.memory
    assert isinstance(memory, BufferMemory)
    assert [m.content for m in memory.get_turns("user123")][::2] == ["question: My name is Alice", "question: What's my name?"]


def test_persistent_buffer_as_agent_memory_survives_a_new_agent(tmp_path: Path) -> None:
    db = SQLiteStorage(db_path=tmp_path / "conv.db")
    first = agent_with(MockProvider(script=[{"answer": "noted"}]))
    first.memory = PersistentBufferMemory(db=db, agent_id="support")
    first.run(question="My order is 42", session_id="c1")
    first.memory.close()
    provider = MockProvider()
    second = agent_with(provider)
    second.memory = PersistentBufferMemory(db=db, agent_id="support")
    second.run(question="Which order?", session_id="c1")
    assert "question: My order is 42" in [m.content for m in provider.requests[-1].messages]


def test_semantic_memory_recalls_by_similarity() -> None:
    embedder = MockProvider()
    memory = SemanticMemory("memory://", embedding_provider=embedder)
    memory.recall_min_similarity = 0.99  # the mock's vectors match identical text only
    memory.add("question: which port does the API use?")
    memory.add("the office is closed on Mondays")
    provider = MockProvider()
    agent = agent_with(provider)
    agent.memory = memory
    agent.run(question="which port does the API use?")
    recalled = " ".join(system_texts(provider))
    assert "which port does the API use" in recalled and "Mondays" not in recalled
