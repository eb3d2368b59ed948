"""Validation and encoding shared by every memory tier (built-in or plugin).

Tiers store values as compact JSON text. Using these helpers gives every backend the
same rules, which :class:`kaizen_testing.memory_suite.MemoryTierSuite` checks:

* keys are non-empty ``str`` (MEMORY_003 otherwise);
* values must be strict JSON (no sets, bytes, objects, NaN or infinity: MEMORY_003);
* ``ttl`` is ``None`` or a positive number of seconds (MEMORY_003 otherwise).
"""

from __future__ import annotations

import json
import math
import time
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import MemoryBackendError, MemoryValueError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from kaizen_core.memory.tier import TierStats

__all__ = [
    "LatencyRecorder",
    "check_key",
    "check_ttl",
    "compress",
    "decode_value",
    "decompress",
    "encode_value",
    "expiry",
]


def check_key(key: Any) -> str:
    """Return ``key`` when it is a non-empty string, else raise MEMORY_003."""
    if not isinstance(key, str) or not key:
        raise MemoryValueError(
            f"memory keys must be non-empty strings, got {type(key).__name__} {key!r}"[:200],
            hint="use a string key such as 'user/preferences'",
        )
    return key


def check_ttl(ttl: Any) -> float | None:
    """Return ``ttl`` as float seconds (or None), raising MEMORY_003 for zero, negative or non-numbers."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
        raise MemoryValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}", hint="e.g. ttl=60")
    return float(ttl)


def expiry(ttl: float | None, now: float | None = None) -> float | None:
    """Absolute wall-clock expiry time (``time.time()`` based) for ``ttl``."""
    if ttl is None:
        return None
    return (time.time() if now is None else now) + ttl


def encode_value(value: Any) -> str:
    """Compact JSON text for ``value``; MEMORY_003 when it is not strict JSON."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MemoryValueError(
            f"memory values must be JSON-serializable: {exc}",
            hint="store dicts, lists, strings, numbers, booleans or None (convert sets/bytes/objects first)",
        ) from exc


_scan: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads ends in


def decode_value(text: str | bytes) -> Any:
    """Inverse of :func:`encode_value`; a corrupt value is a MEMORY_001 backend error.

    Compact JSON text (what :func:`encode_value` writes) goes straight to the C scanner,
    twice as fast as ``json.loads`` on small values (a bulk read decodes 100k of them);
    anything else (bytes, surrounding whitespace, an error to report) through ``json.loads``."""
    if isinstance(text, str):
        try:
            value, end = _scan(text, 0)
            if end == len(text):
                return value
        except (StopIteration, ValueError):
            pass
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MemoryBackendError(f"stored memory value is not valid JSON: {exc}") from exc


def compress(text: str, level: int = 6) -> bytes:
    """zlib-compress UTF-8 text."""
    return zlib.compress(text.encode("utf-8"), level)


def decompress(blob: bytes) -> str:
    """Inverse of :func:`compress`; corrupt data is MEMORY_001."""
    try:
        return zlib.decompress(blob).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as exc:
        raise MemoryBackendError(f"stored memory value cannot be decompressed: {exc}") from exc


class LatencyRecorder:
    """Keeps the last ``window`` latency samples (seconds) and reports p50/p95 in ms."""

    __slots__ = ("_samples",)

    def __init__(self, window: int = 2048) -> None:
        self._samples: deque[float] = deque(maxlen=window)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def percentile_ms(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) in milliseconds, None without samples (nearest-rank)."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[index] * 1000.0

    @property
    def p50_ms(self) -> float | None:
        return self.percentile_ms(0.50)

    @property
    def p95_ms(self) -> float | None:
        return self.percentile_ms(0.95)

    def report(self, counters: TierStats, *, size: int) -> TierStats:
        """A copy of a tier's ``counters`` with ``size`` and this recorder's p50/p95 (what ``stats()`` returns)."""
        return counters.model_copy(update={"size": size, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms})
