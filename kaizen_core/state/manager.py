"""StateManager: save, load, resume and fork agent checkpoints on any CheckpointStore.

Incremental by default: each save stores only the changes against the agent's previous
checkpoint (new conversation turns, changed fields). The snapshot policy is driven by
bytes: a save is written as a full snapshot once the delta chain since the last snapshot
would cost a load more than a fresh snapshot (each link counted as its payload plus
:data:`LINK_BYTES`), so a load never reads much more than twice a snapshot, and a state
that only grows is not re-stored every few saves. ``full_snapshot_every`` optionally caps
the chain length as well. Loading fetches the chain with ``store.read_chain`` (one round
trip on stores that support it) and replays it. Retention keeps the newest
``retention_count`` checkpoints per agent and rewrites (compacts) a kept delta as a full
snapshot before deleting the checkpoints it needs.
"""

from __future__ import annotations

import logging
import os
import time
import typing
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from kaizen_core import _json
from kaizen_core.errors import (
    CheckpointCorruptError,
    CheckpointSaveError,
    ConfigError,
    InputValidationError,
)
from kaizen_core.state import codec
from kaizen_core.state.agent_state import AgentState, AgentStatus, new_checkpoint_id, utc_now
from kaizen_core.state.store import CheckpointMeta, CheckpointStore
from kaizen_core.state.urls import open_store

logger = logging.getLogger(__name__)

StateDict = dict[str, Any]
_AUTO: Any = object()

#: What one more link of a delta chain costs a load besides its payload, in bytes: its
#: metadata record, its header and the fixed cost of a fetch and a decode. It makes a chain
#: of many tiny deltas end in a snapshot too.
LINK_BYTES = 512


class _Head:
    """The last checkpoint this manager saved for an agent, kept decoded for cheap deltas."""

    __slots__ = ("checkpoint_id", "depth", "state")

    def __init__(self, checkpoint_id: str, state: StateDict, depth: int) -> None:
        self.checkpoint_id = checkpoint_id
        self.state = state
        self.depth = depth


def _find(metas: list[CheckpointMeta], checkpoint_id: str) -> CheckpointMeta | None:
    """The meta of ``checkpoint_id`` among ``metas`` (newest first: the usual parent is the first)."""
    return next((m for m in metas if m.checkpoint_id == checkpoint_id), None)


#: The AgentState fields holding lists and dicts: converted piece by piece against the last save.
_CONTAINERS: set[str] = {
    name for name, f in AgentState.model_fields.items() if typing.get_origin(f.annotation) in (list, dict)
}


def _to_json(state: AgentState, previous: StateDict | None) -> StateDict:
    """``state.model_dump(mode="json")``, reusing the parts equal to ``previous`` (the head's state).

    A save then costs a compare of what was saved before plus the conversion of what is
    new, not a conversion of the whole history; the result shares the equal parts with
    ``previous`` (never modified: heads are replaced, not edited).
    """
    if previous is None:
        return state.model_dump(mode="json")
    out = state.model_dump(mode="json", exclude=_CONTAINERS)
    for name in _CONTAINERS:
        value = getattr(state, name)
        out[name] = codec.jsonable(value, previous[name]) if name in previous else to_jsonable_python(value)
    return {name: out[name] for name in type(state).model_fields}  # the field order of model_dump


def _deep_copy(value: StateDict) -> StateDict:
    copied: StateDict = _json.loads(_json.dumps(value))
    return copied


class StateManager:
    """Checkpoint agents to a store (object or URL such as ``file://./checkpoints``).

    Args:
        storage: a :class:`CheckpointStore`, a path, or a URL (``file://``, ``sqlite://``,
            or a plugin scheme). A store opened from a URL is closed by :meth:`close`.
            ``storage_backend=`` is the same argument under its other documented name.
        checkpoint_frequency: :meth:`should_checkpoint` is true every this many steps (0: never).
        checkpoint_interval: ... or when this many seconds passed since the last save (0: never).
        retention_count: newest checkpoints kept per agent (0 or None: keep all).
        hook_manager: fires PRE/POST_CHECKPOINT_SAVE; a blocking PRE result skips the save.
        incremental: store deltas against the previous checkpoint.
        full_snapshot_every: optional cap on the chain: at most ``full_snapshot_every - 1``
            deltas follow a snapshot (default None: only the byte policy decides).
        clock: monotonic seconds for ``checkpoint_interval`` (default :func:`time.monotonic`;
            tests pass a fake clock).
    """

    def __init__(
        self,
        storage: CheckpointStore | str | os.PathLike[str] | None = None,
        checkpoint_frequency: int = 10,
        checkpoint_interval: float = 60.0,
        retention_count: int | None = 100,
        hook_manager: Any = None,
        incremental: bool = True,
        full_snapshot_every: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        storage_backend: CheckpointStore | str | os.PathLike[str] | None = None,
    ) -> None:
        if storage is None:
            storage = storage_backend
        elif storage_backend is not None and storage_backend is not storage:
            raise ConfigError("pass the checkpoint store once: storage= and storage_backend= name the same argument")
        if storage is None:
            raise ConfigError(
                "StateManager needs a checkpoint store",
                hint="StateManager(storage=FilesystemStorage(base_dir='./checkpoints')) or a URL such as 'file://./checkpoints'",
            )
        if full_snapshot_every is not None and full_snapshot_every < 1:
            raise ConfigError("full_snapshot_every must be at least 1")
        if retention_count is not None and retention_count < 0:
            raise ConfigError("retention_count must be >= 0 (0 or None keeps every checkpoint)")
        self._owns_store = not isinstance(storage, CheckpointStore)
        self.storage: CheckpointStore = open_store(storage)
        self.checkpoint_frequency = checkpoint_frequency
        self.checkpoint_interval = checkpoint_interval
        self.retention_count = retention_count or 0
        self.hook_manager = hook_manager
        self.incremental = incremental
        self.full_snapshot_every = full_snapshot_every
        self._heads: dict[str, _Head] = {}
        self._metas: dict[str, list[CheckpointMeta]] = {}
        self._last_save: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self.clock = clock
        self._started = clock()

    # -- public API ----------------------------------------------------------------------
    async def save_checkpoint(self, state: AgentState | Mapping[str, Any], force: bool = False) -> str | None:
        """Save ``state`` and return the new checkpoint id.

        ``state`` is an :class:`AgentState` (or a dict of its fields, validated: EXEC_001
        when invalid). It gets a fresh ``checkpoint_id`` (readable and unique, e.g.
        ``research_agent_step_10_20231025_120000_3f9a1c2e``, see
        :func:`~kaizen_core.state.agent_state.new_checkpoint_id`) and a
        ``parent_checkpoint_id`` (its own previous checkpoint when it came from one of this
        agent's checkpoints, else the agent's newest); ``updated_at`` is set to now. With a
        hook manager, PRE_CHECKPOINT_SAVE runs first: a result with ``blocked`` skips the
        save and returns None, unless ``force`` is true (used for interrupt checkpoints).
        """
        state = AgentState.coerce(state)
        hooks = self.hook_manager
        if hooks is not None and hooks.has_handlers("pre_checkpoint_save"):
            from kaizen_core.hooks import HookEvent

            results = await hooks.trigger(
                HookEvent.PRE_CHECKPOINT_SAVE,
                agent_id=state.agent_id,
                metadata={"step_number": state.step_number, "status": state.status, "force": force},
            )
            blocked = [r for r in results if r.blocked]
            if blocked and not force:
                logger.info(
                    "checkpoint of agent %s skipped: blocked by a PRE_CHECKPOINT_SAVE hook (%s)",
                    state.agent_id,
                    blocked[0].reason,
                )
                return None
        meta = await self._save(state, _AUTO, {})
        if hooks is not None and hooks.has_handlers("post_checkpoint_save"):
            from kaizen_core.hooks import HookEvent

            await hooks.trigger(
                HookEvent.POST_CHECKPOINT_SAVE,
                agent_id=state.agent_id,
                metadata={
                    "checkpoint_id": meta.checkpoint_id,
                    "parent_checkpoint_id": meta.parent_checkpoint_id,
                    "step_number": meta.step_number,
                    "kind": meta.kind,
                    "size_bytes": meta.size_bytes,
                },
            )
        return meta.checkpoint_id

    #: Alias of :meth:`save_checkpoint` (the name the quick reference uses).
    save_state = save_checkpoint

    async def create_checkpoint(
        self,
        agent_id: str,
        description: str = "",
        state_data: Mapping[str, Any] | None = None,
        *,
        step_number: int | None = None,
        status: AgentStatus = "running",
        force: bool = False,
    ) -> str | None:
        """Save a checkpoint of ``agent_id`` holding ``state_data`` and return its id.

        A shorthand for :meth:`save_checkpoint`: the state has ``custom_state=state_data``
        (JSON values) and ``metadata["description"]=description``; its step number is the
        agent's newest checkpoint's (0 for the first) unless given, so a checkpoint taken
        "before a risky operation" sits at the step the agent is at.
        """
        if step_number is None:
            metas = await self._known(agent_id)
            step_number = metas[0].step_number if metas else 0
        state = AgentState(
            agent_id=agent_id,
            step_number=step_number,
            status=status,
            custom_state=dict(state_data or {}),
            metadata={"description": description} if description else {},
        )
        return await self.save_checkpoint(state, force=force)

    async def load_checkpoint(self, checkpoint_id: str) -> AgentState:
        """The exact state saved as ``checkpoint_id`` (CHECKPOINT_002 if missing or corrupt)."""
        state = await self._load_dict(checkpoint_id)
        return self._to_model(state, checkpoint_id)

    async def resume_from_latest(self, agent_id: str) -> AgentState | None:
        """The agent's newest checkpoint, or None when it has none."""
        metas = await self.list_checkpoints(agent_id)
        if not metas:
            return None
        return await self.load_checkpoint(metas[0].checkpoint_id)

    async def fork_from_checkpoint(self, checkpoint_id: str, new_agent_id: str | None = None) -> AgentState:
        """Save an independent copy of ``checkpoint_id`` (under ``new_agent_id`` if given).

        The fork gets a new checkpoint id, records ``checkpoint_id`` as its parent, and
        shares no objects with the source: changing one never changes the other.
        """
        state = await self.load_checkpoint(checkpoint_id)
        if new_agent_id is not None:
            state.agent_id = new_agent_id
        await self._save(state, checkpoint_id, {"forked_from": checkpoint_id})
        return state

    async def list_checkpoints(self, agent_id: str) -> list[CheckpointMeta]:
        """Metadata of the agent's checkpoints, newest first (read from the store)."""
        metas = await self.storage.list(agent_id)
        self._metas[agent_id] = list(metas)
        return metas

    async def get_checkpoint_tree(self, agent_id: str) -> dict[str, Any]:
        """The agent's checkpoints as a tree of parent links.

        Returns ``{"agent_id", "count", "roots": [id, ...], "nodes": {id: node}}`` where a node is
        ``{"checkpoint_id", "parent_checkpoint_id", "step_number", "status", "created_at",
        "kind", "children": [id, ...]}`` (children oldest first). Roots are checkpoints whose
        parent is not among the agent's checkpoints (first saves, forks from other agents,
        parents removed by retention).
        """
        metas = await self.list_checkpoints(agent_id)
        nodes: dict[str, dict[str, Any]] = {}
        for m in reversed(metas):  # oldest first
            nodes[m.checkpoint_id] = {
                "checkpoint_id": m.checkpoint_id,
                "parent_checkpoint_id": m.parent_checkpoint_id,
                "step_number": m.step_number,
                "status": m.status,
                "created_at": m.created_at,
                "kind": m.kind,
                "children": [],
            }
        roots: list[str] = []
        for cid, node in nodes.items():
            parent = nodes.get(node["parent_checkpoint_id"] or "")
            if parent is None:
                roots.append(cid)
            else:
                parent["children"].append(cid)
        return {"agent_id": agent_id, "count": len(nodes), "roots": roots, "nodes": nodes}

    def should_checkpoint(self, agent_id: str, step: int) -> bool:
        """True when ``checkpoint_frequency`` steps or ``checkpoint_interval`` seconds passed since the last save."""
        last_step, last_time = self._last_save.get(agent_id, (0, self._started))
        if self.checkpoint_frequency > 0 and step - last_step >= self.checkpoint_frequency:
            return True
        return self.checkpoint_interval > 0 and self.clock() - last_time >= self.checkpoint_interval

    async def delete_checkpoint(self, checkpoint_id: str) -> bool:
        """Delete one checkpoint; deltas based on it are compacted first so they still load."""
        meta = await self._find_meta(checkpoint_id)
        if meta is None:
            return False
        async with self._lock(meta.agent_id):
            metas = await self._known(meta.agent_id)
            for child in [m for m in metas if m.kind == "delta" and m.base_checkpoint_id == checkpoint_id]:
                try:
                    await self._compact(child)
                except CheckpointCorruptError as exc:  # it was unloadable before this delete too
                    logger.warning("checkpoint %s could not be compacted: %s", child.checkpoint_id, exc)
            deleted = await self.storage.delete(checkpoint_id)
            self._metas[meta.agent_id] = [m for m in metas if m.checkpoint_id != checkpoint_id]
            head = self._heads.get(meta.agent_id)
            if head is not None and head.checkpoint_id == checkpoint_id:
                del self._heads[meta.agent_id]
        return deleted

    #: Alias of :meth:`delete_checkpoint`.
    delete = delete_checkpoint

    async def prune_checkpoints(self, agent_id: str, keep: int) -> list[str]:
        """Delete all but the agent's ``keep`` newest checkpoints (as retention does); returns the deleted ids."""
        if keep < 0:
            raise ConfigError("keep must be >= 0")
        async with self._lock(agent_id):
            await self.list_checkpoints(agent_id)
            return await self._prune(agent_id, keep)

    async def journal_append(self, stream: str, entry: dict[str, Any]) -> None:
        """Durably append a JSON entry to the journal ``stream`` (e.g. a tool-call journal)."""
        try:
            record = _json.dumps(entry)
        except TypeError as exc:
            raise InputValidationError(f"journal entry for {stream!r} is not JSON-serialisable: {exc}") from None
        await self.storage.journal_append(stream, record)

    async def journal_append_many(self, stream: str, entries: list[dict[str, Any]]) -> None:
        """Durably append JSON entries to ``stream`` in order, as one store write (group commit)."""
        try:
            records = [_json.dumps(entry) for entry in entries]
        except TypeError as exc:
            raise InputValidationError(f"journal entry for {stream!r} is not JSON-serialisable: {exc}") from None
        await self.storage.journal_append_many(stream, records)

    async def journal_read(self, stream: str) -> list[dict[str, Any]]:
        """Every entry of ``stream`` in append order ([] when none)."""
        entries = []
        for number, record in enumerate(await self.storage.journal_read(stream), start=1):
            try:
                entries.append(_json.loads(record))
            except _json.JSONDecodeError:
                raise CheckpointCorruptError(f"journal {stream!r} record {number} is not JSON") from None
        return entries

    async def journal_delete(self, stream: str) -> None:
        """Drop the journal ``stream``."""
        await self.storage.journal_delete(stream)

    async def close(self) -> None:
        """Close the store if this manager opened it from a URL."""
        if self._owns_store:
            await self.storage.close()

    async def __aenter__(self) -> StateManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals -----------------------------------------------------------------------
    def _lock(self, agent_id: str) -> anyio.Lock:
        lock = self._locks.get(agent_id)
        if lock is None:
            lock = self._locks[agent_id] = anyio.Lock()
        return lock

    async def _known(self, agent_id: str) -> list[CheckpointMeta]:
        metas = self._metas.get(agent_id)
        if metas is None:
            metas = self._metas[agent_id] = await self.storage.list(agent_id)
        return metas

    async def _find_meta(self, checkpoint_id: str) -> CheckpointMeta | None:
        for metas in self._metas.values():
            for m in metas:
                if m.checkpoint_id == checkpoint_id:
                    return m
        for agent_id in await self.storage.list_agents():
            for m in await self.list_checkpoints(agent_id):
                if m.checkpoint_id == checkpoint_id:
                    return m
        return None

    async def _save(self, state: AgentState, parent: Any, extra: dict[str, Any]) -> CheckpointMeta:
        agent_id = state.agent_id
        async with self._lock(agent_id):
            metas = await self._known(agent_id)
            if parent is _AUTO:
                if _find(metas, state.checkpoint_id) is not None:
                    parent = state.checkpoint_id
                else:
                    parent = metas[0].checkpoint_id if metas else None
            new_id = new_checkpoint_id(agent_id, state.step_number)
            while _find(metas, new_id) is not None:  # 32 random bits: practically never, but an id must not overwrite
                new_id = new_checkpoint_id(agent_id, state.step_number)
            old_ids = (state.checkpoint_id, state.parent_checkpoint_id, state.updated_at)
            state.checkpoint_id, state.parent_checkpoint_id, state.updated_at = new_id, parent, utc_now()
            head = self._heads.get(agent_id)
            try:
                try:
                    new_state = _to_json(state, head.state if head is not None else None)
                except ValueError as exc:  # pydantic cannot serialize a value
                    raise CheckpointSaveError(
                        f"checkpoint of agent {agent_id} not saved: the state is not JSON-serializable ({exc})",
                        hint="keep custom_state, memory_contents and history to JSON values",
                    ) from exc
                base_meta = _find(metas, parent) if parent is not None else None
                kept_after = {new_id, *(m.checkpoint_id for m in metas[: max(self.retention_count - 1, 0)])}
                use_delta = (
                    self.incremental
                    and base_meta is not None
                    and (self.full_snapshot_every is None or self._depth(base_meta) + 1 < self.full_snapshot_every)
                    and (not self.retention_count or base_meta.checkpoint_id in kept_after)
                )
                depth = chain_bytes = 0
                snapshot_bytes: int | None = None
                ratio: float | None = None
                payload = b""
                if use_delta and base_meta is not None:
                    if head is not None and head.checkpoint_id == base_meta.checkpoint_id:
                        base_state = head.state
                    else:
                        base_state = await self._load_dict(base_meta.checkpoint_id)
                    payload, raw = codec.encode_delta_sized(base_meta.checkpoint_id, base_state, new_state)
                    chain_bytes, snapshot_bytes, ratio = self._chain_cost(base_meta)
                    chain_bytes += len(payload) + LINK_BYTES
                    depth = self._depth(base_meta) + 1
                    if snapshot_bytes is not None and ratio is not None:
                        # The snapshot grows by about what the delta adds, compressed as well as the
                        # state was: an estimate, so a snapshot is encoded only to be written.
                        snapshot_bytes += round(raw * ratio)
                    if snapshot_bytes is None or chain_bytes > snapshot_bytes:
                        # The chain may now cost a load more than a snapshot: measure one.
                        full, full_raw = codec.encode_full_sized(new_state)
                        measured, ratio = len(full) + LINK_BYTES, len(full) / full_raw
                        if measured <= chain_bytes:
                            payload, depth, chain_bytes = full, 0, 0
                        else:
                            snapshot_bytes = measured  # the estimate was low; estimate on from here
                if not depth:
                    if not payload:
                        payload, full_raw = codec.encode_full_sized(new_state)
                        ratio = len(payload) / full_raw
                    snapshot_bytes = len(payload) + LINK_BYTES
                created = time.time()
                if metas and created <= metas[0].created_at:
                    created = metas[0].created_at + 1e-6  # keep "newest first" strict
                meta = CheckpointMeta(
                    checkpoint_id=new_id,
                    agent_id=agent_id,
                    parent_checkpoint_id=parent,
                    step_number=state.step_number,
                    status=state.status,
                    created_at=created,
                    kind="delta" if depth else "full",
                    base_checkpoint_id=parent if depth else None,
                    size_bytes=len(payload),
                    extra={
                        **extra,
                        "depth": depth,
                        "chain_bytes": chain_bytes,
                        "snapshot_bytes": snapshot_bytes,
                        "snapshot_ratio": None if ratio is None else round(ratio, 4),
                    },
                )
                await self.storage.write(meta, payload)
            except BaseException:
                state.checkpoint_id, state.parent_checkpoint_id, state.updated_at = old_ids
                raise
            self._heads[agent_id] = _Head(new_id, new_state, depth)
            metas.insert(0, meta)
            self._last_save[agent_id] = (state.step_number, self.clock())
            await self._apply_retention(agent_id)
            return meta

    @staticmethod
    def _chain_cost(meta: CheckpointMeta) -> tuple[int, int | None, float | None]:
        """(bytes of the delta chain ending at ``meta``, estimated bytes of a snapshot, compression ratio).

        The ratio is compressed / JSON bytes of the last snapshot encoded. Checkpoints written
        before the byte policy lack the figures: the chain is estimated from its depth and the
        snapshot is unknown (None: measure one now); without a ratio the snapshot estimate
        stays at its last measurement.
        """
        ratio = meta.extra.get("snapshot_ratio")
        ratio = float(ratio) if isinstance(ratio, int | float) and not isinstance(ratio, bool) else None
        if meta.kind == "full":
            return 0, meta.size_bytes + LINK_BYTES, ratio
        chain, snapshot = meta.extra.get("chain_bytes"), meta.extra.get("snapshot_bytes")
        if not isinstance(chain, int):
            chain = StateManager._depth(meta) * (meta.size_bytes + LINK_BYTES)
        return chain, snapshot if isinstance(snapshot, int) else None, ratio

    @staticmethod
    def _depth(meta: CheckpointMeta) -> int:
        if meta.kind == "full":
            return 0
        depth = meta.extra.get("depth")
        return depth if isinstance(depth, int) else 1_000_000

    async def _apply_retention(self, agent_id: str) -> None:
        if self.retention_count:
            await self._prune(agent_id, self.retention_count)

    async def _prune(self, agent_id: str, keep: int) -> list[str]:
        """Keep the ``keep`` newest known checkpoints (kept deltas whose base goes are compacted first)."""
        metas = self._metas[agent_id]
        if len(metas) <= keep:
            return []
        kept, doomed = metas[:keep], metas[keep:]
        kept_ids = {m.checkpoint_id for m in kept}
        for m in kept:
            if m.kind == "delta" and m.base_checkpoint_id not in kept_ids:
                await self._compact(m)
        for m in doomed:
            await self.storage.delete(m.checkpoint_id)
            logger.debug("retention deleted checkpoint %s of agent %s", m.checkpoint_id, agent_id)
        self._metas[agent_id] = self._metas[agent_id][:keep]
        head = self._heads.get(agent_id)
        if head is not None and head.checkpoint_id not in kept_ids:
            del self._heads[agent_id]
        return [m.checkpoint_id for m in doomed]

    async def _compact(self, meta: CheckpointMeta) -> None:
        """Rewrite a delta checkpoint as a full snapshot (same id, same state)."""
        state = await self._load_dict(meta.checkpoint_id)
        payload, raw = codec.encode_full_sized(state)
        extra = {
            **meta.extra,
            "depth": 0,
            "chain_bytes": 0,
            "snapshot_bytes": len(payload) + LINK_BYTES,
            "snapshot_ratio": round(len(payload) / raw, 4),
        }
        full = meta.model_copy(
            update={"kind": "full", "base_checkpoint_id": None, "size_bytes": len(payload), "extra": extra}
        )
        await self.storage.write(full, payload)
        metas = self._metas.get(meta.agent_id, [])
        for i, m in enumerate(metas):
            if m.checkpoint_id == meta.checkpoint_id:
                metas[i] = full
        head = self._heads.get(meta.agent_id)
        if head is not None and head.checkpoint_id == meta.checkpoint_id:
            head.depth = 0

    async def _load_dict(self, checkpoint_id: str) -> StateDict:
        heads = {h.checkpoint_id: h for h in self._heads.values()}
        head = heads.get(checkpoint_id)
        if head is not None:
            return _deep_copy(head.state)
        links = await self.storage.read_chain(checkpoint_id, known=heads.keys())
        chain: list[tuple[str, dict[str, Any]]] = []
        expected = checkpoint_id
        seen: set[str] = set()
        state: StateDict | None = None
        for meta, payload in links:
            location = self.storage.location(meta.checkpoint_id)
            if meta.checkpoint_id != expected:
                raise CheckpointCorruptError(
                    f"checkpoint {self.storage.location(checkpoint_id)}: the store returned {location} where "
                    f"its delta chain needs {expected!r}",
                    hint="the stored data is inconsistent; load another checkpoint",
                )
            seen.add(expected)
            body = codec.decode(payload, location)
            if body["kind"] == "full":
                state = body["state"]
                break
            if meta.base_checkpoint_id is not None and body["base"] != meta.base_checkpoint_id:
                raise CheckpointCorruptError(f"checkpoint {location} disagrees with its metadata about its base")
            chain.append((location, body))
            expected = body["base"]
            if expected in seen:
                raise CheckpointCorruptError(
                    f"checkpoint {self.storage.location(checkpoint_id)} has a cyclic delta chain"
                )
            base_head = heads.get(expected)
            if base_head is not None:
                state = _deep_copy(base_head.state)
                break
        if state is None:
            raise CheckpointCorruptError(
                f"checkpoint {self.storage.location(checkpoint_id)} needs base checkpoint {expected!r}, which is missing",
                hint="the delta chain is broken; load an older full checkpoint",
            )
        for location, body in reversed(chain):
            state = codec.apply_delta(state, body, location)
        if state.get("checkpoint_id") != checkpoint_id:
            raise CheckpointCorruptError(
                f"checkpoint {self.storage.location(checkpoint_id)} decodes to checkpoint {state.get('checkpoint_id')!r}",
                hint="the stored data is inconsistent; load another checkpoint",
            )
        return state

    def _to_model(self, state: StateDict, checkpoint_id: str) -> AgentState:
        try:
            return AgentState.model_validate(state)
        except ValidationError as exc:
            raise CheckpointCorruptError(
                f"checkpoint {self.storage.location(checkpoint_id)} is not a valid AgentState: {exc.error_count()} errors",
            ) from None
