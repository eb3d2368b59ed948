"""The original docs' Memory (and learning) examples, run as written.

Each test copies one example. Imports are translated (``kaizen.memory`` ->
``kaizen_core.memory``, ``kaizen.memory.storage`` / ``.learning`` -> the same under
``kaizen_core.memory``, ``kaizen.memory.tiers`` / ``.persistent_tiers`` ->
``kaizen_core.memory``, ``kaizen.core.base_agent`` -> ``kaizen_core``; ``llm_provider="mock"``)
and the documented outcome is checked. Relative paths land in the test's temporary directory.

Two things have no import to translate, and are translated as docs/memory.md says:

* DataFlow is a separate product: ``db = DataFlow(database_type="sqlite",
  database_config={"database": PATH})`` becomes ``db = SQLiteStorage(db_path=PATH)``,
  ``DataFlow(database_url=URL)`` becomes ``PostgreSQLStorage(URL)`` (a real PostgreSQL from
  the test harness stands for the docs' ``postgresql://localhost/...``), and the
  ``@db.model`` classes (a table schema the memory stores do not need) are left out.
  ``DataFlowBackend`` (``kaizen_core.memory.backends``) takes that storage backend as ``db``.
* ``SimpleQAAgent`` / ``QAConfig`` are not part of kaizen_core: a minimal stand-in is
  defined below ("not in the example").

Names an example uses without defining them (``config``, ``signature``, ``value``) are
defined before it, marked "not in the example".
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import kaizen_core
from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.providers import BaseProvider, Embeddings
from kaizen_core.providers.mock import MockProvider

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# -- not in the examples: stand-ins for what the examples take from elsewhere -------------------
class QASignature(Signature):
    """Answer the question, using the conversation context when given."""

    question: str = InputField(desc="The question")
    context: list[Any] = InputField(desc="Earlier messages of the conversation", default=[])
    answer: str = OutputField(desc="The answer")


@dataclasses.dataclass
class QAConfig:
    """A domain config (the docs' ``QAConfig``): fields named like BaseAgentConfig's are picked."""

    llm_provider: str = "mock"
    model: str = "mock-model"
    max_turns: int | None = None


class SimpleQAAgent(BaseAgent):
    """Stand-in for the docs' ``SimpleQAAgent`` (not part of kaizen_core): QA with ``ask``.

    ``agent_id`` is fixed so a restarted agent finds its history (BaseAgent's default id is random).
    """

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config=config, signature=QASignature(), agent_id="simple_qa_agent", **kwargs)

    def ask(self, question: str, session_id: str | None = None) -> dict[str, Any]:
        return self.run(question=question, session_id=session_id)


class WordEmbedder(BaseProvider):
    """A tiny real embedding model (word counts over a few topics), standing in for the installed
    kaizen-sentence-transformers plugin the semantic-search example needs."""

    name = "word-embedder"
    supports_embeddings = True
    TOPICS = [
        {"user", "preferences", "preference", "style", "formal", "alice", "name"},
        {"question", "what", "ai", "answer"},
        {"file", "read", "tool", "error", "reading", "existence"},
    ]

    def __init__(self, model: str | None = "words-v1", **options: Any) -> None:
        super().__init__(model=model, **options)

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        vectors = []
        for text in texts:
            words = re.findall(r"[a-z]+", text.lower())
            vectors.append([float(sum(w in topic for w in words)) + 0.01 for topic in self.TOPICS])
        return Embeddings(vectors=vectors, model=self.model)


@pytest.fixture
def embedding_plugin_installed(kaizen_plugin: Any) -> None:
    class Plugin:
        @kaizen_core.hookimpl
        def register_providers(self, register: Any) -> None:
            register("word-embedder", WordEmbedder, capabilities=["embed"], embedding_priority=1)

    kaizen_plugin(Plugin(), name="word-embedder-plugin")


def requests_text(agent: BaseAgent) -> str:
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    return "\n".join(m.content or "" for m in provider.requests[-1].messages)


# -- quick-reference.md -----------------------------------------------------------------------
def _persistent_buffer_memory_example() -> dict[str, Any]:
    # --- the example (quick-reference.md; DataFlow translated) ---------------------------------
    from kaizen_core.memory import PersistentBufferMemory
    from kaizen_core.memory.storage import SQLiteStorage  # was: from dataflow import DataFlow

    # Initialize DataFlow backend (automatic schema creation)
    db = SQLiteStorage(db_path="./agent_memory.db")  # was: DataFlow(database_type="sqlite", database_config={...})

    # Create persistent buffer memory
    memory = PersistentBufferMemory(
        db=db,
        agent_id="agent_001",
        buffer_size=100,  # Keep last 100 messages in memory
        auto_persist_interval=10,  # Auto-persist every 10 messages
        enable_compression=True,  # JSONL compression for storage
    )

    # Add conversation turns
    memory.add_message(role="user", content="What is AI?")
    memory.add_message(role="assistant", content="AI is artificial intelligence...")

    # Retrieve conversation history
    history = memory.get_history(limit=10)  # Last 10 messages

    # Persist to database
    memory.persist()  # Manual persist (or waits for auto_persist_interval)

    # Load from database in next session
    memory_loaded = PersistentBufferMemory(db=db, agent_id="agent_001")
    memory_loaded.load_from_db()  # Restores conversation history
    # --- end of the example --------------------------------------------------------------------
    return {"history": history, "memory_loaded": memory_loaded}


def _check_persistent_buffer(outcome: dict[str, Any]) -> None:
    assert [(m.role, m.content) for m in outcome["history"]] == [
        ("user", "What is AI?"),
        ("assistant", "AI is artificial intelligence..."),
    ]
    restored = outcome["memory_loaded"].get_history(limit=10)
    assert [m.content for m in restored] == ["What is AI?", "AI is artificial intelligence..."]
    assert Path("agent_memory.db").exists()


def test_quick_reference_persistent_buffer_memory() -> None:
    """quick-reference.md, "Persistent Buffer Memory (v0.6.0)"."""
    _check_persistent_buffer(_persistent_buffer_memory_example())


def test_quick_reference_memory_system_quick_start() -> None:
    """quick-reference.md, "4. Memory System - 3-Tier Hierarchical Storage" > Quick Start (the same code)."""
    _check_persistent_buffer(_persistent_buffer_memory_example())


def _conversational_agent_example() -> dict[str, Any]:
    from kaizen_core.memory.storage import SQLiteStorage

    config = QAConfig()  # not in the example
    db = SQLiteStorage(db_path="./agent_memory.db")  # not in the example (the DataFlow `db` above, translated)

    # --- the example (quick-reference.md) ------------------------------------------------------
    from kaizen_core.memory import PersistentBufferMemory

    class ConversationalAgent(SimpleQAAgent):
        def __init__(self, config, db):  # type: ignore[no-untyped-def]
            super().__init__(config)
            self.memory = PersistentBufferMemory(db=db, agent_id=self.agent_id, buffer_size=50, auto_persist_interval=5)
            # Load previous conversations
            self.memory.load_from_db()

        def ask(self, question: str) -> dict:  # type: ignore[override,type-arg]
            # Add user message to memory
            self.memory.add_message(role="user", content=question)

            # Get conversation context
            history = self.memory.get_history(limit=10)

            # Run agent with context
            result = self.run(question=question, context=history)

            # Add assistant response to memory
            self.memory.add_message(role="assistant", content=result["answer"])

            return result

    # Usage - conversation persists across sessions
    agent = ConversationalAgent(config, db)
    result1 = agent.ask("What is AI?")
    result2 = agent.ask("Can you elaborate?")  # Uses history from previous question

    # Restart - history preserved
    agent2 = ConversationalAgent(config, db)
    result3 = agent2.ask("What did we discuss?")  # Remembers previous conversation
    # --- end of the example --------------------------------------------------------------------
    return {"agent": agent, "agent2": agent2, "results": [result1, result2, result3]}


def _check_conversational_agent(outcome: dict[str, Any]) -> None:
    assert all(isinstance(r["answer"], str) for r in outcome["results"])
    # auto_persist_interval=5: the first agent's 4 messages were not persisted yet; the restarted
    # agent's load_from_db() has them written first (same process, same store and agent_id)
    restarted = outcome["agent2"]
    context = requests_text(restarted)
    assert "What is AI?" in context and "Can you elaborate?" in context  # the earlier conversation
    history = restarted.memory.get_history(limit=10)
    assert [m.content for m in history][-2] == "What did we discuss?"


def test_quick_reference_persistent_buffer_conversational_agent_pattern() -> None:
    """quick-reference.md, "Persistent Buffer Memory (v0.6.0)" > Conversational Agent Pattern."""
    _check_conversational_agent(_conversational_agent_example())


def test_quick_reference_memory_system_conversational_agent_pattern() -> None:
    """quick-reference.md, "4. Memory System" > Conversational Agent Pattern (the same code)."""
    _check_conversational_agent(_conversational_agent_example())


def _memory_and_learning_example() -> dict[str, Any]:
    config = BaseAgentConfig(llm_provider="mock")  # not in the example
    signature = QASignature()  # not in the example

    # --- the example (quick-reference.md / quick-reference-v0.5.md) ----------------------------
    from kaizen_core.memory import LongTermMemory, SemanticMemory, ShortTermMemory  # noqa: F401 -- imported by the example
    from kaizen_core.memory.learning import ErrorCorrection, PatternRecognition, PreferenceLearning
    from kaizen_core.memory.storage import FileStorage, PostgreSQLStorage, SQLiteStorage  # noqa: F401

    # 1. Short-term memory (session-scoped, in-memory)
    short_term = ShortTermMemory(max_entries=100, ttl_seconds=3600)
    short_term.add(content={"question": "What is AI?", "answer": "..."}, importance=0.8, tags=["qa", "technical"])

    # 2. Long-term memory (persistent with SQLite)
    storage = SQLiteStorage(db_path="./agent_memory.db")
    long_term = LongTermMemory(storage_backend=storage)
    long_term.add(content={"user_name": "Alice", "preferences": {"style": "formal"}}, importance=0.9, tags=["user_profile"])

    # 3. Semantic search (similarity-based retrieval)
    similar_memories = long_term.search_similar(query="user preferences", limit=5, min_similarity=0.7)

    # 4. Pattern recognition (detect FAQs)
    pattern_learner = PatternRecognition(memory=long_term)
    faqs = pattern_learner.detect_frequent_patterns(min_occurrences=3, time_window_days=7)

    # 5. Preference learning
    pref_learner = PreferenceLearning(memory=long_term)
    user_prefs = pref_learner.learn_preferences(user_id="alice", min_confidence=0.7)

    # 6. Error correction (learn from mistakes)
    error_learner = ErrorCorrection(memory=long_term)
    error_learner.record_error(
        error_type="invalid_tool_call",
        context={"tool": "read_file", "error": "FileNotFoundError"},
        correction="Check file existence before reading",
    )

    # 7. BaseAgent integration
    from kaizen_core import BaseAgent

    agent = BaseAgent(config=config, signature=signature)
    agent._memory = long_term  # Attach memory system

    # Agent can now remember conversations, learn patterns, avoid past errors
    result = agent.run(question="What's my communication style?")
    # Returns: "Based on your preferences, you prefer formal communication"
    # --- end of the example --------------------------------------------------------------------
    return dict(locals())


def _check_memory_and_learning(ns: dict[str, Any]) -> None:
    (stm_entry,) = ns["short_term"].all()
    assert stm_entry.content == {"question": "What is AI?", "answer": "..."} and stm_entry.tags == ["qa", "technical"]
    (top, *_) = ns["similar_memories"]
    assert top.content == {"user_name": "Alice", "preferences": {"style": "formal"}} and (top.score or 0) >= 0.7
    assert ns["faqs"] == []  # no question was asked three times yet
    prefs = ns["user_prefs"]
    assert list(prefs) == ["style"] and prefs["style"].value == "formal" and prefs["style"].confidence >= 0.7
    (fix,) = ns["error_learner"].relevant("read_file", error="FileNotFoundError")
    assert fix.correction == "Check file existence before reading"
    assert isinstance(ns["result"]["answer"], str)
    assert "style: formal" in requests_text(ns["agent"])  # the profile was recalled for the model
    # the run was remembered, in the persistent store
    from kaizen_core.memory import LongTermMemory
    from kaizen_core.memory.storage import SQLiteStorage

    reopened = LongTermMemory(storage_backend=SQLiteStorage(db_path="./agent_memory.db"))
    assert any("conversation" in e.tags for e in reopened.all())


def test_quick_reference_memory_and_learning_system(embedding_plugin_installed: None) -> None:
    """quick-reference.md, "Memory & Learning System"."""
    _check_memory_and_learning(_memory_and_learning_example())


def test_quick_reference_v0_5_memory_and_learning_system(embedding_plugin_installed: None) -> None:
    """quick-reference-v0.5.md, "Memory & Learning System (NEW in v0.5.0)" (the same code)."""
    _check_memory_and_learning(_memory_and_learning_example())


def _memory_enabled_agent_example() -> dict[str, Any]:
    # --- the example (quick-reference.md / quick-reference-v0.5.md, "Memory-Enabled Agent") ----
    # Enable memory with max_turns parameter
    config = QAConfig(
        llm_provider="mock",
        model="gpt-4",
        max_turns=10,  # Enable BufferMemory (None = disabled)
    )

    agent = SimpleQAAgent(config)

    # Use session_id for memory continuity
    result1 = agent.ask("My name is Alice", session_id="user123")
    result2 = agent.ask("What's my name?", session_id="user123")
    # Returns: "Your name is Alice"
    # --- end of the example --------------------------------------------------------------------
    return {"agent": agent, "result1": result1, "result2": result2}


def _check_memory_enabled_agent(ns: dict[str, Any]) -> None:
    from kaizen_core.memory import BufferMemory

    assert isinstance(ns["agent"].memory, BufferMemory)
    assert isinstance(ns["result2"]["answer"], str)
    assert "My name is Alice" in requests_text(ns["agent"])  # the first turn reached the model


def test_quick_reference_memory_enabled_agent() -> None:
    """quick-reference.md, "Common Patterns" > "Memory-Enabled Agent"."""
    _check_memory_enabled_agent(_memory_enabled_agent_example())


def test_quick_reference_v0_5_memory_enabled_agent() -> None:
    """quick-reference-v0.5.md, "Memory-Enabled Agent" (the same code)."""
    _check_memory_enabled_agent(_memory_enabled_agent_example())


def test_api_reference_dataflow_integration(tmp_path: Path) -> None:
    """api-reference.md, "Integration Patterns" > "DataFlow Integration" (DataFlow translated)."""
    config = QAConfig()  # not in the example

    # --- the example -----------------------------------------------------------------------------
    from kaizen_core.memory.backends import DataFlowBackend
    from kaizen_core.memory.storage import SQLiteStorage  # was: from dataflow import DataFlow

    # Setup DataFlow for memory persistence
    db = SQLiteStorage(db_path="./kaizen.db")  # was: DataFlow(database_url="postgresql://localhost/kaizen")

    # Create memory backend
    memory_backend = DataFlowBackend(db, model_name="AgentMemory")

    # Create agent with persistent memory
    agent = SimpleQAAgent(config=config, memory_backend=memory_backend)

    # Agent automatically persists conversation history
    result = agent.ask("What is AI?", session_id="user123")
    # --- end of the example ----------------------------------------------------------------------

    assert isinstance(result["answer"], str)
    reopened = DataFlowBackend(SQLiteStorage(db_path="./kaizen.db"), model_name="AgentMemory")
    (turn,) = reopened.load_turns("user123")
    assert turn["user"].startswith("question: What is AI?") and "answer" in turn["agent"]


# -- advanced-patterns.md ---------------------------------------------------------------------
async def test_advanced_patterns_context_aware_tier_management() -> None:
    """advanced-patterns.md, "Pattern 5: Context-Aware Tier Management" (DataFlow translated:
    the DataFlow database is the storage backend, its ``@db.model`` is left out)."""
    from kaizen_core.memory.storage import SQLiteStorage

    seed = kaizen_core.memory.PersistentBufferMemory(SQLiteStorage(db_path="kaizen_memory.db"))  # not in the example:
    seed.add_message("user", "I need help with my order", session_id="customer_123")  # a stored conversation
    seed.close()

    # --- the example -----------------------------------------------------------------------------
    from kaizen_core.memory import (  # noqa: F401
        HotMemoryTier,
        PersistentBufferMemory,
        TierManager,
        WarmMemoryTier,
    )

    # 1. Setup multi-tier memory system
    db = SQLiteStorage(db_path="kaizen_memory.db")  # was: DataFlow(database_url="postgresql://localhost/kaizen_memory")

    # 2. Configure tier manager
    tier_manager = TierManager(config={
        "hot_promotion_threshold": 5,    # Access 5+ times → hot tier
        "warm_promotion_threshold": 2,   # Access 2+ times → warm tier
        "access_window_seconds": 3600,   # 1 hour window
        "auto_optimize": True            # Auto tier management
    })  # fmt: skip

    # 3. Create memory system
    backend = db  # was: DataFlowBackend(db, model_name="ConversationMemory")
    memory = PersistentBufferMemory(backend=backend, tier_manager=tier_manager, max_turns=100)

    # 4. Memory automatically optimizes itself
    session_id = "customer_123"

    # First access (cold tier - database)
    context_1 = memory.load_context(session_id)  # ~50ms (database query)

    # Second access (warm tier - promoted)
    context_2 = memory.load_context(session_id)  # ~5ms (disk cache)

    # Fifth access (hot tier - promoted)
    context_5 = memory.load_context(session_id)  # <1ms (memory cache)

    # Tier manager automatically demotes rarely-used data
    await tier_manager.optimize_tiers()  # Run periodically
    # --- end of the example ----------------------------------------------------------------------

    assert [m.content for m in context_1] == [m.content for m in context_5] == ["I need help with my order"]
    assert context_2 == context_1
    for _ in range(2):  # the fourth and fifth reads inside the window promote it into the hot tier
        memory.load_context(session_id)
    assert tier_manager.hot.peek("buffer/customer_123")  # type: ignore[attr-defined]


def test_advanced_patterns_plan_for_scale_tier_manager_config() -> None:
    """advanced-patterns.md, "5. Plan for Scale": the TierManager part (the DataFlowBackend part
    is a storage backend, see the Pattern 5 test)."""
    # --- the example -----------------------------------------------------------------------------
    from kaizen_core.memory import TierManager

    tier_manager = TierManager(config={
        "auto_optimize": True,  # Auto tier management
        "cold_demotion_threshold": 86400,  # Demote after 24h inactivity
    })  # fmt: skip
    # --- end of the example ----------------------------------------------------------------------
    assert tier_manager.config.auto_optimize and tier_manager.config.cold_after == 86400
