"""Compact JSON to/from bytes with the standard library (the core depends on no JSON accelerator)."""

from __future__ import annotations

import json
from typing import Any

JSONDecodeError = json.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON from bytes or str."""
    return json.loads(data)
