"""Filesystem-safe names for agent ids, checkpoint ids and journal streams."""

from __future__ import annotations

from urllib.parse import quote, unquote


def encode_name(name: str) -> str:
    """Percent-encode ``name`` so it is one safe path component (never hidden, never '..')."""
    if not name:
        raise ValueError("an empty name cannot be stored")
    encoded = quote(name, safe="-_")
    return encoded.replace(".", "%2E")


def decode_name(encoded: str) -> str:
    """Inverse of :func:`encode_name`."""
    return unquote(encoded)
