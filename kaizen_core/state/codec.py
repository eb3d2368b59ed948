"""Encoding of checkpoint payloads: full snapshots and deltas.

A payload is ``b"KZ1 " + crc32 (8 hex digits) + b"\\n" + JSON body``; the CRC covers
the body, so a flipped or truncated payload is detected by every backend alike.

Bodies (see docs/checkpoints.md):

* full:  ``{"v": 1, "kind": "full", "state": {...AgentState as JSON...}}``
* delta: ``{"v": 1, "kind": "delta", "base": "<checkpoint id>", "set": {...},
  "lists": {field: {"keep": k, "append": [...]}}, "dicts": {field: {"set": {...}, "del": [...]}}}``

In a delta, ``lists`` keeps the first ``k`` items of the base list and appends the new
ones (``k`` smaller than the base length is the truncate marker); ``dicts`` sets and
deletes keys; ``set`` replaces whole fields. Unchanged fields are absent, so a delta
grows with the changes, never with the history.
"""

from __future__ import annotations

import zlib
from typing import Any

from kaizen_core import _json
from kaizen_core.errors import CheckpointCorruptError

FORMAT_VERSION = 1
_MAGIC = b"KZ1 "
_HEADER_LEN = len(_MAGIC) + 8 + 1

StateDict = dict[str, Any]


def _wrap(body: dict[str, Any]) -> bytes:
    data = _json.dumps(body)
    return _MAGIC + b"%08x\n" % (zlib.crc32(data) & 0xFFFFFFFF) + data


def encode_full(state: StateDict) -> bytes:
    """Encode a whole state (the JSON dict of an AgentState)."""
    return _wrap({"v": FORMAT_VERSION, "kind": "full", "state": state})


def _common_prefix(old: list[Any], new: list[Any]) -> int:
    n = min(len(old), len(new))
    if n and old[n - 1] == new[n - 1] and old[:n] == new[:n]:
        return n
    i = 0
    while i < n and old[i] == new[i]:
        i += 1
    return i


def diff(base: StateDict, new: StateDict) -> dict[str, Any]:
    """The changes that turn ``base`` into ``new`` (top-level fields only)."""
    sets: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    dicts: dict[str, Any] = {}
    for key, value in new.items():
        if key in base and base[key] == value:
            continue
        old = base.get(key)
        if isinstance(old, list) and isinstance(value, list):
            keep = _common_prefix(old, value)
            if keep:
                lists[key] = {"keep": keep, "append": value[keep:]}
                continue
        elif isinstance(old, dict) and isinstance(value, dict):
            changed = {k: v for k, v in value.items() if k not in old or old[k] != v}
            removed = [k for k in old if k not in value]
            if len(changed) + len(removed) < len(value) or not value:
                dicts[key] = {"set": changed, "del": removed}
                continue
        sets[key] = value
    removed_fields = [k for k in base if k not in new]
    out: dict[str, Any] = {"set": sets, "lists": lists, "dicts": dicts}
    if removed_fields:
        out["unset"] = removed_fields
    return out


def encode_delta(base_id: str, base: StateDict, new: StateDict) -> bytes:
    """Encode ``new`` as changes against ``base`` (the state of checkpoint ``base_id``)."""
    body = {"v": FORMAT_VERSION, "kind": "delta", "base": base_id, **diff(base, new)}
    return _wrap(body)


def decode(payload: bytes, location: str) -> dict[str, Any]:
    """Check and parse a payload. Raises CHECKPOINT_002 naming ``location`` when unreadable."""

    def corrupt(why: str) -> CheckpointCorruptError:
        return CheckpointCorruptError(
            f"checkpoint {location} is corrupt: {why}",
            hint="delete it or restore it from a backup; earlier checkpoints may still load",
            details={"location": location},
        )

    if len(payload) < _HEADER_LEN or not payload.startswith(_MAGIC) or payload[_HEADER_LEN - 1 : _HEADER_LEN] != b"\n":
        raise corrupt("missing or damaged header")
    try:
        expected = int(payload[len(_MAGIC) : _HEADER_LEN - 1], 16)
    except ValueError:
        raise corrupt("damaged checksum") from None
    data = payload[_HEADER_LEN:]
    if zlib.crc32(data) & 0xFFFFFFFF != expected:
        raise corrupt("checksum mismatch (truncated or modified)")
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


def apply_delta(base: StateDict, delta: dict[str, Any], location: str = "?") -> StateDict:
    """Return a new state: ``base`` with ``delta`` applied (``base`` is not modified)."""
    out = dict(base)
    try:
        for key, op in delta.get("lists", {}).items():
            old = base.get(key)
            keep = op["keep"]
            if not isinstance(old, list) or not 0 <= keep <= len(old):
                raise ValueError(f"list field {key!r} does not match its base")
            out[key] = old[:keep] + list(op["append"])
        for key, op in delta.get("dicts", {}).items():
            old = base.get(key)
            if not isinstance(old, dict):
                raise ValueError(f"dict field {key!r} does not match its base")
            new = dict(old)
            for k in op.get("del", []):
                new.pop(k, None)
            new.update(op.get("set", {}))
            out[key] = new
        out.update(delta.get("set", {}))
        for key in delta.get("unset", []):
            out.pop(key, None)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointCorruptError(
            f"checkpoint {location} cannot be applied to its base: {exc}",
            hint="delete it or restore it from a backup",
            details={"location": location},
        ) from None
    return out
