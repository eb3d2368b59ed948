"""ConversationBackend: conversation turns in any store (the docs' ``DataFlowBackend``, without DataFlow).

    from kaizen_core.memory.backends import ConversationBackend
    from kaizen_core.memory.storage import SQLiteStorage

    backend = ConversationBackend(SQLiteStorage(db_path="./kaizen.db"), model_name="ConversationMessage")
    backend.save_turn(conversation_id="session_123", turn_data={"sender": "user", "content": "What is quantum computing?"})
    turns = backend.load_turns(conversation_id="session_123", limit=10)      # the last 10, oldest first
    results = backend.search_conversations(query="quantum computing", limit=5)
    deleted_count = backend.delete_conversation("session_123")

DataFlow is a separate product: where the original docs build ``DataFlowBackend(db,
model_name=...)`` on a DataFlow database, pass the database as a store (a URL, a storage
backend such as ``SQLiteStorage`` / ``PostgreSQLStorage``, or a tier); ``DataFlowBackend``
is another name of this class. ``model_name`` is the namespace the turns live in (one per
record type, as a table was), and no ``@db.model`` schema is needed.

A turn is any JSON object (or a string), returned as saved. Turns are keyed
``turn/<conversation>/<time>`` so a conversation is read by prefix, oldest first; the
searchable text of a turn is its ``content`` when that is a string, else its
``key: value`` text (as for memory entries). Search is the tier's full-text search when it
has one (sqlite FTS5, postgres), else the keyword scan of :mod:`kaizen_core.memory.long_term`.
``max_turns_per_conversation`` keeps the newest turns of each conversation. Blocking
methods, with ``a<name>`` async twins (:mod:`kaizen_core.memory.sync`).

As an agent's memory (``memory_backend=backend``), a run with a ``session_id`` gets the
last ``recall_turns`` turns of that conversation as messages (a ``{"user", "agent"}`` turn
gives both sides, a ``{"sender" | "role", "content"}`` turn one message: ``user`` for the
user, ``assistant`` otherwise), and its turn is saved as ``{"user": ..., "agent": ...}``.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote, unquote

from kaizen_core.errors import ConfigError, MemoryValueError
from kaizen_core.memory.codec import encode_value
from kaizen_core.memory.long_term import MemoryEntry, content_text, keyword_rank
from kaizen_core.memory.sync import Closing, sync_twin
from kaizen_core.memory.tier import MemoryTier, TextSearchable
from kaizen_core.providers.types import Message

__all__ = ["ConversationBackend", "DataFlowBackend"]

TURN_PREFIX = "turn/"
_counter = itertools.count()
_counter_lock = threading.Lock()


def _turn_suffix() -> str:
    """Sortable by time: nanoseconds, a sequence number (unique in the process), random bits (across processes)."""
    with _counter_lock:
        sequence = next(_counter) % 1_000_000
    return f"{time.time_ns():020d}-{sequence:06d}-{secrets.token_hex(3)}"


def _turn_messages(turn: Any) -> list[Message]:
    if not isinstance(turn, dict):
        return []
    if isinstance(turn.get("user"), str) or isinstance(turn.get("agent"), str):
        pairs = [("user", turn.get("user")), ("assistant", turn.get("agent"))]
        return [Message(role=role, content=text) for role, text in pairs if isinstance(text, str)]  # type: ignore[arg-type]
    content = turn.get("content")
    if not isinstance(content, str):
        return []
    sender = turn.get("sender", turn.get("role"))
    return [Message(role="user" if sender == "user" else "assistant", content=content)]


class ConversationBackend(Closing):
    """Conversation turns in a store (see the module docstring)."""

    #: turns of the session an agent run is given
    recall_turns: int = 10

    def __init__(
        self,
        db: Any = None,
        model_name: str = "ConversationMessage",
        *,
        store: Any = None,
        max_turns_per_conversation: int | None = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.storage import pick_store
        from kaizen_core.memory.urls import open_tier

        chosen = pick_store("ConversationBackend", db=db, store=store)
        if chosen is None:
            raise ConfigError(
                "ConversationBackend needs a store", hint="e.g. ConversationBackend(SQLiteStorage(db_path='./kaizen.db'))"
            )
        if not isinstance(model_name, str) or not model_name:
            raise ConfigError(f"model_name must be a non-empty string, got {model_name!r}")
        limit = max_turns_per_conversation
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"max_turns_per_conversation must be a positive integer or None, got {limit!r}")
        self.model_name = model_name
        self.max_turns_per_conversation = limit
        self.tier: MemoryTier = open_tier(chosen, namespace=model_name, **tier_options)
        self._owns_tier = not isinstance(chosen, MemoryTier)

    @staticmethod
    def _prefix(conversation_id: str) -> str:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise MemoryValueError(f"conversation_id must be a non-empty string, got {conversation_id!r}"[:200])
        return f"{TURN_PREFIX}{quote(conversation_id, safe='')}/"

    async def asave_turn(self, conversation_id: str, turn_data: dict[str, Any] | str) -> str:
        """Append one turn to ``conversation_id``; returns its key."""
        prefix = self._prefix(conversation_id)
        if not isinstance(turn_data, dict | str):
            raise MemoryValueError(f"turn_data must be a JSON object (dict) or a string, got {type(turn_data).__name__}")
        encode_value(turn_data)  # strict JSON: MEMORY_003 otherwise
        content = turn_data.get("content") if isinstance(turn_data, dict) else turn_data
        text = content if isinstance(content, str) else content_text(turn_data)
        key = prefix + _turn_suffix()
        await self.tier.put(
            key, {"content": text, "turn": turn_data, "conversation_id": conversation_id, "saved_at": time.time()}
        )
        if self.max_turns_per_conversation is not None:
            keys = await self.tier.keys(prefix)
            for old in keys[: max(0, len(keys) - self.max_turns_per_conversation)]:
                await self.tier.delete(old)
        return key

    async def aload_turns(self, conversation_id: str, limit: int | None = None) -> list[Any]:
        """The turns of ``conversation_id`` as saved, oldest first (the last ``limit`` when given)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise MemoryValueError(f"limit must be an integer >= 0 or None, got {limit!r}")
        keys = await self.tier.keys(self._prefix(conversation_id))
        if limit is not None:
            keys = keys[len(keys) - limit :] if limit else []
        turns = []
        for key in keys:
            stored = await self.tier.get(key)
            if isinstance(stored, dict):
                turns.append(stored.get("turn"))
        return turns

    async def asearch_conversations(self, query: str, limit: int = 5) -> list[dict[str, Any]]:
        """Turns matching ``query`` (keyword search), best first:
        ``{"conversation_id", "turn", "score"}``."""
        if not isinstance(query, str):
            raise MemoryValueError(f"query must be a string, got {type(query).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise MemoryValueError(f"limit must be an integer >= 0, got {limit!r}")
        hits: list[tuple[str, float]]
        searchable = getattr(self.tier, "text_search_available", None)
        if isinstance(self.tier, TextSearchable) and (searchable is None or await searchable()):
            hits = await self.tier.search_text(query, limit=limit, prefix=TURN_PREFIX)
        else:
            entries = []
            for key in await self.tier.keys(TURN_PREFIX):
                stored = await self.tier.get(key)
                if isinstance(stored, dict) and isinstance(stored.get("content"), str):
                    entries.append(MemoryEntry(id=key, content=stored["content"], created_at=stored.get("saved_at", 0.0)))
            hits = [(e.id, e.score or 0.0) for e in keyword_rank(query, entries, limit)]
        results = []
        for key, score in hits:
            stored = await self.tier.get(key)
            if isinstance(stored, dict):
                conversation = stored.get("conversation_id") or unquote(key[len(TURN_PREFIX) :].split("/", 1)[0])
                results.append({"conversation_id": conversation, "turn": stored.get("turn"), "score": score})
        return results

    async def adelete_conversation(self, conversation_id: str) -> int:
        """Delete every turn of ``conversation_id``; returns how many."""
        deleted = 0
        for key in await self.tier.keys(self._prefix(conversation_id)):
            deleted += int(await self.tier.delete(key))
        return deleted

    async def aconversations(self) -> list[str]:
        """Ids of the conversations with stored turns, sorted."""
        ids = {unquote(k[len(TURN_PREFIX) :].split("/", 1)[0]) for k in await self.tier.keys(TURN_PREFIX)}
        return sorted(ids)

    # -- agent memory (kaizen_core.memory.agent.AgentMemory) ------------------------------
    async def arecall(self, session_id: str | None, query: str) -> list[Message]:
        """The last ``recall_turns`` turns of the run's conversation as messages (none without a session)."""
        if not session_id:
            return []
        return [m for turn in await self.aload_turns(session_id, limit=self.recall_turns) for m in _turn_messages(turn)]

    async def aremember(self, session_id: str | None, user_text: str, assistant_text: str) -> None:
        """Save the run's turn as ``{"user": ..., "agent": ...}`` (nothing without a session)."""
        if session_id:
            await self.asave_turn(session_id, {"user": user_text, "agent": assistant_text})

    async def aclose(self) -> None:
        """Close the store if this backend opened it."""
        if self._owns_tier:
            await self.tier.close()

    save_turn = sync_twin(asave_turn)
    load_turns = sync_twin(aload_turns)
    search_conversations = sync_twin(asearch_conversations)
    delete_conversation = sync_twin(adelete_conversation)
    conversations = sync_twin(aconversations)
    close = sync_twin(aclose)


#: The original documentation's name. DataFlow itself is not used: pass a store as ``db``.
DataFlowBackend = ConversationBackend
