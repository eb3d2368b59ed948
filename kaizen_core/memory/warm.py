"""WarmMemoryTier: the ``sqlite://`` tier (WAL, TTL, zlib compression, FTS5 search).

``sqlite:///rel/memory.db`` (relative) or ``sqlite:////abs/memory.db`` (absolute) opens
(and creates) the database file; the grammar is :mod:`kaizen_core.urls`, the same as for
checkpoint stores, and ``sqlite://`` is an in-memory database. Every tier on
the same file shares one table; rows are keyed by ``(namespace, key)`` so namespaces
never see each other. Values are compact JSON, zlib-compressed when their UTF-8 size
exceeds ``compress_threshold`` bytes (default 1024; ``None`` disables compression).

Every blocking sqlite call runs on the tier's own I/O thread
(:class:`~kaizen_core._io_thread.IOThread`), one at a time and in the order the calls were
made, so the event loop never blocks; the tier's one connection is only ever used on that
thread. A call whose caller is cancelled still runs whole (a write is never half-applied).
:meth:`WarmMemoryTier.close` closes the connection after the calls already made and stops
the thread. The database runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout,
so several processes (and several tiers of one process, each with its own connection and
thread) can share the file.

Full-text search: text of string values and of dicts' ``"content"`` field is indexed in
an FTS5 table (when the sqlite build has FTS5) and :meth:`WarmMemoryTier.search_text`
ranks matches with BM25.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from kaizen_core._io_thread import IOThread
from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory.codec import (
    LatencyRecorder,
    check_key,
    check_ttl,
    compress,
    decode_value,
    decompress,
    encode_value,
)
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_core.urls import parse_sqlite_url, sqlite_url

__all__ = ["WarmMemoryTier"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kaizen_memory (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    compressed INTEGER NOT NULL DEFAULT 0,
    expires_at REAL,
    updated_at REAL NOT NULL,
    UNIQUE (namespace, key)
);
CREATE INDEX IF NOT EXISTS kaizen_memory_expiry ON kaizen_memory (expires_at) WHERE expires_at IS NOT NULL;
"""
_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS kaizen_memory_fts USING fts5(body, tokenize = 'unicode61');
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_WORD = re.compile(r"\w+", re.UNICODE)


def indexed_text(value: Any) -> str | None:
    """The text the FTS index holds for ``value`` (see :class:`~kaizen_core.memory.tier.TextSearchable`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def fts_query(query: str) -> str | None:
    """Turn free text into a safe FTS5 query: every word quoted, OR-ed. None when no word."""
    words = _WORD.findall(query.lower())
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class WarmMemoryTier(MemoryTier):
    """Persistent tier in one SQLite file."""

    scheme: ClassVar[str] = "sqlite"

    def __init__(
        self,
        path: str | Path,
        namespace: str = "default",
        *,
        compress_threshold: int | None = 1024,
        default_ttl: float | None = None,
        busy_timeout: float = 30.0,
        fts: bool = True,
    ) -> None:
        super().__init__(namespace)
        self.path = Path(path)
        self.compress_threshold = compress_threshold
        self.default_ttl = check_ttl(default_ttl)
        self._busy_timeout = busy_timeout
        self._want_fts = fts
        self.has_fts = False
        self._conn: sqlite3.Connection | None = None  # used on self._io's thread only
        self._closed = False
        self._io = IOThread(f"kaizen-sqlite-memory {self.path}")  # runs every blocking call, in order
        self._stats = TierStats(name=f"sqlite:{namespace}")
        self._latency = LatencyRecorder()

    @property
    def url(self) -> str:
        return sqlite_url(self.path)

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> WarmMemoryTier:
        """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite://`` (in memory).

        Query parameters ``compress_threshold`` (int or ``none``) and ``default_ttl``
        are accepted; keyword options win over them.
        """
        path, raw_query = parse_sqlite_url(url)
        query: dict[str, Any] = dict(raw_query)
        if "compress_threshold" in query:
            raw = query["compress_threshold"]
            query["compress_threshold"] = None if raw in ("", "none") else int(raw)
        if "default_ttl" in query:
            query["default_ttl"] = float(query["default_ttl"])
        query.update(options)
        return cls(path, namespace, **query)

    # -- connection ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise MemoryBackendError(f"memory tier {self.url} is closed", hint="open a new tier")

    def _connect(self) -> sqlite3.Connection:
        self._check_open()
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    str(self.path), timeout=self._busy_timeout, check_same_thread=False, isolation_level=None
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                if self._want_fts:
                    try:
                        conn.executescript(_FTS_SCHEMA)
                        self.has_fts = True
                    except sqlite3.OperationalError:  # sqlite built without FTS5: scan search instead
                        self.has_fts = False
            except (sqlite3.Error, OSError) as exc:
                raise MemoryBackendError(
                    f"cannot open sqlite memory database {self.url}: {exc}",
                    hint="check that the directory exists and is writable",
                ) from exc
            self._conn = conn
        return self._conn

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection (on the I/O thread); a failed transaction is rolled back."""
        conn = self._connect()
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.rollback()
            raise MemoryBackendError(f"sqlite memory operation failed on {self.url}: {exc}") from exc

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._check_open()  # fail without starting a thread (_connect checks again, in order)
        return await self._io.run(self._call, fn)

    # -- encoding --------------------------------------------------------------------------
    def _encode(self, value: Any) -> tuple[str | bytes, int, str | None]:
        text = encode_value(value)
        body = indexed_text(value) if self._want_fts else None
        if self.compress_threshold is not None and len(text.encode("utf-8")) > self.compress_threshold:
            return compress(text), 1, body
        return text, 0, body

    @staticmethod
    def _decode(raw: str | bytes, compressed: int) -> Any:
        if compressed:
            return decode_value(decompress(raw if isinstance(raw, bytes) else raw.encode("latin-1")))
        return decode_value(raw)

    def _write_rows(
        self, conn: sqlite3.Connection, rows: list[tuple[str, str | bytes, int, str | None]], ttl: float | None
    ) -> None:
        now = time.time()
        expires_at = None if ttl is None else now + ttl
        conn.execute("BEGIN IMMEDIATE")
        if self.has_fts:
            keys = [(self.namespace, k) for k, *_ in rows]
            conn.executemany(
                "DELETE FROM kaizen_memory_fts WHERE rowid IN (SELECT id FROM kaizen_memory WHERE namespace=? AND key=?)",
                keys,
            )
        conn.executemany(
            "INSERT INTO kaizen_memory (namespace, key, value, compressed, expires_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value=excluded.value, "
            "compressed=excluded.compressed, expires_at=excluded.expires_at, updated_at=excluded.updated_at",
            [(self.namespace, k, raw, comp, expires_at, now) for k, raw, comp, _ in rows],
        )
        if self.has_fts:
            indexed = [(body, self.namespace, k) for k, _, _, body in rows if body]
            conn.executemany(
                "INSERT INTO kaizen_memory_fts (rowid, body) SELECT id, ? FROM kaizen_memory WHERE namespace=? AND key=?",
                indexed,
            )
        conn.execute("COMMIT")

    def _delete_where(self, conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        if self.has_fts:
            conn.execute(
                f"DELETE FROM kaizen_memory_fts WHERE rowid IN (SELECT id FROM kaizen_memory WHERE {where})", params
            )
        count = conn.execute(f"DELETE FROM kaizen_memory WHERE {where}", params).rowcount
        conn.execute("COMMIT")
        return count

    # -- contract --------------------------------------------------------------------------
    async def get(self, key: str) -> Any | None:
        check_key(key)
        start = time.perf_counter()
        row = await self._run(
            lambda c: c.execute(
                f"SELECT value, compressed FROM kaizen_memory WHERE namespace=? AND key=? AND {_LIVE}",
                (self.namespace, key, time.time()),
            ).fetchone()
        )
        value = None if row is None else self._decode(row[0], row[1])
        self._latency.add(time.perf_counter() - start)
        if row is None:
            self._stats.misses += 1
        else:
            self._stats.hits += 1
        return value

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        check_key(key)
        ttl = check_ttl(ttl) if ttl is not None else self.default_ttl
        raw, comp, body = self._encode(value)
        await self._run(lambda c: self._write_rows(c, [(key, raw, comp, body)], ttl))
        self._stats.puts += 1

    async def put_many(self, items: dict[str, Any], ttl: float | None = None) -> None:
        """Bulk insert in one transaction (``executemany``)."""
        ttl = check_ttl(ttl) if ttl is not None else self.default_ttl
        rows = []
        for key, value in items.items():
            check_key(key)
            raw, comp, body = self._encode(value)
            rows.append((key, raw, comp, body))
        if rows:
            await self._run(lambda c: self._write_rows(c, rows, ttl))
            self._stats.puts += len(rows)

    async def delete(self, key: str) -> bool:
        check_key(key)
        now = time.time()

        def op(c: sqlite3.Connection) -> bool:
            live = c.execute(
                f"SELECT 1 FROM kaizen_memory WHERE namespace=? AND key=? AND {_LIVE}", (self.namespace, key, now)
            ).fetchone()
            self._delete_where(c, "namespace=? AND key=?", (self.namespace, key))
            return live is not None

        found = await self._run(op)
        if found:
            self._stats.deletes += 1
        return found

    async def exists(self, key: str) -> bool:
        check_key(key)
        row = await self._run(
            lambda c: c.execute(
                f"SELECT 1 FROM kaizen_memory WHERE namespace=? AND key=? AND {_LIVE}",
                (self.namespace, key, time.time()),
            ).fetchone()
        )
        return row is not None

    async def keys(self, prefix: str = "") -> list[str]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT key FROM kaizen_memory WHERE namespace=? AND substr(key, 1, ?) = ? AND {_LIVE} ORDER BY key",
                (self.namespace, len(prefix), prefix, time.time()),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """One SELECT over the namespace; a prefix is also a key range, which the (namespace, key)
        index serves without scanning the other keys (binary collation: code point order)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix and ord(prefix[-1]) < 0x10FFFF else None
        where = "namespace=? AND substr(key, 1, ?) = ?" + (" AND key >= ? AND key < ?" if upper else "")
        params: tuple[Any, ...] = (self.namespace, len(prefix), prefix) + ((prefix, upper) if upper else ())
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT key, value, compressed FROM kaizen_memory WHERE {where} AND {_LIVE} ORDER BY key",
                (*params, time.time()),
            ).fetchall()
        )
        return [(key, self._decode(raw, compressed)) for key, raw, compressed in rows]

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """One SELECT per 500 keys (``key IN (...)``, served by the (namespace, key) index), in one thread hop."""
        wanted = [check_key(k) for k in dict.fromkeys(keys)]
        if not wanted:
            return {}

        def op(c: sqlite3.Connection) -> list[Any]:
            now = time.time()
            rows: list[Any] = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows += c.execute(
                    f"SELECT key, value, compressed FROM kaizen_memory WHERE namespace=? "
                    f"AND key IN ({','.join('?' * len(chunk))}) AND {_LIVE}",
                    (self.namespace, *chunk, now),
                ).fetchall()
            return rows

        found = {key: self._decode(raw, compressed) for key, raw, compressed in await self._run(op)}
        return {key: value for key, value in found.items() if value is not None}

    async def clear(self) -> None:
        await self._run(lambda c: self._delete_where(c, "namespace=?", (self.namespace,)))

    async def size(self) -> int:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT count(*) FROM kaizen_memory WHERE namespace=? AND {_LIVE}", (self.namespace, time.time())
            ).fetchone()
        )
        return int(row[0])

    async def stats(self) -> TierStats:
        return self._latency.report(self._stats, size=await self.size())

    async def purge_expired(self) -> int:
        """Physically delete expired rows of this namespace; returns how many."""
        return await self._run(
            lambda c: self._delete_where(
                c, "namespace=? AND expires_at IS NOT NULL AND expires_at <= ?", (self.namespace, time.time())
            )
        )

    async def text_search_available(self) -> bool:
        """True when this database has the FTS5 index (opens the connection if needed)."""
        return await self._run(lambda c: self.has_fts)

    async def search_text(self, query: str, limit: int = 10, prefix: str = "") -> list[tuple[str, float]]:
        """FTS5 BM25 search over this namespace's indexed text (higher score is better).

        Raises MEMORY_001 when the sqlite build lacks FTS5 (callers fall back to a scan).
        """
        match = fts_query(query)
        if match is None or limit <= 0:
            return []

        def op(c: sqlite3.Connection) -> list[tuple[str, float]]:
            if not self.has_fts:
                raise MemoryBackendError(f"sqlite at {self.url} has no FTS5 index", hint="use a sqlite build with FTS5")
            rows = c.execute(
                "SELECT m.key, bm25(kaizen_memory_fts) AS rank FROM kaizen_memory_fts "
                "JOIN kaizen_memory m ON m.id = kaizen_memory_fts.rowid "
                f"WHERE kaizen_memory_fts MATCH ? AND m.namespace = ? AND substr(m.key, 1, ?) = ? AND {_LIVE} "
                "ORDER BY rank LIMIT ?",
                (match, self.namespace, len(prefix), prefix, time.time(), limit),
            ).fetchall()
            return [(key, -float(rank)) for key, rank in rows]

        return await self._run(op)

    def _close_sync(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """Close the connection (after the calls already made) and stop the tier's I/O thread.

        Safe to call twice; any later call raises MEMORY_001 (closed).
        """
        try:
            if not self._closed:
                await self._io.run(self._close_sync)
        finally:  # even when cancelled: the close already submitted runs first
            self._io.stop()
