"""The checkpoint storage contract (the storage-backends hookspec).

Stores are deliberately dumb: they keep opaque, already-encoded checkpoint payloads
plus a small metadata record, and an append-only journal per stream. Everything
clever (incremental deltas, compaction, retention, forks) lives in
:class:`kaizen_core.state.StateManager`, so every backend gets it for free and all
backends share one on-disk format.

Rules every implementation follows (checked by ``CheckpointStoreSuite``):

* ``write`` is atomic: a reader sees the whole checkpoint or none of it; a crash
  mid-write leaves earlier checkpoints loadable.
* ``read`` of a missing id raises :class:`CheckpointNotFoundError` (CHECKPOINT_002); an
  unreadable payload raises :class:`CheckpointCorruptError` (CHECKPOINT_002) naming
  the location.
* ``list`` returns metadata newest first (``created_at`` then ``step_number``).
* Backend failures raise :class:`StorageError` (CHECKPOINT_003) with the URL shown
  without its password.
* ``read_chain`` and ``journal_append_many`` have correct defaults built on ``read`` and
  ``journal_append``; a store overrides them to make a load one round trip and a journal
  batch one durable write, with the same results (the suite checks both).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from kaizen_core.errors import CheckpointNotFoundError


class CheckpointMeta(BaseModel):
    """What a store keeps beside each payload."""

    checkpoint_id: str
    agent_id: str
    parent_checkpoint_id: str | None = None
    step_number: int = 0
    status: str = "running"
    created_at: float
    #: "full": the payload is a whole encoded AgentState; "delta": changes against ``base_checkpoint_id``.
    kind: Literal["full", "delta"] = "full"
    base_checkpoint_id: str | None = None
    size_bytes: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)


def chain_base(meta: CheckpointMeta, known: Collection[str], seen: Collection[str]) -> str | None:
    """The next link to read after ``meta`` in a delta chain, or None when the chain ends here.

    It ends at a full snapshot, at a base in ``known`` (the caller has that state already)
    and at a base already read (a cycle, which the caller reports). Shared by every
    :meth:`CheckpointStore.read_chain` so all stores stop at the same place.
    """
    base = meta.base_checkpoint_id
    if meta.kind != "delta" or base is None or base in known or base in seen:
        return None
    return base


#: A checkpoint's metadata and payload, as :meth:`CheckpointStore.read` returns them.
Link = tuple[CheckpointMeta, bytes]


class CheckpointStore(ABC):
    """Abstract checkpoint store. Subclasses register a URL scheme via the hookspec."""

    scheme: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> CheckpointStore:
        """Build the store from a URL like ``file://./checkpoints`` or ``redis://host/0``."""

    @abstractmethod
    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        """Atomically store ``payload`` under ``meta.checkpoint_id`` (overwrite allowed)."""

    @abstractmethod
    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        """Return the metadata and payload of one checkpoint."""

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        """``checkpoint_id`` and the checkpoints its delta chain needs, newest first.

        The chain follows ``base_checkpoint_id`` and stops after a full snapshot, before a
        base in ``known`` or an id already read (see :func:`chain_base`), or where a base
        is missing (the caller reports the broken chain). A missing ``checkpoint_id``
        raises CHECKPOINT_002 like :meth:`read`. The default reads one link at a time;
        stores override it to fetch the whole chain in one round trip (one query, one
        script, one object).
        """
        links: builtins.list[Link] = []
        seen: set[str] = set()
        current: str | None = checkpoint_id
        while current is not None:
            try:
                meta, payload = await self.read(current)
            except CheckpointNotFoundError:
                if not links:
                    raise
                break
            links.append((meta, payload))
            seen.add(current)
            current = chain_base(meta, known, seen)
        return links

    @abstractmethod
    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        """Metadata of every checkpoint of ``agent_id``, newest first."""

    @abstractmethod
    async def delete(self, checkpoint_id: str) -> bool:
        """Delete one checkpoint; False when it did not exist."""

    @abstractmethod
    async def list_agents(self) -> builtins.list[str]:
        """Every agent id with at least one checkpoint."""

    @abstractmethod
    async def journal_append(self, stream: str, record: bytes) -> None:
        """Durably append one record to the journal ``stream`` (tool-call journal)."""

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        """Durably append ``records`` to ``stream`` in order, as one write where the store can.

        Group commit for the tool journal: a cycle's reply and its tool-call starts cost one
        durable write. The default appends one by one (correct, not faster); stores
        override it with one fsync, transaction or request. After a crash a prefix of
        the batch may be present, never a record without the ones before it.
        """
        for record in records:
            await self.journal_append(stream, record)

    @abstractmethod
    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        """Every record of ``stream`` in append order ([] when none)."""

    async def journal_delete(self, stream: str) -> None:  # noqa: B027
        """Drop a journal stream. Default: no-op for stores that expire journals."""

    async def close(self) -> None:  # noqa: B027
        """Release connections. Safe to call twice."""

    def location(self, checkpoint_id: str) -> str:
        """Where ``checkpoint_id`` lives, for error messages (never with a password)."""
        return f"{type(self).__name__}:{checkpoint_id}"

    async def __aenter__(self) -> CheckpointStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
