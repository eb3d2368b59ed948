"""Conversation buffers: the last N turns per session, in memory or persisted.

``BufferMemory`` is what an agent uses when its config sets ``max_turns``::

    memory = BufferMemory(max_turns=10)
    memory.add_turn("user123", "My name is Alice", "Nice to meet you, Alice!")
    history = memory.get_turns("user123")                 # list[Message], oldest first

``PersistentBufferMemory`` adds persistence through any store: a tier URL
(``sqlite:///conversations.db``, ``redis://...``), a storage backend
(``SQLiteStorage(db_path=...)``), a memory tier or a :class:`TierManager`::

    memory = PersistentBufferMemory(db=SQLiteStorage(db_path="./agent_memory.db"), agent_id="agent_001")
    memory.add_message(role="user", content="What is AI?")
    memory.get_history(limit=10); memory.persist()
    PersistentBufferMemory(db=..., agent_id="agent_001").load_from_db()   # next process

Each session is stored under the key ``buffer/<session_id>`` in the namespace
``agent_id`` as zlib-compressed JSONL (one message per line, base64 inside a JSON value).
A new process with the same ``agent_id`` and store continues the conversation. Calls
without a ``session_id`` use the session ``"default"``.

Every method is blocking under its documented name and has an async twin named
``a<name>`` (``get_history`` / ``aget_history``): see :mod:`kaizen_core.memory.sync`.

Durability: the buffer is written every ``auto_persist_interval`` added messages
(default 1: after every message). On a crash, at most ``auto_persist_interval - 1``
messages per session are lost; a clean exit loses none: ``close()``, ``with``/``async
with``, or interpreter exit (``atexit``) write what is left. In one process, a buffer
reading a session first has the unsaved messages of any other buffer for the same store,
agent and session written, so a second object (a "restarted" agent in the same script)
sees the whole conversation. One writer per ``agent_id`` and session at a time across
processes: two processes appending to the same session concurrently overwrite each other.

Hooks: with a ``hook_manager``, adding messages fires PRE/POST_MEMORY_SAVE and reading
history fires PRE/POST_MEMORY_LOAD (metadata: ``session_id``, ``messages``). A
PRE_MEMORY_SAVE handler that blocks prevents the messages from being stored.
"""

from __future__ import annotations

import atexit
import base64
import json
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
from pydantic import ValidationError

from kaizen_core.errors import ConfigError, MemoryBackendError, MemoryValueError
from kaizen_core.memory.events import fire
from kaizen_core.memory.sync import Closing, sync_twin
from kaizen_core.memory.tier import MemoryTier
from kaizen_core.providers.types import Message, Role

if TYPE_CHECKING:
    from kaizen_core.memory.manager import TierManager
    from kaizen_core.memory.storage import MemoryStorage

    Store: TypeAlias = MemoryTier | TierManager

__all__ = ["BufferMemory", "PersistentBufferMemory", "decode_messages", "encode_messages"]

DEFAULT_SESSION = "default"
_FORMAT_PLAIN = "jsonl"
_FORMAT_COMPRESSED = "jsonl+zlib+base64"


def encode_messages(messages: list[Message], *, compress: bool = True) -> dict[str, Any]:
    """The stored form of a session: JSONL, optionally zlib-compressed and base64-encoded."""
    jsonl = "\n".join(m.model_dump_json(exclude_defaults=True) for m in messages)
    if compress:
        data = base64.b64encode(zlib.compress(jsonl.encode("utf-8"), 6)).decode("ascii")
        return {"format": _FORMAT_COMPRESSED, "count": len(messages), "data": data}
    return {"format": _FORMAT_PLAIN, "count": len(messages), "data": jsonl}


def decode_messages(stored: Any) -> list[Message]:
    """Inverse of :func:`encode_messages`; unreadable data is MEMORY_001."""
    try:
        fmt = stored["format"]
        raw: str = stored["data"]
        if fmt == _FORMAT_COMPRESSED:
            raw = zlib.decompress(base64.b64decode(raw)).decode("utf-8")
        elif fmt != _FORMAT_PLAIN:
            raise ValueError(f"unknown buffer format {fmt!r}")
        return [Message.model_validate(json.loads(line)) for line in raw.splitlines() if line.strip()]
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise MemoryBackendError(f"stored conversation buffer is unreadable: {exc}") from exc


def _message(role: Any, content: Any) -> Message:
    """A validated message; bad input is MEMORY_003 naming the field, not a pydantic error."""
    try:
        return Message(role=role, content=content)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise MemoryValueError(
            f"invalid message ({problems})", hint="role is 'user', 'assistant', 'system' or 'tool'; content is a string"
        ) from None


class BufferMemory(Closing):
    """The last ``max_turns`` user/assistant turns per session, in process memory."""

    def __init__(
        self,
        max_turns: int = 10,
        *,
        agent_id: str = "agent",
        hook_manager: Any = None,
        max_messages: int | None = None,
    ) -> None:
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise ConfigError(f"max_turns must be a positive integer, got {max_turns!r}")
        self.max_turns = max_turns
        self.max_messages = max_messages if max_messages is not None else 2 * max_turns
        if self.max_messages < 1:
            raise ConfigError(f"the buffer must hold at least one message, got {self.max_messages!r}")
        self.agent_id = agent_id
        self.hook_manager = hook_manager
        self._sessions: dict[str, deque[Message]] = {}

    # -- storage hooks (overridden by PersistentBufferMemory) ------------------------------
    async def _session(self, session_id: str) -> deque[Message]:
        buf = self._sessions.get(session_id)
        if buf is None:
            buf = self._sessions[session_id] = deque()
        return buf

    async def _after_add(self, session_id: str, added: int) -> None:
        """Called after messages were appended (persistence hook)."""

    def _trim(self, buf: deque[Message]) -> None:
        while len(buf) > self.max_messages:
            buf.popleft()
        # never start a history with an orphan assistant/tool message
        while buf and buf[0].role in ("assistant", "tool") and len(buf) > 1:
            buf.popleft()

    async def _append(self, session_id: str, messages: list[Message]) -> None:
        meta = {"session_id": session_id, "messages": len(messages)}
        results = await fire(self.hook_manager, "PRE_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)
        if any(getattr(r, "blocked", False) for r in results):
            return
        buf = await self._session(session_id)
        buf.extend(messages)
        self._trim(buf)
        await self._after_add(session_id, len(messages))
        await fire(self.hook_manager, "POST_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)

    # -- public API (async twins; the blocking names follow the class body) ----------------
    async def aadd_turn(self, session_id: str, user_text: str, assistant_text: str) -> None:
        """Append one user message and the assistant's reply to ``session_id``."""
        await self._append(session_id, [_message("user", user_text), _message("assistant", assistant_text)])

    async def aadd_message(self, role: Role, content: str, *, session_id: str = DEFAULT_SESSION) -> None:
        """Append one message (``role``: user, assistant, system or tool)."""
        await self._append(session_id, [_message(role, content)])

    async def aget_history(self, limit: int | None = None, *, session_id: str = DEFAULT_SESSION) -> list[Message]:
        """The buffered messages of ``session_id``, oldest first; the last ``limit`` when given."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise MemoryValueError(f"limit must be an integer or None, got {limit!r}")
        meta: dict[str, Any] = {"session_id": session_id}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        buf = list(await self._session(session_id))
        if limit is not None:
            buf = buf[-limit:] if limit > 0 else []
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "messages": len(buf)}
        )
        return buf

    async def aget_turns(self, session_id: str) -> list[Message]:
        """The last ``max_turns`` turns of ``session_id`` as messages to prepend to a request."""
        return await self.aget_history(2 * self.max_turns, session_id=session_id)

    async def aclear(self, session_id: str | None = None, *, stored: bool = False) -> None:
        """Forget one session (or all) in memory. ``stored`` matters for persistent buffers only
        (an in-process buffer has no store)."""
        if session_id is None:
            self._sessions.clear()
        else:
            self._sessions.pop(session_id, None)

    async def aclose(self) -> None:
        """Nothing to release for an in-process buffer."""

    def sessions(self) -> list[str]:
        """Sessions currently held in memory."""
        return sorted(self._sessions)

    # -- agent memory (kaizen_core.memory.agent.AgentMemory) ------------------------------
    async def arecall(self, session_id: str | None, query: str) -> list[Message]:
        """The last turns of the run's session (nothing for a run without a ``session_id``)."""
        return await self.aget_turns(session_id) if session_id else []

    async def aremember(self, session_id: str | None, user_text: str, assistant_text: str) -> None:
        """Add the run's turn to its session (nothing without a ``session_id``)."""
        if session_id:
            await self.aadd_turn(session_id, user_text, assistant_text)

    add_turn = sync_twin(aadd_turn)
    add_message = sync_twin(aadd_message)
    get_history = sync_twin(aget_history)
    get_turns = sync_twin(aget_turns)
    clear = sync_twin(aclear)
    close = sync_twin(aclose)


# Buffers holding unsaved messages are referenced here (strongly, so an object dropped
# without close() is still flushed at interpreter exit); saved buffers are removed.
_dirty_buffers: set[PersistentBufferMemory] = set()


def _flush_at_exit() -> None:
    from kaizen_core._sync import run_sync

    for memory in list(_dirty_buffers):
        run_sync(memory.aclose)


atexit.register(_flush_at_exit)


class PersistentBufferMemory(BufferMemory):
    """A conversation buffer persisted through a store (see the module docstring).

    The store may be passed as ``store`` (first argument) or under the documented names
    ``db=``, ``backend=`` and ``storage_backend=``: a tier URL, a storage backend, a
    :class:`MemoryTier` or a :class:`TierManager`. With ``tier_manager=`` the buffer reads
    and writes through the manager (promotion into its hot tier); a manager without a
    persistent tier gets the store, opened for ``agent_id``, as its warm tier.
    """

    def __init__(
        self,
        store: str | MemoryStorage | MemoryTier | TierManager | None = None,
        agent_id: str = "default",
        buffer_size: int = 100,
        auto_persist_interval: int = 1,
        enable_compression: bool = True,
        *,
        db: Any = None,
        backend: Any = None,
        storage_backend: Any = None,
        tier_manager: TierManager | None = None,
        max_turns: int | None = None,
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        from kaizen_core.memory.storage import pick_store

        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ConfigError(f"buffer_size must be a positive integer, got {buffer_size!r}")
        if isinstance(auto_persist_interval, bool) or not isinstance(auto_persist_interval, int) or auto_persist_interval < 0:
            raise ConfigError(
                f"auto_persist_interval must be an integer >= 0 (messages), got {auto_persist_interval!r}"
            )
        if not agent_id or not isinstance(agent_id, str):
            raise ConfigError(f"agent_id must be a non-empty string (the namespace of the history), got {agent_id!r}")
        chosen = pick_store("PersistentBufferMemory", store=store, db=db, backend=backend, storage_backend=storage_backend)
        if chosen is None and tier_manager is None:
            raise ConfigError(
                "PersistentBufferMemory needs a store",
                hint="e.g. db=SQLiteStorage(db_path='./agent_memory.db') or store='sqlite:///agent_memory.db'",
            )
        if tier_manager is not None:
            from kaizen_core.memory.manager import TierManager

            if not isinstance(tier_manager, TierManager):
                raise ConfigError(f"tier_manager must be a TierManager, got {type(tier_manager).__name__}")
        super().__init__(
            max_turns if max_turns is not None else max(1, buffer_size // 2),
            agent_id=agent_id,
            hook_manager=hook_manager,
            max_messages=buffer_size if max_turns is None else max(buffer_size, 2 * max_turns),
        )
        self.store = chosen
        self.tier_manager = tier_manager
        self.buffer_size = buffer_size
        self.auto_persist_interval = auto_persist_interval
        self.enable_compression = enable_compression
        self._tier_options = tier_options
        self._tier: Store | None = None
        self._owns_tier = False
        self._unsaved: dict[str, int] = {}
        self._lock = anyio.Lock()
        self._closed = False

    @staticmethod
    def key_for(session_id: str) -> str:
        return f"buffer/{session_id}"

    def _get_tier(self) -> Store:
        if self._tier is None:
            from kaizen_core.memory.urls import open_tier

            if self.tier_manager is not None:
                if self.tier_manager.persistent is None and self.store is not None:
                    self.tier_manager.attach_persistent(
                        open_tier(self.store, namespace=self.agent_id, **self._tier_options)  # type: ignore[arg-type]
                    )
                self._tier = self.tier_manager
            else:
                from kaizen_core.memory.manager import TierManager

                if isinstance(self.store, TierManager):
                    self._tier = self.store
                else:
                    self._tier = open_tier(self.store, namespace=self.agent_id, **self._tier_options)  # type: ignore[arg-type]
                    self._owns_tier = not isinstance(self.store, MemoryTier)
        return self._tier

    def _store_identity(self) -> Any:
        """What makes two buffers of one process share a stored history (with the same agent_id)."""
        from kaizen_core.memory.storage import MemoryStorage

        source = self.tier_manager if self.tier_manager is not None else self.store
        if isinstance(source, MemoryStorage):
            return (source.url, tuple(sorted(source.options.items())))
        return source if isinstance(source, str) else id(source)

    async def _flush_others(self, session_id: str) -> None:
        """Unsaved messages of another buffer of this process for the same store, agent and
        session are written first, so two objects for one conversation never disagree."""
        identity = self._store_identity()
        for other in list(_dirty_buffers):
            if (
                other is not self
                and other.agent_id == self.agent_id
                and other._unsaved.get(session_id)
                and other._store_identity() == identity
            ):
                await other._write(session_id)

    async def _read(self, session_id: str) -> deque[Message]:
        await self._flush_others(session_id)
        stored = await self._get_tier().get(self.key_for(session_id))
        messages = decode_messages(stored) if stored is not None else []
        buf: deque[Message] = deque(messages)
        self._trim(buf)
        return buf

    async def _session(self, session_id: str) -> deque[Message]:
        buf = self._sessions.get(session_id)
        if buf is None:
            buf = self._sessions[session_id] = await self._read(session_id)
        return buf

    async def _after_add(self, session_id: str, added: int) -> None:
        self._unsaved[session_id] = self._unsaved.get(session_id, 0) + added
        _dirty_buffers.add(self)
        if self.auto_persist_interval and self._unsaved[session_id] >= self.auto_persist_interval:
            await self._write(session_id)

    async def _write(self, session_id: str) -> None:
        async with self._lock:
            buf = self._sessions.get(session_id)
            if buf is None:
                return
            count = self._unsaved.pop(session_id, 0)
            try:
                await self._get_tier().put(
                    self.key_for(session_id), encode_messages(list(buf), compress=self.enable_compression)
                )
            except BaseException:
                self._unsaved[session_id] = self._unsaved.get(session_id, 0) + count
                raise
            if not self.dirty_sessions():
                _dirty_buffers.discard(self)

    def dirty_sessions(self) -> list[str]:
        """Sessions with messages not yet persisted."""
        return sorted(s for s, n in self._unsaved.items() if n)

    async def apersist(self, session_id: str | None = None) -> int:
        """Write one session (or every session with unsaved messages); returns sessions written."""
        targets = [session_id] if session_id is not None else self.dirty_sessions()
        written = 0
        for sid in targets:
            if sid not in self._sessions:
                continue
            meta = {"session_id": sid, "messages": len(self._sessions[sid]), "persist": True}
            await fire(self.hook_manager, "PRE_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)
            await self._write(sid)
            await fire(self.hook_manager, "POST_MEMORY_SAVE", agent_id=self.agent_id, metadata=meta)
            written += 1
        return written

    async def aload(self, session_id: str = DEFAULT_SESSION) -> list[Message]:
        """(Re)read ``session_id`` from the store into the buffer and return it, oldest first.

        Messages of this session not yet persisted are written first, so nothing is lost.
        ``load_from_db`` and ``load_context`` are the documented names of the same call.
        """
        if self._unsaved.get(session_id):
            await self._write(session_id)
        meta: dict[str, Any] = {"session_id": session_id, "load": True}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        buf = self._sessions[session_id] = await self._read(session_id)
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "messages": len(buf)}
        )
        return list(buf)

    aload_from_db = aload
    aload_context = aload

    async def astored_sessions(self) -> list[str]:
        """Session ids that have a stored buffer for this agent."""
        prefix = self.key_for("")
        return [k[len(prefix) :] for k in await self._get_tier().keys(prefix)]

    async def aclear(self, session_id: str | None = None, *, stored: bool = False) -> None:
        """Forget a session (or all) in memory; with ``stored=True`` delete it from the store too."""
        if stored:
            tier = self._get_tier()
            if session_id is None:
                for sid in await self.astored_sessions():
                    await tier.delete(self.key_for(sid))
            else:
                await tier.delete(self.key_for(session_id))
        if session_id is None:
            self._unsaved.clear()
        else:
            self._unsaved.pop(session_id, None)
        if not self.dirty_sessions():
            _dirty_buffers.discard(self)
        await super().aclear(session_id, stored=stored)

    async def aclose(self) -> None:
        """Persist unsaved messages and close the store if this object opened it. Safe twice."""
        if self._closed:
            return
        await self.apersist()
        self._closed = True
        _dirty_buffers.discard(self)
        if self._tier is not None and self._owns_tier:
            await self._tier.close()

    persist = sync_twin(apersist)
    load = sync_twin(aload)
    load_from_db = load
    load_context = load
    stored_sessions = sync_twin(astored_sessions)
