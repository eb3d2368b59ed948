"""SQLiteStorage: checkpoints and journals in one SQLite database (scheme ``sqlite``).

WAL mode, one connection per store guarded by a lock; every blocking call runs on the
store's own I/O thread, in call order (:class:`~kaizen_core._io_thread.IOThread`),
so the event loop never waits on disk.

Disk footprint and latency: the store checkpoints the WAL itself every
:data:`WAL_AUTOCHECKPOINT_PAGES` pages, on a checkpointer thread with a connection of its
own, beside the writes (no save waits for a checkpoint), and the I/O thread copies what was
committed meanwhile right after the next commit, so the WAL starts over instead of growing;
it is cut back to :data:`WAL_SIZE_LIMIT` bytes when it starts over past that size (SQLite's
defaults let it grow to 4 MB and keep it at its peak size, which was most of a small store's
bytes). New databases
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

#: WAL pages (estimated per commit from its bytes) after which the store checkpoints the WAL
#: into the database, on its checkpointer thread (:meth:`SQLiteStorage._checkpoint_wal`): no
#: save waits for the copy and the database's fsync. (SQLite's own automatic checkpoint runs
#: inside the commit that crosses its mark: at 128 pages ~3% of the saves paid it, right at
#: the save p95.) 64 keeps the WAL within :data:`WAL_SIZE_LIMIT`, so it is not cut back and
#: grown again every cycle.
WAL_AUTOCHECKPOINT_PAGES = 64
#: SQLite's automatic checkpoint, kept as a backstop should the estimate run low (it never
#: fires while the store's own checkpoints keep up).
WAL_BACKSTOP_PAGES = 4 * WAL_AUTOCHECKPOINT_PAGES
#: Bytes the WAL file is cut back to when it starts over past that size (SQLite's default:
#: never). Up to that it stays allocated on purpose: a commit that overwrites WAL blocks fsyncs
#: about twice as fast as one that grows the file (measured on ext4; ``journal_size_limit=0``
#: doubled the commit p50).
WAL_SIZE_LIMIT = 128 * 4096
#: Most passes of one checkpoint (see :meth:`SQLiteStorage._checkpoint_wal`).
_CHECKPOINT_PASSES = 8
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
        self._wal_pages = 0  # WAL pages written since the last checkpoint was posted (I/O thread only)
        self._io = IOThread(f"kaizen-sqlite-store {self.path}")  # runs every blocking call, in order
        # WAL checkpoints run beside the writes, on a thread and connection of their own.
        self._checkpointer = IOThread(f"kaizen-sqlite-checkpoint {self.path}")
        self._checkpoint_conn: sqlite3.Connection | None = None  # the checkpointer thread's only
        self._checkpoints_closed = False
        self._checkpointer_used = False  # its thread was started (by a posted checkpoint)

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
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _wrote(self, pages: int) -> None:
        """Count ``pages`` written to the WAL by the commit just made (on the I/O thread).

        Every :data:`WAL_AUTOCHECKPOINT_PAGES` pages, a checkpoint is posted to the
        checkpointer thread: it copies the WAL into the database while this thread answers
        its caller and goes on with the next calls.
        """
        if self.path == ":memory:" or self._checkpoints_closed:  # no WAL / closing
            return
        self._wal_pages += pages
        if self._wal_pages >= WAL_AUTOCHECKPOINT_PAGES:
            self._wal_pages = 0
            self._checkpointer_used = True
            self._checkpointer.post(self._checkpoint_wal)

    def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database beside the writes (posted by :meth:`_wrote`).

        Runs on the checkpointer thread: passive checkpoints on a connection of its own,
        which SQLite runs beside a writer without blocking it. SQLite starts the WAL over
        (overwriting it from the top, so the file does not grow) at the first write that
        begins once *every* frame is copied; a commit made while a pass copies is not, so
        passes repeat until one finds no frame added since the one before (that pass copies
        nothing and costs nothing: no fsync), at most :data:`_CHECKPOINT_PASSES` times. A
        write still in flight then may commit after the last pass: the store's I/O thread
        copies what is left between two calls (:meth:`_finish_checkpoint`, usually nothing),
        so that the next write starts the WAL over.

        The commits it copies were durable before their callers were answered: this only
        moves pages into the database and fsyncs it, so it weakens nothing. A failure is
        logged (nobody awaits a posted call) and the next one tries again; SQLite's automatic
        checkpoint (:data:`WAL_BACKSTOP_PAGES`) bounds the WAL meanwhile.
        """
        if self._checkpoints_closed:
            return
        try:
            conn = self._checkpoint_conn
            if conn is None:
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
                conn.execute(f"PRAGMA synchronous={self.synchronous}")  # the database's fsync: as configured
                self._checkpoint_conn = conn
            frames = -1
            for _ in range(_CHECKPOINT_PASSES):
                _busy, log, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if log == frames:  # nothing committed since the pass before
                    break
                frames = log
        except sqlite3.DatabaseError as exc:
            logger.warning("SQLite store %s: WAL checkpoint failed (retried later): %s", self.path, exc)
        self._io.post(self._finish_checkpoint)

    def _finish_checkpoint(self) -> None:
        """Copy what the checkpointer left (a commit in flight as it ended): on the I/O thread.

        Between two calls no write is in flight, so this copies every frame, and the next
        write starts the WAL over. Nothing left to copy (the usual case) costs no fsync.
        """
        with self._lock:
            if self._conn is None:  # closed: closing checkpointed the WAL
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.DatabaseError as exc:
                logger.warning("SQLite store %s: WAL checkpoint failed (retried later): %s", self.path, exc)

    def _close_checkpointer(self) -> None:
        self._checkpoints_closed = True  # no checkpoint is posted from here on
        conn, self._checkpoint_conn = self._checkpoint_conn, None
        if conn is not None:
            conn.close()

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
        meta_json = meta.model_dump_json()
        row = (meta.checkpoint_id, meta.agent_id, meta.created_at, meta.step_number, meta_json, payload)
        # the table's leaf, the index's, a pointer-map page, the WAL header; overflow pages
        pages = 4 + (len(payload) + len(meta_json)) // 4096

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR REPLACE INTO checkpoints (checkpoint_id, agent_id, created_at, step_number, meta, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            self._wrote(pages)

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

    def _release_free_pages(self, c: sqlite3.Connection, pages: int) -> None:
        """Give free pages back to the file system once there are many (retention, prune).

        ``pages``: the WAL pages of the delete just made; a vacuum moves pages too (about two
        per page freed: the page moved and its pointer-map entry).
        """
        free = c.execute("PRAGMA freelist_count").fetchone()[0]
        if free > FREE_PAGES_LIMIT:
            c.executescript("PRAGMA incremental_vacuum;")  # execute() would step it once: one page
            pages += 2 * free
        self._wrote(pages)

    async def delete(self, checkpoint_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            deleted = bool(c.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (checkpoint_id,)).rowcount)
            if deleted:
                self._release_free_pages(c, 4)
            return deleted

        return await self._call(op)

    async def list_agents(self) -> builtins.list[str]:
        rows = await self._call(
            lambda c: c.execute("SELECT DISTINCT agent_id FROM checkpoints ORDER BY agent_id").fetchall()
        )
        return [r[0] for r in rows]

    async def journal_append(self, stream: str, record: bytes) -> None:
        await self.journal_append_many(stream, (record,))

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        rows = [(stream, record) for record in records]
        # the table's leaf and the index's (WAL header included), plus what the records fill
        pages = 2 + sum(len(stream) + len(record) for record in records) // 4096

        def op(c: sqlite3.Connection) -> None:
            if len(rows) == 1:  # one statement is its own transaction
                c.execute("INSERT INTO journal (stream, record) VALUES (?, ?)", rows[0])
            else:
                c.execute("BEGIN IMMEDIATE")
                try:
                    c.executemany("INSERT INTO journal (stream, record) VALUES (?, ?)", rows)
                except BaseException:
                    c.execute("ROLLBACK")
                    raise
                c.execute("COMMIT")
            self._wrote(pages)

        if rows:
            await self._call(op)

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        rows = await self._call(
            lambda c: c.execute("SELECT record FROM journal WHERE stream = ? ORDER BY seq", (stream,)).fetchall()
        )
        return [bytes(r[0]) for r in rows]

    async def journal_delete(self, stream: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            removed = c.execute("DELETE FROM journal WHERE stream = ?", (stream,)).rowcount
            self._release_free_pages(c, 4 + max(removed, 0) // 16)

        await self._call(op)

    def _close_sync(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def close(self) -> None:
        """Close the connections (after the calls already made) and stop the store's threads."""
        # The checkpointer first (it posts to the I/O thread); then the store's own connection,
        # the last one, which checkpoints the WAL into the database and removes it.
        if self._checkpointer_used:
            await self._checkpointer.run(self._close_checkpointer)
            self._checkpointer.stop()
        else:
            self._checkpoints_closed = True
        await self._io.run(self._close_sync)
        self._io.stop()
