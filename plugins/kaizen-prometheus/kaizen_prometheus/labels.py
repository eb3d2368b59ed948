"""Bounded label values: every Prometheus series costs memory in this process and in Prometheus.

Agent ids, model names and above all tool names (MCP servers bring their own) are not under
the exporter's control, so each label keeps at most ``limit`` distinct values; later new
values are reported as ``"other"``. Values are cut to :data:`MAX_VALUE_LENGTH` characters and
redacted once, when first seen (a secret pasted into an agent id never reaches a scrape).
"""

from __future__ import annotations

import threading

from kaizen_core.redaction import redact

__all__ = ["MAX_VALUE_LENGTH", "OTHER", "UNKNOWN", "LabelCap"]

OTHER = "other"
UNKNOWN = "unknown"
MAX_VALUE_LENGTH = 128


class LabelCap:
    """Maps raw values of one label to at most ``limit`` distinct label values (+ ``"other"``).

    ``None`` and ``""`` become ``"unknown"`` (which counts toward the limit like any value).
    :attr:`overflowed` counts the values turned into ``"other"``. Thread-safe; a value seen
    before costs one dict lookup.
    """

    def __init__(self, label: str, limit: int) -> None:
        if limit < 1:
            from kaizen_core.errors import ConfigError

            raise ConfigError(f"max_label_values must be at least 1, got {limit!r}")
        self.label = label
        self.limit = limit
        self.overflowed = 0
        self._known: dict[str | None, str] = {}
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        if value is not None and not isinstance(value, str):
            value = str(value)  # metadata may hold anything, unhashable values included
        known = self._known.get(value)
        if known is not None:
            return known
        with self._lock:
            known = self._known.get(value)
            if known is not None:
                return known
            if len(self._known) >= self.limit:
                self.overflowed += 1
                return OTHER
            text = UNKNOWN if value is None or value == "" else redact(str(value))[:MAX_VALUE_LENGTH]
            self._known[value] = text
            return text

    def values(self) -> list[str]:
        """The label values admitted so far, in first-seen order."""
        return list(self._known.values())
