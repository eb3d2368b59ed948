"""RunStore: runs and their events kept in a Kaizen checkpoint store, selected by URL.

One mechanism for every backend: the append-only journals every storage plugin
implements (``CheckpointStore.journal_append`` / ``journal_read``; sqlite built in,
``redis://`` and ``postgresql://`` from kaizen-redis / kaizen-postgres). Streams:

* ``kaizen-serve/runs``: one record per run created (the index ``GET /runs`` lists);
* ``kaizen-serve/run/<id>``: snapshots of the run record (the last one is current) and
  resume claims (the first claim after an interrupted snapshot wins: journal order is
  the one order every process sees, so claiming needs no lock);
* ``kaizen-serve/events/<id>``: the run's events; an event's id is its position (1, 2, ...),
  which is what SSE ``Last-Event-ID`` resumes from;
* ``kaizen-serve/inbox/<worker>``: control messages (answers, interrupts) for runs that
  another server process executes;
* ``kaizen-serve/resumable``: runs a stopping server interrupted, to be resumed on start;
* ``kaizen-serve/active/<worker>``: runs a worker started and finished; a worker with a
  stable id (``kaizen serve`` with one process: ``host:port``) that finds runs it never
  finished (it was killed) resumes them when it starts again;
* ``kaizen-serve/workers``: every worker id that started on this URL; ``kaizen-serve/lease/<worker>``:
  its heartbeats (wall-clock times). A worker whose newest heartbeat is older than the lease
  died: another worker claims its unfinished runs (the same claim as a resume) and resumes them.

Agents' checkpoints go to the same URL (``checkpoint_storage``), so one URL is the
whole state of a deployment: two processes on it see each other's runs, and a
restarted one finds what its predecessor left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from kaizen_core.state.store import CheckpointStore
from kaizen_core.state.urls import open_store

__all__ = ["RUN_STATUSES", "TERMINAL", "RunEvent", "RunRecord", "RunStore"]

RunStatus = Literal["queued", "running", "completed", "failed", "interrupted"]
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "completed", "failed", "interrupted")
#: Statuses after which a run's event stream ends.
TERMINAL = frozenset({"completed", "failed", "interrupted"})

_PREFIX = "kaizen-serve"


class RunRecord(BaseModel):
    """What ``GET /runs/{id}`` answers."""

    run_id: str
    agent: str
    status: RunStatus = "queued"
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    #: The typed result (output fields + ``_meta``) of a completed run.
    result: dict[str, Any] | None = None
    #: ``{"code", "type", "message", "hint"}`` of a failed (or interrupted) run.
    error: dict[str, Any] | None = None
    #: The newest checkpoint the agent saved for this run (resume point).
    checkpoint_id: str | None = None
    #: The server process executing the run (its inbox gets answers meant for it).
    worker: str | None = None
    #: Name of the API key that started the run (never the key).
    key_name: str | None = None
    #: The validated inputs (secrets redacted); a single-shot run resumed after a restart starts from them.
    inputs: dict[str, Any] = Field(default_factory=dict)
    #: Approval / question requests waiting for an answer: request id -> the request event's data.
    pending: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Interrupted by a stopping server: the next server on this URL resumes it.
    resume_on_start: bool = False
    #: Agent id the checkpoints belong to (resuming needs it).
    agent_id: str | None = None

    def public(self) -> dict[str, Any]:
        """The JSON of the run for API answers."""
        return self.model_dump(mode="json", exclude={"resume_on_start"})


class RunEvent(BaseModel):
    """One event of a run's stream (SSE ``id``, ``event``, ``data``)."""

    id: int
    run_id: str
    type: str
    data: dict[str, Any] = Field(default_factory=dict)
    timestamp: float = Field(default_factory=time.time)


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


class RunStore:
    """Runs, events and inboxes over one checkpoint store (see the module docstring)."""

    def __init__(self, store: CheckpointStore | str) -> None:
        self.store = open_store(store) if isinstance(store, str) else store

    @classmethod
    def from_url(cls, url: str) -> RunStore:
        """The run store of ``url`` (``sqlite:///serve.db``, ``redis://...``, ``postgresql://...``)."""
        return cls(open_store(url))

    async def close(self) -> None:
        await self.store.close()

    # --- runs -------------------------------------------------------------------------------
    async def create(self, record: RunRecord) -> None:
        """Store a new run and add it to the index."""
        await self.save(record)
        await self.store.journal_append(f"{_PREFIX}/runs", _dump({"run_id": record.run_id, "agent": record.agent}))

    async def save(self, record: RunRecord) -> None:
        """Store the current snapshot of ``record``."""
        record.updated_at = time.time()
        await self.store.journal_append(
            f"{_PREFIX}/run/{record.run_id}", _dump({"kind": "record", **record.model_dump(mode="json")})
        )

    async def _entries(self, run_id: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.store.journal_read(f"{_PREFIX}/run/{run_id}")]

    async def get(self, run_id: str) -> RunRecord | None:
        """The current record of ``run_id``, or None (only the newest snapshot is parsed)."""
        for raw in reversed(await self.store.journal_read(f"{_PREFIX}/run/{run_id}")):
            entry = json.loads(raw)
            if entry.pop("kind", None) == "record":
                return RunRecord.model_validate(entry)
        return None

    async def list_runs(
        self, *, limit: int = 50, agents: set[str] | None = None, status: str | None = None
    ) -> list[RunRecord]:
        """Runs newest first; ``agents`` limits them to those agents, ``status`` to one status."""
        index = [json.loads(raw) for raw in await self.store.journal_read(f"{_PREFIX}/runs")]
        found: list[RunRecord] = []
        for entry in reversed(index):
            if agents is not None and entry["agent"] not in agents:
                continue
            record = await self.get(entry["run_id"])
            if record is None or (status is not None and record.status != status):
                continue
            found.append(record)
            if len(found) >= limit:
                break
        return found

    # --- events -----------------------------------------------------------------------------
    async def append_events(self, run_id: str, events: Sequence[RunEvent]) -> None:
        """Append ``events`` (one write where the store can); each ``id`` must be the stream's next
        position (the run's worker assigns them)."""
        records = [_dump(e.model_dump(mode="json")) for e in events]
        await self.store.journal_append_many(f"{_PREFIX}/events/{run_id}", records)

    async def events(self, run_id: str, after: int = 0) -> list[RunEvent]:
        """The events of ``run_id`` whose id is greater than ``after``, in order."""
        raw = await self.store.journal_read(f"{_PREFIX}/events/{run_id}")
        return [RunEvent.model_validate_json(r) for r in raw[after:]]

    async def event_count(self, run_id: str) -> int:
        return len(await self.store.journal_read(f"{_PREFIX}/events/{run_id}"))

    # --- messages between server processes --------------------------------------------------
    async def send(self, worker: str, message: dict[str, Any]) -> None:
        """Put ``message`` (``{"run_id", "type": "response"|"interrupt", ...}``) in ``worker``'s inbox."""
        await self.store.journal_append(f"{_PREFIX}/inbox/{worker}", _dump(message))

    async def inbox(self, worker: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages of ``worker``'s inbox past the first ``after``."""
        raw = await self.store.journal_read(f"{_PREFIX}/inbox/{worker}")
        return [json.loads(r) for r in raw[after:]]

    # --- resume after a restart -------------------------------------------------------------
    async def track(self, worker: str, run_id: str, *, started: bool) -> None:
        """Record that ``worker`` started (or finished) executing ``run_id``."""
        await self.store.journal_append(f"{_PREFIX}/active/{worker}", _dump({"run_id": run_id, "started": started}))

    async def unfinished(self, worker: str) -> list[str]:
        """Runs ``worker`` started and never finished: orphans of a process that died."""
        open_runs: dict[str, None] = {}
        for raw in await self.store.journal_read(f"{_PREFIX}/active/{worker}"):
            entry = json.loads(raw)
            if entry["started"]:
                open_runs[entry["run_id"]] = None
            else:
                open_runs.pop(entry["run_id"], None)
        return list(open_runs)

    async def mark_resumable(self, run_id: str) -> None:
        await self.store.journal_append(f"{_PREFIX}/resumable", _dump({"run_id": run_id}))

    async def resumable(self) -> list[str]:
        """Runs a stopping server left to be resumed (each once, oldest first), still waiting for it."""
        seen: list[str] = []
        for raw in await self.store.journal_read(f"{_PREFIX}/resumable"):
            run_id = json.loads(raw)["run_id"]
            if run_id not in seen:
                seen.append(run_id)
        return seen

    # --- worker leases ------------------------------------------------------------------------
    async def register_worker(self, worker: str) -> None:
        """Add ``worker`` to the workers of this URL (once per process start)."""
        await self.store.journal_append(f"{_PREFIX}/workers", _dump({"worker": worker}))

    async def workers(self) -> list[str]:
        """Every worker id that ever started on this URL, each once."""
        raw = await self.store.journal_read(f"{_PREFIX}/workers")
        return list(dict.fromkeys(json.loads(r)["worker"] for r in raw))

    async def heartbeat(self, worker: str, now: float, *, reset: bool = False) -> None:
        """Record that ``worker`` is alive at ``now``; ``reset`` first drops its older heartbeats
        (the stream stays short; a reader that finds it empty in between does not judge)."""
        stream = f"{_PREFIX}/lease/{worker}"
        if reset:
            await self.store.journal_delete(stream)
        await self.store.journal_append(stream, _dump({"at": now}))

    async def last_heartbeat(self, worker: str) -> float | None:
        """The newest heartbeat time of ``worker``, None when there is none."""
        raw = await self.store.journal_read(f"{_PREFIX}/lease/{worker}")
        return float(json.loads(raw[-1])["at"]) if raw else None

    async def claim(self, run_id: str, worker: str, *, orphaned_by: str | None = None) -> RunRecord | None:
        """Claim a run for ``worker``; the record when this worker won, else None.

        Without ``orphaned_by``: an interrupted, resumable run. With it: a run still marked
        queued/running by the dead worker ``orphaned_by``. Every contender appends a claim and
        reads the stream back: the first claim after the last snapshot wins, and only while
        that snapshot is still claimable.
        """
        await self.store.journal_append(f"{_PREFIX}/run/{run_id}", _dump({"kind": "claim", "worker": worker}))
        entries = await self._entries(run_id)
        last = max((i for i, e in enumerate(entries) if e.get("kind") == "record"), default=None)
        if last is None:
            return None
        snapshot = dict(entries[last])
        if orphaned_by is not None:
            if snapshot.get("status") in TERMINAL or snapshot.get("worker") != orphaned_by:
                return None
        elif snapshot.get("status") != "interrupted" or not snapshot.get("resume_on_start"):
            return None
        winner = next((e["worker"] for e in entries[last + 1 :] if e.get("kind") == "claim"), None)
        if winner != worker:
            return None
        snapshot.pop("kind", None)
        return RunRecord.model_validate(snapshot)
