"""FileMemoryTier: the ``file://`` memory tier, an append-only JSONL log.

``file:///abs/memory.jsonl`` or ``file://./memory.jsonl`` (the URL grammar of
:mod:`kaizen_core.urls`). Every operation is one JSON line appended to the file and
never rewritten, so the file is an audit trail readable with any text tool::

    {"op": "put", "ns": "bot", "key": "entry/1", "value": {...}, "expires_at": null, "at": 1730000000.0}
    {"op": "del", "ns": "bot", "key": "entry/1", "at": 1730000001.0}
    {"op": "clear", "ns": "bot", "at": 1730000002.0}

The live state is the replay of the log. Tiers on the same file share it (one view per
namespace). Several processes may use one file: each operation takes an exclusive
``fcntl`` lock on ``<file>.lock`` (POSIX; elsewhere only threads of one process are
serialized), first reads the lines other processes appended since its last look, then
appends its own. A torn last line (a crash mid-write) is skipped and overwritten by the
next writer. The file grows with every write: :meth:`FileMemoryTier.compact` rewrites it
with the live entries only (and so ends the audit trail before that point).

Blocking file I/O runs on the tier's own I/O thread (:class:`~kaizen_core._io_thread.IOThread`),
one operation at a time, in the order the operations were called: one tier's lines are
appended in call order, and an operation whose caller is cancelled still runs whole.
:meth:`FileMemoryTier.close` waits for the operations already called, then stops the
thread (the tier stays usable: a later operation starts it again). Tiers of one process on the same
file each have their own thread and take turns on the shared log.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from kaizen_core._io_thread import IOThread
from kaizen_core.errors import MemoryBackendError
from kaizen_core.memory.codec import LatencyRecorder, check_key, check_ttl, decode_value, encode_value
from kaizen_core.memory.tier import MemoryTier, TierStats
from kaizen_core.urls import file_url, parse_file_url

try:  # POSIX: inter-process locking
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileMemoryTier", "JsonlLog"]

T = TypeVar("T")


class JsonlLog:
    """The shared, replayed state of one JSONL file: ``{namespace: {key: (value_json, expires_at)}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.state: dict[str, dict[str, tuple[str, float | None]]] = {}
        self._offset = 0
        self._inode: tuple[int, int] | None = None
        self._thread_lock = threading.RLock()

    # -- locking and catching up -----------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the thread lock and the inter-process lock, with the state caught up on the file."""
        with self._thread_lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise MemoryBackendError(
                    f"cannot open memory file {self.path}: {exc}", hint="check that the directory is writable"
                ) from exc
            try:
                if fcntl is not None:
                    fcntl.flock(lock_fd, fcntl.LOCK_EX)
                self._catch_up()
                yield
            finally:
                os.close(lock_fd)  # closing the descriptor releases the flock

    def _catch_up(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self.state, self._offset, self._inode = {}, 0, None
            return
        inode = (stat.st_dev, stat.st_ino)
        if inode != self._inode or stat.st_size < self._offset:  # replaced (compacted) or truncated: replay all
            self.state, self._offset, self._inode = {}, 0, inode
        if stat.st_size == self._offset:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a torn last line (crash mid-append) is not consumed
        for line in data[:end].splitlines():
            if line.strip():
                self._apply(line)
        self._offset += end

    def _apply(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            op = record["op"]
            table = self.state.setdefault(record["ns"], {})
            if op == "put":
                table[record["key"]] = (
                    json.dumps(record["value"], separators=(",", ":"), ensure_ascii=False),
                    record.get("expires_at"),
                )
            elif op == "del":
                table.pop(record["key"], None)
            elif op == "clear":
                table.clear()
        except (ValueError, KeyError, TypeError) as exc:
            raise MemoryBackendError(f"memory file {self.path} has an unreadable line: {exc}") from exc

    def append(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` (call with :meth:`locked` held) and apply them."""
        lines = [
            json.dumps(r, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8") for r in records
        ]
        try:
            with open(self.path, "ab") as fh:
                if fh.tell() != self._offset:  # a torn line from a crash: start on a fresh line
                    fh.truncate(self._offset)
                fh.write(b"".join(line + b"\n" for line in lines))
                fh.flush()
                self._offset = fh.tell()
            stat = self.path.stat()
            self._inode = (stat.st_dev, stat.st_ino)
        except OSError as exc:
            raise MemoryBackendError(f"cannot write memory file {self.path}: {exc}") from exc
        for line in lines:
            self._apply(line)

    def compact(self) -> int:
        """Rewrite the file with live entries only (call with :meth:`locked` held); returns lines written."""
        now = time.time()
        records = [
            {"op": "put", "ns": ns, "key": key, "value": json.loads(text), "expires_at": exp, "at": now}
            for ns, table in self.state.items()
            for key, (text, exp) in sorted(table.items())
            if exp is None or exp > now
        ]
        tmp = self.path.with_name(self.path.name + ".compact")
        try:
            with open(tmp, "wb") as fh:
                for record in records:
                    fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise MemoryBackendError(f"cannot compact memory file {self.path}: {exc}") from exc
        self.state, self._offset, self._inode = {}, 0, None
        self._catch_up()
        return len(records)


_logs: dict[Path, JsonlLog] = {}
_logs_lock = threading.Lock()


def _shared_log(path: Path) -> JsonlLog:
    key = Path(os.path.abspath(path))
    with _logs_lock:
        log = _logs.get(key)
        if log is None:
            log = _logs[key] = JsonlLog(key)
        return log


class FileMemoryTier(MemoryTier):
    """A namespace of a JSONL memory file (see the module docstring)."""

    scheme: ClassVar[str] = "file"

    def __init__(
        self, path: str | os.PathLike[str], namespace: str = "default", *, default_ttl: float | None = None
    ) -> None:
        super().__init__(namespace)
        self.path = Path(path)
        self.default_ttl = check_ttl(default_ttl)
        self._log = _shared_log(self.path)
        self._io = IOThread(f"kaizen-file-memory {self.path}")  # runs every blocking call, in order
        self._stats = TierStats(name=f"file:{namespace}")
        self._latency = LatencyRecorder()

    @property
    def url(self) -> str:
        return file_url(self.path)

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "default", **options: Any) -> FileMemoryTier:
        """``file:///abs/memory.jsonl`` or ``file://./rel/memory.jsonl``; query ``default_ttl`` accepted."""
        path, raw_query = parse_file_url(url)
        query: dict[str, Any] = dict(raw_query)
        if "default_ttl" in query:
            query["default_ttl"] = float(query["default_ttl"])
        query.update(options)
        return cls(path, namespace, **query)

    def __repr__(self) -> str:
        return f"FileMemoryTier({str(self.path)!r}, namespace={self.namespace!r})"

    def _locked(self, fn: Callable[[], T]) -> T:
        with self._log.locked():
            return fn()

    async def _run(self, fn: Callable[[], T]) -> T:
        return await self._io.run(self._locked, fn)

    def _table(self) -> dict[str, tuple[str, float | None]]:
        return self._log.state.get(self.namespace, {})

    def _live(self, now: float) -> dict[str, tuple[str, float | None]]:
        return {k: v for k, v in self._table().items() if v[1] is None or v[1] > now}

    def _put_record(self, key: str, value: Any, ttl: float | None, now: float) -> dict[str, Any]:
        return {
            "op": "put",
            "ns": self.namespace,
            "key": key,
            "value": value,
            "expires_at": None if ttl is None else now + ttl,
            "at": now,
        }

    # -- contract --------------------------------------------------------------------------
    async def get(self, key: str) -> Any | None:
        check_key(key)
        start = time.perf_counter()

        def op() -> str | None:
            item = self._table().get(key)
            return None if item is None or (item[1] is not None and item[1] <= time.time()) else item[0]

        text = await self._run(op)
        self._latency.add(time.perf_counter() - start)
        if text is None:
            self._stats.misses += 1
            return None
        self._stats.hits += 1
        return decode_value(text)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.put_many({key: value}, ttl=ttl)

    async def put_many(self, items: dict[str, Any], ttl: float | None = None) -> None:
        """All items in one locked append."""
        ttl = check_ttl(ttl) if ttl is not None else self.default_ttl
        for key, value in items.items():
            check_key(key)
            encode_value(value)  # strict JSON, MEMORY_003 before anything is written
        if not items:
            return

        def op() -> None:
            now = time.time()
            self._log.append([self._put_record(k, v, ttl, now) for k, v in items.items()])

        await self._run(op)
        self._stats.puts += len(items)

    async def delete(self, key: str) -> bool:
        check_key(key)

        def op() -> bool:
            live = key in self._live(time.time())
            if key in self._table():
                self._log.append([{"op": "del", "ns": self.namespace, "key": key, "at": time.time()}])
            return live

        found = await self._run(op)
        if found:
            self._stats.deletes += 1
        return found

    async def exists(self, key: str) -> bool:
        check_key(key)
        return await self._run(lambda: key in self._live(time.time()))

    async def keys(self, prefix: str = "") -> list[str]:
        return await self._run(lambda: sorted(k for k in self._live(time.time()) if k.startswith(prefix)))

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """One locked pass over the namespace's table."""
        texts = await self._run(
            lambda: sorted((k, v[0]) for k, v in self._live(time.time()).items() if k.startswith(prefix))
        )
        return [(key, decode_value(text)) for key, text in texts]

    async def clear(self) -> None:
        def op() -> None:
            if self._table():
                self._log.append([{"op": "clear", "ns": self.namespace, "at": time.time()}])

        await self._run(op)

    async def size(self) -> int:
        return await self._run(lambda: len(self._live(time.time())))

    async def stats(self) -> TierStats:
        return self._latency.report(self._stats, size=await self.size())

    async def compact(self) -> int:
        """Rewrite the whole file (every namespace) with its live entries; returns how many."""
        return await self._run(self._log.compact)

    async def close(self) -> None:
        """Wait for the operations already called (cancelled callers' too), then stop the I/O thread.

        No file is held open between operations (the log is shared by the process), so the
        tier stays usable: a later operation starts a new thread. Safe to call twice.
        """
        try:
            await self._io.drain()
        finally:
            self._io.stop()
