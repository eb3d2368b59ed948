"""Conversation buffers: the last N turns per session, in memory or persisted.

``BufferMemory`` is what an agent uses when its config sets ``max_turns``::

    memory = BufferMemory(max_turns=10)
    history = await memory.get_turns("user123")          # list[Message] fed to the model
    await memory.add_turn("user123", "My name is Alice", "Nice to meet you, Alice!")

``PersistentBufferMemory`` adds persistence through any memory tier URL
(``sqlite:///conversations.db``, ``redis://...``). Each session is stored under the
key ``buffer/<session_id>`` in the namespace ``agent_id`` as zlib-compressed JSONL
(one message per line, base64 inside a JSON value). A new process with the same
``agent_id`` and store URL continues the conversation.

Durability: the buffer is written every ``auto_persist_interval`` added messages
(default 1: after every message). On a crash, at most ``auto_persist_interval - 1``
messages per session are lost; ``auto_persist_interval=0`` writes only on
:meth:`PersistentBufferMemory.persist` and on clean shutdown (``close()``, ``async with``,
or interpreter exit through ``atexit``). One writer per ``agent_id`` and session at a
time: two processes appending to the same session concurrently overwrite each other.

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
from typing import Any

import anyio

from kaizen_core.errors import ConfigError, MemoryBackendError
from kaizen_core.memory.events import fire
from kaizen_core.memory.tier import MemoryTier
from kaizen_core.providers.types import Message, Role

__all__ = ["BufferMemory", "PersistentBufferMemory", "decode_messages", "encode_messages"]

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


class BufferMemory:
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

    # -- public API ------------------------------------------------------------------------
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

    async def add_turn(self, session_id: str, user_text: str, assistant_text: str) -> None:
        """Append one user message and the assistant's reply to ``session_id``."""
        await self._append(
            session_id,
            [Message(role="user", content=user_text), Message(role="assistant", content=assistant_text)],
        )

    async def add_message(self, role: Role, content: str, *, session_id: str = "default") -> None:
        """Append one message (``role``: user, assistant, system or tool)."""
        await self._append(session_id, [Message(role=role, content=content)])

    async def get_history(self, limit: int | None = None, *, session_id: str = "default") -> list[Message]:
        """The buffered messages of ``session_id``, oldest first; the last ``limit`` when given."""
        meta: dict[str, Any] = {"session_id": session_id}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        buf = list(await self._session(session_id))
        if limit is not None:
            buf = buf[-limit:] if limit > 0 else []
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "messages": len(buf)}
        )
        return buf

    async def get_turns(self, session_id: str) -> list[Message]:
        """The last ``max_turns`` turns of ``session_id`` as messages to prepend to a request."""
        return await self.get_history(2 * self.max_turns, session_id=session_id)

    async def clear(self, session_id: str | None = None) -> None:
        """Forget one session (or all) in memory."""
        if session_id is None:
            self._sessions.clear()
        else:
            self._sessions.pop(session_id, None)

    def sessions(self) -> list[str]:
        """Sessions currently held in memory."""
        return sorted(self._sessions)


# Buffers holding unsaved messages are referenced here (strongly, so an object dropped
# without close() is still flushed at interpreter exit); saved buffers are removed.
_dirty_buffers: set[PersistentBufferMemory] = set()


def _flush_at_exit() -> None:
    from kaizen_core._sync import run_sync

    for memory in list(_dirty_buffers):
        run_sync(memory.close)


atexit.register(_flush_at_exit)


class PersistentBufferMemory(BufferMemory):
    """A conversation buffer persisted through a memory tier URL (see module docstring)."""

    def __init__(
        self,
        store: str | MemoryTier,
        agent_id: str,
        buffer_size: int = 100,
        auto_persist_interval: int = 1,
        enable_compression: bool = True,
        *,
        max_turns: int | None = None,
        hook_manager: Any = None,
        **tier_options: Any,
    ) -> None:
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ConfigError(f"buffer_size must be a positive integer, got {buffer_size!r}")
        if isinstance(auto_persist_interval, bool) or not isinstance(auto_persist_interval, int) or auto_persist_interval < 0:
            raise ConfigError(
                f"auto_persist_interval must be an integer >= 0 (messages), got {auto_persist_interval!r}"
            )
        if not agent_id:
            raise ConfigError("PersistentBufferMemory needs an agent_id (the namespace of its history)")
        super().__init__(
            max_turns if max_turns is not None else max(1, buffer_size // 2),
            agent_id=agent_id,
            hook_manager=hook_manager,
            max_messages=buffer_size,
        )
        self.store = store
        self.buffer_size = buffer_size
        self.auto_persist_interval = auto_persist_interval
        self.enable_compression = enable_compression
        self._tier_options = tier_options
        self._tier: MemoryTier | None = None
        self._unsaved: dict[str, int] = {}
        self._lock = anyio.Lock()
        self._closed = False

    @staticmethod
    def key_for(session_id: str) -> str:
        return f"buffer/{session_id}"

    def _get_tier(self) -> MemoryTier:
        if self._tier is None:
            from kaizen_core.memory.urls import open_tier

            self._tier = open_tier(self.store, namespace=self.agent_id, **self._tier_options)
        return self._tier

    async def _read(self, session_id: str) -> deque[Message]:
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

    async def persist(self, session_id: str | None = None) -> int:
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

    async def load(self, session_id: str = "default") -> list[Message]:
        """(Re)read ``session_id`` from the store, replacing the in-memory buffer."""
        meta: dict[str, Any] = {"session_id": session_id, "load": True}
        await fire(self.hook_manager, "PRE_MEMORY_LOAD", agent_id=self.agent_id, metadata=meta)
        buf = self._sessions[session_id] = await self._read(session_id)
        self._unsaved.pop(session_id, None)
        await fire(
            self.hook_manager, "POST_MEMORY_LOAD", agent_id=self.agent_id, metadata={**meta, "messages": len(buf)}
        )
        return list(buf)

    async def stored_sessions(self) -> list[str]:
        """Session ids that have a stored buffer for this agent."""
        prefix = self.key_for("")
        return [k[len(prefix) :] for k in await self._get_tier().keys(prefix)]

    async def clear(self, session_id: str | None = None, *, stored: bool = False) -> None:
        """Forget a session (or all) in memory; with ``stored=True`` delete it from the store too."""
        if stored:
            tier = self._get_tier()
            if session_id is None:
                for sid in await self.stored_sessions():
                    await tier.delete(self.key_for(sid))
            else:
                await tier.delete(self.key_for(session_id))
        if session_id is None:
            self._unsaved.clear()
        else:
            self._unsaved.pop(session_id, None)
        if not self.dirty_sessions():
            _dirty_buffers.discard(self)
        await super().clear(session_id)

    async def close(self) -> None:
        """Persist unsaved messages and close the tier (if this object opened it). Safe twice."""
        if self._closed:
            return
        await self.persist()
        self._closed = True
        _dirty_buffers.discard(self)
        if self._tier is not None and not isinstance(self.store, MemoryTier):
            await self._tier.close()

    async def __aenter__(self) -> PersistentBufferMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
