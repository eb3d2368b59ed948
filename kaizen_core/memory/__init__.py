"""Memory: tiers (hot/warm/cold + manager), conversation buffers, long-term memory, learning.

Everything is imported lazily: ``import kaizen_core.memory`` costs nothing until a name
is used, so an agent without memory pays nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kaizen_core.memory.tier import MemoryTier, TextSearchable, TierStats

if TYPE_CHECKING:
    from kaizen_core.memory.buffer import BufferMemory, PersistentBufferMemory
    from kaizen_core.memory.hot import HotMemoryTier
    from kaizen_core.memory.learning import ErrorCorrection, PatternRecognition, PreferenceLearning
    from kaizen_core.memory.long_term import LongTermMemory, MemoryEntry, ShortTermMemory
    from kaizen_core.memory.manager import TierManager, TierManagerConfig
    from kaizen_core.memory.urls import open_tier
    from kaizen_core.memory.warm import WarmMemoryTier

_LAZY = {
    "HotMemoryTier": "kaizen_core.memory.hot",
    "WarmMemoryTier": "kaizen_core.memory.warm",
    "open_tier": "kaizen_core.memory.urls",
    "TierManager": "kaizen_core.memory.manager",
    "TierManagerConfig": "kaizen_core.memory.manager",
    "BufferMemory": "kaizen_core.memory.buffer",
    "PersistentBufferMemory": "kaizen_core.memory.buffer",
    "ShortTermMemory": "kaizen_core.memory.long_term",
    "LongTermMemory": "kaizen_core.memory.long_term",
    "MemoryEntry": "kaizen_core.memory.long_term",
    "PatternRecognition": "kaizen_core.memory.learning",
    "PreferenceLearning": "kaizen_core.memory.learning",
    "ErrorCorrection": "kaizen_core.memory.learning",
}

__all__ = [
    "BufferMemory",
    "ErrorCorrection",
    "HotMemoryTier",
    "LongTermMemory",
    "MemoryEntry",
    "MemoryTier",
    "PatternRecognition",
    "PersistentBufferMemory",
    "PreferenceLearning",
    "ShortTermMemory",
    "TextSearchable",
    "TierManager",
    "TierManagerConfig",
    "TierStats",
    "WarmMemoryTier",
    "open_tier",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kaizen_core.memory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
