"""Encoding of checkpoint payloads: full snapshots and deltas.

A payload is a 4-byte magic, the crc32 of what follows the header (8 hex digits), a newline
and the body: ``b"KZ1 "`` + plain JSON, or ``b"KZ1z"`` + zlib-compressed JSON (written when
the body is at least :data:`COMPRESS_MIN` bytes and compression makes it smaller). The CRC
covers the stored bytes, so a flipped or truncated payload is detected by every backend
alike, before anything is decompressed. Both forms decode; writers before compression only
wrote ``KZ1 ``.

Bodies (see docs/checkpoints.md):

* full:  ``{"v": 1, "kind": "full", "state": {...AgentState as JSON...}}``
* delta: ``{"v": 1, "kind": "delta", "base": "<checkpoint id>", "set": {...},
  "lists": {field: {"keep": k, "append": [...]}}, "dicts": {field: {"set": {...}, "del": [...]}}}``

In a delta, ``lists`` keeps the first ``k`` items of the base list and appends the new
ones (``k`` smaller than the base length is the truncate marker); ``dicts`` holds the
nested changes of a dict field, in the same shape (``set``, ``lists``, ``dicts``, ``del``),
at any depth; ``set`` replaces whole fields. Unchanged fields are absent, so a delta
grows with the changes, never with the history (a list inside ``custom_state`` that
gains one item costs one item).
"""

from __future__ import annotations

import zlib
from typing import Any

from pydantic_core import to_jsonable_python

from kaizen_core import _json
from kaizen_core.errors import CheckpointCorruptError

FORMAT_VERSION = 1
_MAGIC = b"KZ1 "
_MAGIC_ZLIB = b"KZ1z"
_HEADER_LEN = len(_MAGIC) + 8 + 1
#: Bodies shorter than this are stored plain (zlib's header and the CPU are not worth it).
COMPRESS_MIN = 256
#: zlib level. Measured on the checkpoint benchmark (200 turns): level 6 cost 3-5x the CPU
#: of level 1 for under 1% fewer bytes in total, since most bytes are small deltas.
COMPRESS_LEVEL = 1

StateDict = dict[str, Any]


def _wrap(body: dict[str, Any]) -> tuple[bytes, int]:
    """The payload of ``body`` and the length of its JSON before compression."""
    data = _json.dumps(body)
    raw = len(data)
    magic = _MAGIC
    if len(data) >= COMPRESS_MIN:
        # A window no larger than the body: zlib zeroes its whole state on every call, and
        # the default (32 KB window, 128 KB hash) costs more than compressing a 1 KB delta.
        wbits = min(15, max(9, (len(data) - 1).bit_length()))
        compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, wbits, min(8, max(1, wbits - 7)))
        packed = compressor.compress(data) + compressor.flush()
        if len(packed) < len(data):
            magic, data = _MAGIC_ZLIB, packed
    return magic + b"%08x\n" % (zlib.crc32(data) & 0xFFFFFFFF) + data, raw


def encode_full(state: StateDict) -> bytes:
    """Encode a whole state (the JSON dict of an AgentState)."""
    return encode_full_sized(state)[0]


def encode_full_sized(state: StateDict) -> tuple[bytes, int]:
    """:func:`encode_full` and the length of the JSON it compressed (the manager's snapshot estimate)."""
    return _wrap({"v": FORMAT_VERSION, "kind": "full", "state": state})


def _common_prefix(old: list[Any], new: list[Any]) -> int:
    n = min(len(old), len(new))
    if n and old[n - 1] == new[n - 1] and old[:n] == new[:n]:
        return n
    i = 0
    while i < n and old[i] == new[i]:
        i += 1
    return i


def jsonable(value: Any, previous: Any) -> Any:
    """``value`` in JSON values (pydantic's JSON mode), sharing every part equal to ``previous``.

    ``previous`` is a JSON value converted earlier (the same field of the state saved last):
    parts of ``value`` that compare equal to it are taken from it rather than converted
    again, so converting a state that grew costs a compare of the old part plus the
    conversion of the new, and the diff that follows finds the shared parts by identity.
    A list keeps its equal prefix; a dict (string keys) recurses per key. Equality is
    Python's, as in :func:`diff`. Raises pydantic's serialization error (a ValueError)
    for a value that has no JSON form.
    """
    if value == previous:
        return previous
    if type(value) is list and type(previous) is list:
        keep = _common_prefix(previous, value)
        return previous[:keep] + to_jsonable_python(value[keep:])
    if type(value) is dict and type(previous) is dict and all(type(key) is str for key in value):
        return {
            key: jsonable(item, previous[key]) if key in previous else to_jsonable_python(item)
            for key, item in value.items()
        }
    return to_jsonable_python(value)


def _diff_dict(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Changes turning ``old`` into ``new``, recursing into nested lists and dicts.

    The result has the same shape at every level: ``set`` (whole values), ``lists``
    (keep/append), ``dicts`` (nested changes), ``del`` / ``unset`` (removed keys). A list
    that only grew, however deep, costs only its new items.
    """
    sets: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    dicts: dict[str, Any] = {}
    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        before = old.get(key)
        if isinstance(before, list) and isinstance(value, list):
            keep = _common_prefix(before, value)
            if keep:
                lists[key] = {"keep": keep, "append": value[keep:]}
                continue
        elif isinstance(before, dict) and isinstance(value, dict) and value:
            dicts[key] = _diff_dict(before, value)
            continue
        sets[key] = value
    out: dict[str, Any] = {"set": sets, "lists": lists, "dicts": dicts}
    removed = [k for k in old if k not in new]
    if removed:
        out["del"] = removed
    return out


def diff(base: StateDict, new: StateDict) -> dict[str, Any]:
    """The changes that turn ``base`` into ``new`` (nested: a delta stays O(change))."""
    out = _diff_dict(base, new)
    removed = out.pop("del", None)
    if removed:
        out["unset"] = removed
    return out


def encode_delta(base_id: str, base: StateDict, new: StateDict) -> bytes:
    """Encode ``new`` as changes against ``base`` (the state of checkpoint ``base_id``)."""
    return encode_delta_sized(base_id, base, new)[0]


def encode_delta_sized(base_id: str, base: StateDict, new: StateDict) -> tuple[bytes, int]:
    """:func:`encode_delta` and the length of the JSON it compressed."""
    return _wrap({"v": FORMAT_VERSION, "kind": "delta", "base": base_id, **diff(base, new)})


def decode(payload: bytes, location: str) -> dict[str, Any]:
    """Check and parse a payload. Raises CHECKPOINT_002 naming ``location`` when unreadable."""

    def corrupt(why: str) -> CheckpointCorruptError:
        return CheckpointCorruptError(
            f"checkpoint {location} is corrupt: {why}",
            hint="delete it or restore it from a backup; earlier checkpoints may still load",
            details={"location": location},
        )

    magic = payload[: len(_MAGIC)]
    if (
        len(payload) < _HEADER_LEN
        or magic not in (_MAGIC, _MAGIC_ZLIB)
        or payload[_HEADER_LEN - 1 : _HEADER_LEN] != b"\n"
    ):
        raise corrupt("missing or damaged header")
    try:
        expected = int(payload[len(_MAGIC) : _HEADER_LEN - 1], 16)
    except ValueError:
        raise corrupt("damaged checksum") from None
    data = payload[_HEADER_LEN:]
    if zlib.crc32(data) & 0xFFFFFFFF != expected:
        raise corrupt("checksum mismatch (truncated or modified)")
    if magic == _MAGIC_ZLIB:
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise corrupt(f"bad zlib data ({exc})") from None
    try:
        body = _json.loads(data)
    except _json.JSONDecodeError as exc:
        raise corrupt(f"invalid JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION or body.get("kind") not in ("full", "delta"):
        raise corrupt("unknown payload format")
    if body["kind"] == "full" and not isinstance(body.get("state"), dict):
        raise corrupt("full snapshot without a state")
    if body["kind"] == "delta" and not isinstance(body.get("base"), str):
        raise corrupt("delta without a base")
    return body


def _apply(base: dict[str, Any], op: dict[str, Any], path: str) -> dict[str, Any]:
    out = dict(base)
    for key, change in op.get("lists", {}).items():
        old = base.get(key)
        keep = change["keep"]
        if not isinstance(old, list) or not 0 <= keep <= len(old):
            raise ValueError(f"list field {path}{key!r} does not match its base")
        out[key] = old[:keep] + list(change["append"])
    for key, change in op.get("dicts", {}).items():
        old = base.get(key)
        if not isinstance(old, dict):
            raise ValueError(f"dict field {path}{key!r} does not match its base")
        out[key] = _apply(old, change, f"{path}{key}.")
    out.update(op.get("set", {}))
    for key in op.get("del", []) + op.get("unset", []):
        out.pop(key, None)
    return out


def apply_delta(base: StateDict, delta: dict[str, Any], location: str = "?") -> StateDict:
    """Return a new state: ``base`` with ``delta`` applied (``base`` is not modified).

    Reads deltas of every version of the format: older writers only nested one level.
    """
    try:
        return _apply(base, delta, "")
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointCorruptError(
            f"checkpoint {location} cannot be applied to its base: {exc}",
            hint="delete it or restore it from a backup",
            details={"location": location},
        ) from None
