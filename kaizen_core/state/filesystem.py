"""FilesystemStorage: one file per checkpoint under ``root/<agent_id>/`` (scheme ``file``).

File layout: one JSON header line (format, CheckpointMeta, body length, sha256 of the
body, encoding) followed by the body, the encoded payload, gzip-compressed when
``compress=True``. Writes are atomic: temp file in the same directory, fsync,
``os.replace``, fsync of the directory. Journals are append-only JSONL files under
``root/.journal/`` with one fsync per append; a batch (``journal_append_many``) is one
write and one fsync. A journal's file stays open between appends (see :data:`JOURNAL_FDS`).
Every blocking call runs on the store's own I/O thread, in call order
(:class:`~kaizen_core._io_thread.IOThread`), so the event loop never waits on disk.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import gzip
import hashlib
import os
import threading
import uuid
import weakref
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar

from kaizen_core import _json
from kaizen_core._io_thread import IOThread
from kaizen_core.errors import CheckpointCorruptError, CheckpointNotFoundError, ConfigError, StorageError
from kaizen_core.state._names import decode_name, encode_name
from kaizen_core.state.store import CheckpointMeta, CheckpointStore, Link, chain_base
from kaizen_core.urls import parse_file_url

__all__ = ["FilesystemStorage", "parse_file_url"]

_SUFFIX = ".ckpt"
_FORMAT = "kaizen-checkpoint"
_JOURNAL_DIR = ".journal"
_BYTES_KEY = "$bytes"
#: A stored line starting with this is read as an escape (when it is one): records that start
#: with it are therefore always escaped.
_BYTES_PREFIX = b'{"' + _BYTES_KEY.encode()
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: Journal files a store keeps open at most (one per stream being appended to).
JOURNAL_FDS = 64
_fdatasync = getattr(os, "fdatasync", os.fsync)  # data and size, not mtime: enough for an append


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _last_line_end(fd: int, size: int) -> int:
    """Offset just past the last newline of the file (0 if none): where a torn tail starts."""
    data = os.pread(fd, size, 0)
    return data.rfind(b"\n") + 1


def _close_all(fds: dict[str, int]) -> None:
    while fds:
        with contextlib.suppress(OSError):
            os.close(fds.popitem()[1])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStorage(CheckpointStore):
    """Checkpoints as files: atomic writes, optional gzip, checksummed bodies.

    ``FilesystemStorage("./checkpoints")``; the directory may also be passed as
    ``base_dir=`` or ``base_path=`` (the two documented spellings). ``compress=True``
    gzips each checkpoint body.
    """

    scheme: ClassVar[str] = "file"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        compress: bool = False,
        fsync: bool = True,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
    ) -> None:
        given = {
            name: value
            for name, value in (("root", root), ("base_dir", base_dir), ("base_path", base_path))
            if value is not None
        }
        if not given:
            raise ConfigError("FilesystemStorage needs a directory", hint="FilesystemStorage(base_dir='./checkpoints')")
        if len({os.fspath(v) for v in given.values()}) > 1:
            raise ConfigError(
                f"FilesystemStorage got two directories ({', '.join(f'{k}={os.fspath(v)!r}' for k, v in given.items())})",
                hint="root, base_dir and base_path name the same argument: pass one",
            )
        root = next(iter(given.values()))
        self.root = Path(os.path.expanduser(os.fspath(root)))
        self.compress = compress
        self.fsync = fsync
        self._lock = threading.Lock()
        self._paths: dict[str, Path] = {}
        self._journal_fds: dict[str, int] = {}  # stream -> open descriptor, least recently used first
        weakref.finalize(self, _close_all, self._journal_fds)  # a store dropped without close()
        self._io = IOThread(f"kaizen-file-store {self.root}")  # runs every blocking call, in order

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FilesystemStorage:
        path, query = parse_file_url(url)
        compress = options.pop("compress", _truthy(query.get("compress", "false")))
        return cls(path, compress=bool(compress), **options)

    def __repr__(self) -> str:
        return f"FilesystemStorage({str(self.root)!r}, compress={self.compress})"

    # -- paths ---------------------------------------------------------------------------
    def _agent_dir(self, agent_id: str) -> Path:
        return self.root / encode_name(agent_id)

    def _find(self, checkpoint_id: str) -> Path | None:
        cached = self._paths.get(checkpoint_id)
        if cached is not None and cached.exists():
            return cached
        name = encode_name(checkpoint_id) + _SUFFIX
        if not self.root.is_dir():
            return None
        for entry in os.scandir(self.root):
            if entry.is_dir() and not entry.name.startswith("."):
                candidate = Path(entry.path) / name
                if candidate.exists():
                    self._paths[checkpoint_id] = candidate
                    return candidate
        return None

    def location(self, checkpoint_id: str) -> str:
        path = self._find(checkpoint_id)
        return str(path) if path is not None else f"{self.root}/*/{encode_name(checkpoint_id)}{_SUFFIX}"

    # -- checkpoint files ----------------------------------------------------------------
    def _encode_file(self, meta: CheckpointMeta, payload: bytes) -> bytes:
        body = gzip.compress(payload, compresslevel=6, mtime=0) if self.compress else payload
        header = {
            "format": _FORMAT,
            "version": 1,
            "meta": meta.model_dump(mode="json"),
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "encoding": "gzip" if self.compress else "identity",
        }
        return _json.dumps(header) + b"\n" + body

    @staticmethod
    def _corrupt(path: Path, why: str) -> CheckpointCorruptError:
        return CheckpointCorruptError(
            f"checkpoint file {path} is corrupt: {why}",
            hint="delete the file or restore it from a backup; earlier checkpoints may still load",
            details={"path": str(path)},
        )

    def _parse_header(self, path: Path, line: bytes) -> tuple[CheckpointMeta, dict[str, Any]]:
        if not line.endswith(b"\n"):
            raise self._corrupt(path, "truncated header")
        try:
            header = _json.loads(line)
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise ValueError("not a Kaizen checkpoint file")
            meta = CheckpointMeta.model_validate(header["meta"])
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(path, f"unreadable header ({exc.__class__.__name__})") from None
        return meta, header

    def _read_file(self, path: Path) -> tuple[CheckpointMeta, bytes]:
        try:
            with open(path, "rb") as fh:
                meta, header = self._parse_header(path, fh.readline())
                body = fh.read()
        except FileNotFoundError:
            raise CheckpointNotFoundError(f"checkpoint file {path} disappeared") from None
        except OSError as exc:
            raise StorageError(f"cannot read checkpoint file {path}: {exc}") from exc
        if len(body) != header.get("length"):
            raise self._corrupt(path, f"body is {len(body)} bytes, header says {header.get('length')} (truncated?)")
        if hashlib.sha256(body).hexdigest() != header.get("sha256"):
            raise self._corrupt(path, "checksum mismatch")
        if header.get("encoding") == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise self._corrupt(path, f"bad gzip data ({exc})") from None
        elif header.get("encoding") != "identity":
            raise self._corrupt(path, f"unknown encoding {header.get('encoding')!r}")
        return meta, body

    def _write_sync(self, meta: CheckpointMeta, payload: bytes) -> None:
        directory = self._agent_dir(meta.agent_id)
        target = directory / (encode_name(meta.checkpoint_id) + _SUFFIX)
        data = self._encode_file(meta, payload)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = directory / f".{target.name}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    if self.fsync:
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            if self.fsync:
                _fsync_dir(directory)
        except OSError as exc:
            raise StorageError(
                f"cannot write checkpoint {target}: {exc}", hint="check the directory and free space"
            ) from exc
        old = self._paths.get(meta.checkpoint_id)
        if old is not None and old != target:
            old.unlink(missing_ok=True)  # same id moved to another agent: keep one copy
        self._paths[meta.checkpoint_id] = target

    async def write(self, meta: CheckpointMeta, payload: bytes) -> None:
        await self._io.run(self._write_sync, meta, payload)

    def _read_sync(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        path = self._find(checkpoint_id)
        if path is None:
            raise CheckpointNotFoundError(
                f"no checkpoint {checkpoint_id!r} under {self.root}",
                hint="list_checkpoints(agent_id) shows the ids that exist",
            )
        return self._read_file(path)

    async def read(self, checkpoint_id: str) -> tuple[CheckpointMeta, bytes]:
        return await self._io.run(self._read_sync, checkpoint_id)

    def _read_chain_sync(self, checkpoint_id: str, known: Collection[str]) -> builtins.list[Link]:
        links = [self._read_sync(checkpoint_id)]
        seen = {checkpoint_id}
        current = chain_base(links[0][0], known, seen)
        while current is not None:
            path = self._find(current)
            if path is None:
                break  # a missing base: the caller reports the broken chain
            try:
                meta, payload = self._read_file(path)
            except CheckpointNotFoundError:
                break
            links.append((meta, payload))
            seen.add(current)
            current = chain_base(meta, known, seen)
        return links

    async def read_chain(self, checkpoint_id: str, known: Collection[str] = ()) -> builtins.list[Link]:
        return await self._io.run(self._read_chain_sync, checkpoint_id, known)

    def _list_sync(self, agent_id: str) -> list[CheckpointMeta]:
        directory = self._agent_dir(agent_id)
        metas: list[CheckpointMeta] = []
        if not directory.is_dir():
            return metas
        for entry in os.scandir(directory):
            if not entry.name.endswith(_SUFFIX) or entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                with open(path, "rb") as fh:
                    meta, _ = self._parse_header(path, fh.readline())
            except FileNotFoundError:
                continue  # deleted while listing
            self._paths[meta.checkpoint_id] = path
            metas.append(meta)
        metas.sort(key=lambda m: (m.created_at, m.step_number), reverse=True)
        return metas

    async def list(self, agent_id: str) -> builtins.list[CheckpointMeta]:
        return await self._io.run(self._list_sync, agent_id)

    def _delete_sync(self, checkpoint_id: str) -> bool:
        path = self._find(checkpoint_id)
        if path is None:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot delete checkpoint file {path}: {exc}") from exc
        self._paths.pop(checkpoint_id, None)
        if self.fsync:
            _fsync_dir(path.parent)
        return True

    async def delete(self, checkpoint_id: str) -> bool:
        return await self._io.run(self._delete_sync, checkpoint_id)

    def _list_agents_sync(self) -> builtins.list[str]:
        if not self.root.is_dir():
            return []
        agents = []
        for entry in os.scandir(self.root):
            if entry.is_dir() and not entry.name.startswith("."):
                files = [n for n in os.listdir(entry.path) if n.endswith(_SUFFIX) and not n.startswith(".")]
                if not files:
                    continue
                agent_id = decode_name(entry.name)
                if agent_id is None:  # a shortened long id: the checkpoints' headers hold it
                    path = Path(entry.path) / files[0]
                    try:
                        with open(path, "rb") as fh:
                            agent_id = self._parse_header(path, fh.readline())[0].agent_id
                    except FileNotFoundError:
                        continue  # deleted while listing
                agents.append(agent_id)
        return sorted(agents)

    async def list_agents(self) -> builtins.list[str]:
        return await self._io.run(self._list_agents_sync)

    # -- journal -------------------------------------------------------------------------
    def _journal_path(self, stream: str) -> Path:
        return self.root / _JOURNAL_DIR / (encode_name(stream) + ".jsonl")

    @staticmethod
    def _to_line(record: bytes) -> bytes:
        # A record is stored as-is unless it holds a line break or could be taken for the
        # escape itself (a line starting with the escape's key is parsed on read).
        if b"\n" not in record and b"\r" not in record and not record.startswith(_BYTES_PREFIX):
            return record + b"\n"
        return _json.dumps({_BYTES_KEY: base64.b64encode(record).decode("ascii")}) + b"\n"

    def _journal_fd(self, stream: str, path: Path) -> int:
        """The open descriptor of ``stream``'s file (opened, and created, on first use; lock held).

        Descriptors stay open between appends (an open, a close and the directory checks cost
        more than the write); one whose file was deleted meanwhile (``st_nlink == 0``, e.g. by
        another store on the same directory) is reopened. ``O_APPEND`` puts every write at the
        end of the file, whoever else appends (another store, a forked child). At most :data:`JOURNAL_FDS` are kept, the least recently used is closed first.
        """
        fd = self._journal_fds.pop(stream, None)
        if fd is not None and os.fstat(fd).st_nlink == 0:
            os.close(fd)
            fd = None
        if fd is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _O_CLOEXEC, 0o644)
            if created and self.fsync:
                try:
                    _fsync_dir(path.parent)
                except BaseException:
                    os.close(fd)
                    raise
            while len(self._journal_fds) >= JOURNAL_FDS:
                os.close(self._journal_fds.pop(next(iter(self._journal_fds))))
        self._journal_fds[stream] = fd  # most recently used last
        return fd

    def _close_journal(self, stream: str) -> None:
        fd = self._journal_fds.pop(stream, None)
        if fd is not None:
            os.close(fd)

    def _journal_append_sync(self, stream: str, records: Sequence[bytes]) -> None:
        line = b"".join([self._to_line(record) for record in records])
        if not line:
            return
        path = self._journal_path(stream)
        with self._lock:
            try:
                fd = self._journal_fd(stream, path)
                try:
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":  # torn tail of a crashed append: drop it
                        os.ftruncate(fd, _last_line_end(fd, size))
                    view = memoryview(line)
                    while view:
                        view = view[os.write(fd, view) :]
                    if self.fsync:
                        _fdatasync(fd)
                except BaseException:
                    # A failed append may leave a torn tail: the next one reopens and repairs it.
                    self._close_journal(stream)
                    raise
            except OSError as exc:
                raise StorageError(f"cannot append to journal {path}: {exc}") from exc

    async def journal_append(self, stream: str, record: bytes) -> None:
        await self._io.run(self._journal_append_sync, stream, (record,))

    async def journal_append_many(self, stream: str, records: Sequence[bytes]) -> None:
        await self._io.run(self._journal_append_sync, stream, tuple(records))

    def _journal_read_sync(self, stream: str) -> builtins.list[bytes]:
        path = self._journal_path(stream)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot read journal {path}: {exc}") from exc
        lines = data.split(b"\n")
        lines.pop()  # after the last newline: empty, or a torn record that was never acknowledged
        records: list[bytes] = []
        for number, line in enumerate(lines, start=1):
            if line.startswith(_BYTES_PREFIX):
                try:
                    value = _json.loads(line)
                except _json.JSONDecodeError:
                    raise self._corrupt(path, f"line {number} is not JSON") from None
                if isinstance(value, dict) and set(value) == {_BYTES_KEY}:
                    records.append(base64.b64decode(value[_BYTES_KEY]))
                    continue
            records.append(line)
        return records

    async def journal_read(self, stream: str) -> builtins.list[bytes]:
        return await self._io.run(self._journal_read_sync, stream)

    def _journal_delete_sync(self, stream: str) -> None:
        with self._lock:
            self._close_journal(stream)
            self._journal_path(stream).unlink(missing_ok=True)

    async def journal_delete(self, stream: str) -> None:
        await self._io.run(self._journal_delete_sync, stream)

    def _close_sync(self) -> None:
        with self._lock:
            for stream in list(self._journal_fds):
                self._close_journal(stream)

    async def close(self) -> None:
        """Close the journals' open files and stop the store's I/O thread.

        The store stays usable: the files reopen on the next append, the thread restarts on
        the next call.
        """
        await self._io.run(self._close_sync)
        self._io.stop()
