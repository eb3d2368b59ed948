"""Compact JSON to/from bytes with the standard library (the core depends on no JSON accelerator)."""

from __future__ import annotations

import json
from typing import Any

JSONDecodeError = json.JSONDecodeError


#: One encoder for every call: ``json.dumps`` with options builds a new ``JSONEncoder`` each
#: time (about a fifth of a journal record's cost). An encoder keeps no state between calls.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    return _encode(value).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON from bytes or str."""
    return json.loads(data)
