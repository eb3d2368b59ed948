"""A tamper-evident audit trail: append-only JSON lines chained by hashes.

Each line is one record: a JSON object in canonical form (sorted keys, no spaces), then its
``hash`` as the last field. A record holds

* ``seq``: 1 on the first line, then +1 per line (the line number);
* ``ts``: when it was written (ISO 8601, UTC);
* ``prev``: the ``hash`` of the previous record (:data:`GENESIS` on the first);
* ``alg``: ``"sha256"``, or ``"hmac-sha256"`` when the trail is keyed;
* ``hash``: SHA-256 (or HMAC-SHA256 with the key) of the canonical JSON of the record
  without its ``hash`` field;
* the body the caller appends (the audit hook's who/what/decision fields).

Editing a line changes its hash; deleting, inserting or swapping lines breaks ``seq`` and
``prev``; a write cut short leaves a last line that is not a whole record. :func:`verify_chain`
(and ``kaizen audit verify FILE``) names the first line where any of that happened.

What a plain hash chain cannot show by itself: that whole records were removed from the
*end* (the shortened file is still a valid chain), and that someone rewrote every line and
recomputed every hash. Against the first, keep the head (:attr:`AuditChainWriter.head`, or
the last line's ``hash``) somewhere else and pass it as ``expect_head`` / ``--expect-head``
(or the count as ``expect_records``); against the second, key the trail (``key=``): without
the key nobody can compute valid hashes.

Writers: :class:`AuditChainWriter` appends with ``O_APPEND``, ``fsync``'s each record before
returning (``fsync_every=N`` batches the fsyncs), and continues the chain of an existing file
(it reads the last record on open). Several writers may append to one file, in one process
(a lock per path) or in several (an exclusive ``flock`` around each append, POSIX only): a
writer that finds the file grew since its last append re-reads the last record first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from kaizen_core.errors import ConfigError, HookExecutionError
from kaizen_core.redaction import register_secret

try:  # POSIX: cross-process exclusion of appends
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per trail (documented)
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "GENESIS",
    "AuditChainWriter",
    "ChainHead",
    "VerifyResult",
    "canonical_json",
    "record_hash",
    "verify_chain",
]

#: ``prev`` of the first record.
GENESIS = "0" * 64
_TAIL_BLOCK = 64 * 1024

Problem = Literal[
    "edited", "deleted", "reordered", "truncated", "malformed", "head_mismatch", "count_mismatch", "missing"
]


def canonical_json(obj: Any) -> bytes:
    """The bytes a record is hashed (and stored) as: sorted keys, no spaces, UTF-8.

    Values JSON cannot hold become their ``str()`` before hashing, so the stored line
    hashes to the same value when it is read back.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _key_bytes(key: bytes | str | None) -> bytes | None:
    if key is None:
        return None
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(data) < 16:
        raise ConfigError("the audit trail key is too short", hint="use at least 16 bytes (e.g. secrets.token_hex(32))")
    return data


def record_hash(record: Mapping[str, Any], key: bytes | None = None) -> str:
    """The hash of ``record`` (every field but ``hash``), hex: SHA-256, or HMAC-SHA256 with ``key``."""
    return _digest(canonical_json({k: v for k, v in record.items() if k != "hash"}), key)


def _digest(data: bytes, key: bytes | None) -> str:
    if key is not None:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


class ChainHead(BaseModel):
    """The last record of a trail: its ``seq`` (0: empty trail) and ``hash``."""

    seq: int = 0
    hash: str = GENESIS


class VerifyResult(BaseModel):
    """What :func:`verify_chain` found.

    ``ok`` with ``records`` whole records and the ``head`` hash; otherwise ``line`` is the
    first bad line (1-based), ``problem`` its kind and ``message`` says what is wrong there.
    """

    ok: bool
    records: int
    head: str = GENESIS
    line: int | None = None
    problem: Problem | None = None
    message: str

    def __bool__(self) -> bool:
        return self.ok


# --- writer -----------------------------------------------------------------------------------
_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _path_locks_guard:
        lock = _path_locks.get(key)
        if lock is None:
            lock = _path_locks[key] = threading.Lock()
        return lock


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditChainWriter:
    """Appends records to one trail file, continuing its hash chain.

    ``fsync_every`` (default 1): fsync after every N records (1: each record is on disk
    before :meth:`append` returns; N > 1: up to N-1 records written to the OS but not yet
    synced can be lost in a power failure, never in a crash of the process). ``key``
    (bytes or str, 16+ bytes) makes the hashes HMAC-SHA256; the key is registered as a
    secret so it is never logged. ``clock`` returns the ``ts`` string (tests inject one).

    The file is opened on the first append (created 0600 if missing) and never truncated
    or rewritten. A trail whose last line is not a whole, valid record is refused
    (HOOK_003): appending after it would hide the damage. :meth:`close` syncs and closes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync_every: int = 1,
        key: bytes | str | None = None,
        clock: Callable[[], str] = _now,
    ) -> None:
        if not isinstance(fsync_every, int) or isinstance(fsync_every, bool) or fsync_every < 1:
            raise ConfigError(f"fsync_every must be an integer >= 1, got {fsync_every!r}")
        self.path = Path(path)
        self.fsync_every = fsync_every
        self._key = _key_bytes(key)
        if isinstance(key, str):
            register_secret(key)
        self.alg = "hmac-sha256" if self._key is not None else "sha256"
        self.clock = clock
        self._lock = _lock_for(self.path)
        self._fd: int | None = None
        self._end = -1  # file size after our last append; -1: unknown (read the tail first)
        self._head = ChainHead()
        self._unsynced = 0

    @property
    def head(self) -> ChainHead:
        """The last record this writer wrote or found (seq 0 before the first append)."""
        return self._head

    @property
    def sync_due(self) -> bool:
        """True when the next :meth:`append` will fsync (callers move it off the event loop)."""
        return self._unsynced + 1 >= self.fsync_every

    def append(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Append one record made of ``body`` plus the chain fields; returns the record written.

        ``body`` must be JSON-ready (redacted by the caller); its keys may not be the chain's
        own (``seq``, ``ts``, ``prev``, ``alg``, ``hash``).
        """
        clash = {"seq", "ts", "prev", "alg", "hash"} & body.keys()
        if clash:
            raise ConfigError(f"audit record body uses reserved field(s) {sorted(clash)}")
        body = json.loads(canonical_json(body))  # JSON types only, so the line read back hashes the same
        with self._lock:
            fd = self._open()
            _flock(fd, True)
            try:
                size = os.fstat(fd).st_size
                if size != self._end:  # first append, or another writer appended since ours
                    self._head = _read_head(fd, size, self.path, self._key)
                record: dict[str, Any] = {
                    **body,
                    "seq": self._head.seq + 1,
                    "ts": self.clock(),
                    "prev": self._head.hash,
                    "alg": self.alg,
                }
                data = canonical_json(record)
                record["hash"] = _digest(data, self._key)
                # the hashed bytes, then the hash as the last field (one serialization, not two)
                line = b"%s,\"hash\":\"%s\"}\n" % (data[:-1], record["hash"].encode())
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
                self._end = size + len(line)
                self._head = ChainHead(seq=record["seq"], hash=record["hash"])
                self._unsynced += 1
                if self._unsynced >= self.fsync_every:
                    os.fsync(fd)
                    self._unsynced = 0
            finally:
                _flock(fd, False)
        return record

    def sync(self) -> None:
        """fsync what was written and not yet synced."""
        with self._lock:
            if self._fd is not None and self._unsynced:
                os.fsync(self._fd)
                self._unsynced = 0

    def close(self) -> None:
        """Sync and close the file (reopened by the next append, continuing the chain)."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                try:
                    if self._unsynced:
                        os.fsync(fd)
                finally:
                    self._unsynced = 0
                    self._end = -1
                    os.close(fd)

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            self._end = -1
        return self._fd

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            if getattr(self, "_unsynced", 0):
                os.fsync(fd)
            os.close(fd)


def _flock(fd: int, exclusive: bool) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_UN)


def _read_head(fd: int, size: int, path: Path, key: bytes | None) -> ChainHead:
    """The last record of the file (``size`` bytes), checked: a damaged tail raises HOOK_003."""
    if size == 0:
        return ChainHead()
    last = _last_line(fd, size)
    problem = None
    if not last.endswith(b"\n"):
        problem = "its last line is incomplete (a write was cut short or the file was truncated)"
    else:
        try:
            record = json.loads(last)
            if not isinstance(record, dict) or not isinstance(record.get("seq"), int) or "hash" not in record:
                problem = "its last line is not an audit record"
            elif record_hash(record, key) != record["hash"]:
                problem = "its last record does not match its hash (edited, or written with another key)"
            else:
                return ChainHead(seq=record["seq"], hash=record["hash"])
        except json.JSONDecodeError:
            problem = "its last line is not valid JSON"
    raise HookExecutionError(
        f"audit trail {path} cannot be continued: {problem}",
        hint=f"run `kaizen audit verify {path}` to see the damage, and move the file aside to start a new trail",
        details={"path": str(path)},
    )


def _last_line(fd: int, size: int) -> bytes:
    """The file's last line (with its newline, if it has one), read backwards in blocks."""
    end = size
    data = b""
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        data = os.pread(fd, end - start, start) + data
        end = start
        cut = data.rfind(b"\n", 0, len(data) - 1)  # a newline before the last byte ends the previous line
        if cut >= 0:
            return data[cut + 1 :]
    return data


# --- verification -----------------------------------------------------------------------------
def verify_chain(
    path: str | os.PathLike[str],
    *,
    key: bytes | str | None = None,
    expect_head: str | None = None,
    expect_records: int | None = None,
) -> VerifyResult:
    """Check every line of the trail at ``path``; the first problem found is reported.

    ``key``: the trail's key when it was written keyed (an HMAC trail does not verify
    without it). ``expect_head`` / ``expect_records``: the head hash or record count kept
    elsewhere, which also catches records cut off the end. The file is read line by line
    (memory does not grow with the trail).
    """
    key_bytes = _key_bytes(key)
    target = Path(path)

    def bad(line: int, problem: Problem, message: str, records: int, head: str) -> VerifyResult:
        return VerifyResult(
            ok=False, records=records, head=head, line=line, problem=problem, message=f"line {line}: {message}"
        )

    head = GENESIS
    count = 0
    try:
        handle = target.open("rb")
    except FileNotFoundError:
        return VerifyResult(ok=False, records=0, problem="missing", message=f"{target}: no such file")
    with handle:
        for data in handle:
            line = count + 1
            if not data.endswith(b"\n"):
                return bad(
                    line,
                    "truncated",
                    "incomplete record at the end of the file (a write cut short, or the file was cut)",
                    count,
                    head,
                )
            record = _parse(data)
            seq = record.get("seq") if record is not None else None
            if (
                record is None
                or not isinstance(seq, int)
                or isinstance(seq, bool)
                or not isinstance(record.get("hash"), str)
            ):
                return bad(line, "malformed", "not an audit record (not a JSON object with seq and hash)", count, head)
            if record_hash(record, key_bytes) != record["hash"]:
                why = "was edited: its content does not match its hash"
                if record.get("alg") == "hmac-sha256" and key_bytes is None:
                    why = "is keyed (hmac-sha256): verify it with the trail's key"
                return bad(line, "edited", why, count, head)
            if seq != line:
                if seq < line or _seq_later(handle, line):
                    why = f"holds record {seq} where record {line} belongs: lines were reordered"
                    return bad(line, "reordered", why, count, head)
                why = f"holds record {seq} where record {line} belongs: record(s) {line}..{seq - 1} were deleted"
                return bad(line, "deleted", why, count, head)
            if record.get("prev") != head:
                why = "does not follow the line before it (its prev hash differs): a record was replaced"
                return bad(line, "reordered", why, count, head)
            head = record["hash"]
            count = line
    if expect_records is not None and count != expect_records:
        return VerifyResult(
            ok=False,
            records=count,
            head=head,
            problem="count_mismatch",
            message=f"{count} records, {expect_records} expected: records were cut off the end",
        )
    if expect_head is not None and head != expect_head:
        return VerifyResult(
            ok=False,
            records=count,
            head=head,
            problem="head_mismatch",
            message=f"the last record's hash is {head}, {expect_head} expected: records were cut off the end or replaced",
        )
    return VerifyResult(ok=True, records=count, head=head, message=f"ok {count} records")


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def _seq_later(handle: Any, seq: int) -> bool:
    """Whether a record numbered ``seq`` comes later in the file (then lines were moved, not deleted)."""
    for data in handle:
        record = _parse(data)
        if record is not None and record.get("seq") == seq:
            return True
    return False
