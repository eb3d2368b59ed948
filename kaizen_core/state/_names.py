"""Filesystem-safe names for agent ids, checkpoint ids and journal streams."""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote

#: Longest encoded name. File systems allow 255 bytes per name (ext4, APFS, NTFS); this leaves
#: room for the suffixes (".ckpt", ".jsonl") and the temporary-file decoration of atomic writes.
MAX_NAME = 200
#: Marks a shortened name: never produced by percent-encoding (``H`` is not a hex digit).
_HASHED = "%H"


def encode_name(name: str) -> str:
    """Percent-encode ``name`` so it is one safe path component (never hidden, never '..').

    A name longer than :data:`MAX_NAME` once encoded keeps its first characters and ends
    with ``%H`` and 32 hex digits of its SHA-256: still unique, no longer decodable
    (:func:`decode_name` returns None; the store reads the real name from the data).
    """
    if not name:
        raise ValueError("an empty name cannot be stored")
    encoded = quote(name, safe="-_").replace(".", "%2E")
    if len(encoded) <= MAX_NAME:
        return encoded
    head = encoded[: MAX_NAME - len(_HASHED) - 32]
    cut = head.rfind("%", len(head) - 2)
    if cut != -1:  # do not end in the middle of an escape
        head = head[:cut]
    return f"{head}{_HASHED}{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def decode_name(encoded: str) -> str | None:
    """Inverse of :func:`encode_name`; None for a shortened (hashed) name."""
    if _HASHED in encoded:
        return None
    return unquote(encoded)
