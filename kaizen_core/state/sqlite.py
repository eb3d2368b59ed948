"""SQLiteStorage: checkpoints and journals in one SQLite database (scheme ``sqlite``).

WAL mode, one connection per store guarded by a lock; every blocking call runs on the
store's own I/O thread, in call order (:class:`~kaizen_core._io_thread.IOThread`),
so the event loop never waits on disk.

Disk footprint: the WAL is checkpointed every :data:`WAL_AUTOCHECKPOINT_PAGES` pages and
truncated back to :data:`WAL_SIZE_LIMIT` bytes afterwards (SQLite's defaults let it grow to
4 MB and keep it at its peak size, which was most of a small store's bytes); a checkpoint
write of :data:`WAL_PIGGYBACK_PAGES` pages or more (a large snapshot) checkpoints the WAL
right after it, in the same worker call, so the saves that pay a checkpoint are mostly the
slow ones already. New databases
use ``auto_vacuum=INCREMENTAL``: pages freed by deletes are reused, and given back to the
file system once more than :data:`FREE_PAGES_LIMIT` are free. A delta chain
is read in one worker-thread call and one read transaction; a journal batch is one
transaction (one fsync).
"""

from __future__ import annotations

import builtins
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from kaizen_core._io_thread import IOThread
from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError, ConfigError, StorageError
from kaizen_core.state.store import CheckpointMeta, CheckpointStore, Link, chain_base
from kaizen_core.urls import parse_sqlite_url, sqlite_url

__all__ = ["SQLiteStorage", "parse_sqlite_url"]

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: WAL pages written before SQLite copies them into the database (its default: 1000 = 4 MB).
#: A small save writes ~4 pages: at 64, ~6% of saves paid the copy and its extra fsync, right
#: at the save p95; at 128 ~3% do (measured, bench_checkpoints: sqlite incremental p95 12.6-14.5
#: -> 11.3-11.4 ms on the loaded dev VM, p50 unchanged). Costs up to 256 KB more WAL on disk
#: just before a checkpoint (the WAL is cut back to :data:`WAL_SIZE_LIMIT` after it).
WAL_AUTOCHECKPOINT_PAGES = 128
#: Bytes the WAL file is truncated to after a checkpoint (its default: never truncated). Kept
#: allocated on purpose: a commit that overwrites WAL blocks fsyncs about twice as fast as one
#: that grows the file (measured on ext4; ``journal_size_limit=0`` doubled the commit p50).
WAL_SIZE_LIMIT = 64 * 4096
#: A checkpoint payload of at least this many 4 KB pages checkpoints the WAL with its write:
#: the checkpoint's fsync of the database then lands on a save that is slow anyway, not on
#: one of the many small deltas that would otherwise fill the WAL.
WAL_PIGGYBACK_PAGES = 8
#: Free pages (left by deleted checkpoints and journals) above which a delete returns
#: them to the file system (``PRAGMA incremental_vacuum``) instead of keeping them for reuse.
FREE_PAGES_LIMIT = 256

#: ``seq`` is the rowid: a new row gets the largest one plus one, so a stream reads back in
#: append order. (Databases created before have ``AUTOINCREMENT``, which never reuses the
#: rowid of a deleted row and costs every journal commit a write to ``sqlite_sequence``: a
#: fourth WAL page besides the table, its index and the header; both orders are the same.)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    checkpoint_id TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    created_at    REAL NOT NULL,
    step_number   INTEGER NOT NULL,
    meta          TEXT NOT NULL,
    payload       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_agent ON checkpoints (agent_id, created_at, step_number);
CREATE TABLE IF NOT EXISTS journal (
    seq     INTEGER PRIMARY KEY,
    stream  TEXT NOT NULL,
    record  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_stream ON journal (stream, seq);
"""


class SQLiteStorage(CheckpointStore):
    """Checkpoints in SQLite (WAL). ``path`` may be ``":memory:"``."""

    scheme: ClassVar[str] = "sqlite"

    def __init__(self, path: str | os.PathLike[str], synchronous: str = "FULL") -> None:
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._io = IOThread(f"kaizen-sqlite-store {self.path}")  # runs every blocking call, in order

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteStorage:
        path, query = parse_sqlite_url(url)
        unknown = sorted(set(query) - {"synchronous"})
        if unknown:
            raise ConfigError(f"unknown sqlite store URL option(s): {', '.join(unknown)}", hint="known: synchronous")
        return cls(path, **{**query, **options})

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.path!r})"

    def location(self, checkpoint_id: str) -> str:
        return f"{sqlite_url(self.path)} (checkpoint {checkpoint_id})"

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"SQLite store {self.path} is closed")
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # a new database only, and before WAL mode
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _checkpoint_wal(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database now (after a large write; see :data:`WAL_PIGGYBACK_PAGES`).

        The write is committed by then: a checkpoint that fails does not make it fail (the
        caller would retry a write that happened). It is logged, and SQLite's automatic
        checkpoint tries again.
        """
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.DatabaseError as exc:
            logger.warning("SQLite store %s: WAL checkpoint failed (retried later): %s", self.path, exc)

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return fn(self._connect())
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"SQLite checkpoint store {self.path} failed: {exc}") from exc

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:  # fail without starting a thread (_connect checks again, in order)
            raise StorageError(f"SQLite store {self.path} is closed")
        return await self._io.run(self._run, fn)

    def _meta(self, checkpoint_id: str, raw: str) -> CheckpointMeta:
        try:
            return CheckpointMeta.model_validate_json(raw)
        except ValueError:
            raise CheckpointCorruptError(
                f"checkpoint {self.location(checkpoint_id)} has unreadable metadata",
                hint="delete it or restore the database from a backup",
            ) from None

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        row = (meta.checkpoint_id, meta.agent_id, meta.created_at, meta.step_number, meta.model_dump_json(), payload)
        large = len(payload) >= WAL_PIGGYBACK_PAGES * 4096 and self.path != ":memory:"

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR REPLACE INTO checkpoints (checkpoint_id, agent_id, created_at, step_number, meta, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            if large:
                self._checkpoint_wal(c)

        await self._call(op)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        row = await self._call(
            lambda c: c.execute(
                "SELECT meta, payload FROM checkpoints WHERE checkpoint_id = ?", (checkpoint_id,)
            ).fetchone()
        )
        if row is None:
            raise CheckpointNotFoundError(
                f"no checkpoint {checkpoint_id!r} in {self.path}",
                hint="list_checkpoints(agent_id) shows the ids that exist",
            )
        return self._meta(checkpoint_id, row[0]), bytes(row[1])

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        def op(c: sqlite3.Connection) -> builtins.list[Link]:
            links: builtins.list[Link] = []
            seen: set[str] = set()
            current: str | None = checkpoint_id
            c.execute("BEGIN")  # one snapshot of the database for the whole chain
            try:
                while current is not None:
                    row = c.execute(
                        "SELECT meta, payload FROM checkpoints WHERE checkpoint_id = ?", (current,)
                    ).fetchone()
                    if row is None:
                        break
                    meta = self._meta(current, row[0])
                    links.append((meta, bytes(row[1])))
                    seen.add(current)
                    current = chain_base(meta, known, seen)
            finally:
                c.execute("COMMIT")
            return links

        links = await self._call(op)
        if not links:
            raise CheckpointNotFoundError(
                f"no checkpoint {checkpoint_id!r} in {self.path}",
                hint="list_checkpoints(agent_id) shows the ids that exist",
            )
        return links

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        rows = await self._call(
            lambda c: c.execute(
                "SELECT checkpoint_id, meta FROM checkpoints WHERE agent_id = ?"
                " ORDER BY created_at DESC, step_number DESC, rowid DESC",
                (agent_id,),
            ).fetchall()
        )
        return [self._meta(cid, raw) for cid, raw in rows]

    @staticmethod
    def _release_free_pages(c: sqlite3.Connection) -> None:
        """Give free pages back to the file system once there are many (retention, prune)."""
        if c.execute("PRAGMA freelist_count").fetchone()[0] > FREE_PAGES_LIMIT:
            c.executescript("PRAGMA incremental_vacuum;")  # execute() would step it once: one page

    async def delete(self, checkpoint_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            deleted = bool(c.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (checkpoint_id,)).rowcount)
            if deleted:
                self._release_free_pages(c)
            return deleted

        return await self._call(op)

    async def list_agents(self) -> builtins.list[str]:
        rows = await self._call(
            lambda c: c.execute("SELECT DISTINCT agent_id FROM checkpoints ORDER BY agent_id").fetchall()
        )
        return [r[0] for r in rows]

    async def journal_append(self, stream: str, record: bytes) -> None:
        await self._call(lambda c: c.execute("INSERT INTO journal (stream, record) VALUES (?, ?)", (stream, record)))

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        rows = [(stream, record) for record in records]

        def op(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            try:
                c.executemany("INSERT INTO journal (stream, record) VALUES (?, ?)", rows)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

        if rows:
            await self._call(op)

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        rows = await self._call(
            lambda c: c.execute("SELECT record FROM journal WHERE stream = ? ORDER BY seq", (stream,)).fetchall()
        )
        return [bytes(r[0]) for r in rows]

    async def journal_delete(self, stream: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM journal WHERE stream = ?", (stream,))
            self._release_free_pages(c)

        await self._call(op)

    def _close_sync(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def close(self) -> None:
        """Close the connection (after the calls already made) and stop the store's I/O thread."""
        await self._io.run(self._close_sync)
        self._io.stop()
