"""ConversationBackend (the docs' DataFlowBackend): turns per conversation in any store, search, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaizen_core.errors import ConfigError, MemoryValueError
from kaizen_core.memory.backends import ConversationBackend, DataFlowBackend
from kaizen_core.memory.storage import FileStorage, SQLiteStorage


@pytest.mark.parametrize("kind", ["sqlite", "file", "memory"])
def test_turns_round_trip_in_order_and_search(tmp_path: Path, kind: str) -> None:
    store = {"sqlite": SQLiteStorage(db_path=tmp_path / "c.db"), "file": FileStorage(tmp_path / "c.jsonl"), "memory": "memory://"}[kind]
    backend = ConversationBackend(store, model_name="ConversationMessage")
    for i in range(5):
        backend.save_turn("session_123", {"sender": "user", "content": f"question {i} about quantum computing"})
    backend.save_turn("other/with slash", {"user": "Hello", "agent": "Hi"})
    backend.save_turn("session_1", "a plain string turn about gardening")
    turns = backend.load_turns("session_123", limit=3)
    assert [t["content"] for t in turns] == [f"question {i} about quantum computing" for i in (2, 3, 4)]
    assert len(backend.load_turns("session_123")) == 5 and backend.load_turns("session_123", limit=0) == []
    assert backend.load_turns("other/with slash") == [{"user": "Hello", "agent": "Hi"}]
    assert backend.load_turns("session_1") == ["a plain string turn about gardening"]  # not session_123's turns
    results = backend.search_conversations(query="quantum computing", limit=2)
    assert len(results) == 2 and {r["conversation_id"] for r in results} == {"session_123"}
    assert results[0]["score"] >= results[1]["score"]
    (hello,) = backend.search_conversations("hello")
    assert hello == {"conversation_id": "other/with slash", "turn": {"user": "Hello", "agent": "Hi"}, "score": hello["score"]}
    assert backend.conversations() == ["other/with slash", "session_1", "session_123"]
    assert backend.delete_conversation("session_123") == 5
    assert backend.load_turns("session_123") == [] and backend.delete_conversation("session_123") == 0
    backend.close()


def test_model_name_is_the_namespace_and_turns_persist(tmp_path: Path) -> None:
    db = SQLiteStorage(db_path=tmp_path / "p.db")
    DataFlowBackend(db, model_name="ConversationMessage").save_turn("s", {"content": "kept"})
    assert DataFlowBackend(db, model_name="ConversationMessage").load_turns("s") == [{"content": "kept"}]
    assert ConversationBackend(db, model_name="AgentMemory").load_turns("s") == []


def test_max_turns_per_conversation_keeps_the_newest() -> None:
    backend = ConversationBackend("memory://", max_turns_per_conversation=2)
    for i in range(4):
        backend.save_turn("s", {"content": str(i)})
    assert backend.load_turns("s") == [{"content": "2"}, {"content": "3"}]


def test_bad_input() -> None:
    backend = ConversationBackend("memory://")
    for call in (
        lambda: backend.save_turn("", {"content": "x"}),
        lambda: backend.save_turn("s", {"content": {1, 2}}),
        lambda: backend.save_turn("s", 42),
        lambda: backend.load_turns("s", limit=-1),
        lambda: backend.search_conversations(None),
    ):
        with pytest.raises(MemoryValueError):
            call()  # type: ignore[no-untyped-call]
    with pytest.raises(ConfigError):
        ConversationBackend()
    with pytest.raises(ConfigError):
        ConversationBackend("memory://", max_turns_per_conversation=0)


def test_as_agent_memory_backend_the_conversation_persists(tmp_path: Path) -> None:
    from kaizen_core import BaseAgent, BaseAgentConfig
    from kaizen_core.providers.mock import MockProvider

    db = SQLiteStorage(db_path=tmp_path / "agent.db")
    backend = ConversationBackend(db, model_name="AgentMemory")
    backend.save_turn("user123", {"sender": "user", "content": "I live in Lyon"})
    provider = MockProvider(script=[{"answer": "Noted"}])
    agent = BaseAgent(BaseAgentConfig(llm_provider="mock"), "question -> answer", provider=provider, memory_backend=backend)
    assert agent.memory is backend
    agent.run(question="What is AI?", session_id="user123")
    assert [m.content for m in provider.requests[-1].messages if m.role == "user"] == ["I live in Lyon", "question: What is AI?"]
    assert backend.load_turns("user123")[-1] == {"user": "question: What is AI?", "agent": '{"answer": "Noted"}'}
    agent.run(question="no session")
    assert len(backend.load_turns("user123")) == 2
