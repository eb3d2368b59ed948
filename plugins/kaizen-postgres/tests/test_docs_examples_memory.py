"""The original docs' memory examples that need PostgreSQL (DataFlow translated to PostgreSQLStorage).

They run here, in kaizen-postgres's own test env, against the real server the harness
starts (kaizen-testing's ``postgres_server``); the core env has no PostgreSQL plugin.
See tests/docs_examples/test_memory.py in the core for the other memory examples.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.anyio


# -- autonomy-overview.md ----------------------------------------------------------------
async def test_autonomy_overview_memory_system(postgres_server: Any) -> None:
    """autonomy-overview.md, "4. Memory System (3-Tier Storage)" (DataFlow translated)."""
    value = {"topic": "AI ethics"}  # not in the example
    url = postgres_server.create_database(f"kaizen_docs_{uuid.uuid4().hex[:8]}")  # not in the example

    # --- the example -----------------------------------------------------------------------------
    from kaizen_core.memory import HotMemoryTier
    from kaizen_core.memory.backends import DataFlowBackend
    from kaizen_core.memory.storage import PostgreSQLStorage  # was: from dataflow import DataFlow

    # Hot tier (in-memory)
    hot_tier = HotMemoryTier(max_size=1000, eviction_policy="lru")
    await hot_tier.put("key", value, ttl=300)
    data = await hot_tier.get("key")  # < 1ms

    # Cold tier (DataFlow backend)
    db = PostgreSQLStorage(url)  # was: DataFlow(database_url="postgresql://..."), with its @db.model

    backend = DataFlowBackend(db, model_name="ConversationMessage")
    backend.save_turn("session_123", {"user": "Hello", "agent": "Hi"})
    turns = backend.load_turns("session_123", limit=10)  # < 100ms
    # --- end of the example ----------------------------------------------------------------------

    assert data == value and hot_tier.eviction == "lru" and hot_tier.max_size == 1000
    assert turns == [{"user": "Hello", "agent": "Hi"}]
    await backend.aclose()


def test_api_reference_memory_system_dataflow_backend(postgres_server: Any) -> None:
    """api-reference.md, "Memory System" > "DataFlow Backend (Cold Tier)" (DataFlow translated)."""
    url = postgres_server.create_database(f"kaizen_docs_{uuid.uuid4().hex[:8]}")  # not in the example

    # --- the example -----------------------------------------------------------------------------
    from kaizen_core.memory.backends import DataFlowBackend
    from kaizen_core.memory.storage import PostgreSQLStorage  # was: from dataflow import DataFlow

    # Setup DataFlow database
    db = PostgreSQLStorage(url)  # was: DataFlow(database_url="postgresql://localhost/kaizen"), @db.model left out

    # Create DataFlow backend for cold tier (< 100ms)
    backend = DataFlowBackend(db, model_name="ConversationMessage")

    # Save conversation turn
    backend.save_turn(
        conversation_id="session_123",
        turn_data={
            "sender": "user",
            "content": "What is quantum computing?",
            "timestamp": "2023-10-25T12:00:00",
            "metadata": {"intent": "question"},
        },
    )

    # Load conversation history
    turns = backend.load_turns(
        conversation_id="session_123",
        limit=10,  # Last 10 turns
    )

    # Search conversations (semantic or keyword)
    results = backend.search_conversations(query="quantum computing", limit=5)

    # Delete old conversations
    deleted_count = backend.delete_conversation("session_123")
    # --- end of the example ----------------------------------------------------------------------

    (turn,) = turns
    assert turn["content"] == "What is quantum computing?" and turn["metadata"] == {"intent": "question"}
    (hit,) = results
    assert hit["conversation_id"] == "session_123" and hit["turn"] == turn and hit["score"] > 0
    assert deleted_count == 1 and backend.load_turns("session_123") == []
    backend.close()
