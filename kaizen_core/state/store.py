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
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field


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
