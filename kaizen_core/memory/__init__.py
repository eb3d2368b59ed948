"""Memory: tiers (hot/warm/cold + manager), conversation buffers, long-term memory, learning.

Everything is imported lazily: ``import kaizen_core.memory`` costs nothing until a name
is used, so an agent without memory pays nothing. Memory objects are blocking under their
documented names with async twins ``a<name>`` (:mod:`kaizen_core.memory.sync`); the tiers
and the TierManager are async. ``kaizen_core.memory.storage`` and
``kaizen_core.memory.learning`` are the documented ``kaizen.memory.storage`` and
``kaizen.memory.learning``; ``kaizen.memory.tiers`` and ``kaizen.memory.persistent_tiers``
are this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.lazy import lazy_exports
from kaizen_core.memory.tier import MemoryTier, TextSearchable, TierStats

if TYPE_CHECKING:
    from kaizen_core.memory.agent import AgentMemory
    from kaizen_core.memory.backends import ConversationBackend, DataFlowBackend
    from kaizen_core.memory.buffer import BufferMemory, PersistentBufferMemory
    from kaizen_core.memory.file import FileMemoryTier
    from kaizen_core.memory.hot import HotMemoryTier
    from kaizen_core.memory.learning import AdaptiveLearning, ErrorCorrection, PatternRecognition, PreferenceLearning
    from kaizen_core.memory.long_term import LongTermMemory, MemoryEntry, SemanticMemory, ShortTermMemory
    from kaizen_core.memory.manager import TierManager, TierManagerConfig
    from kaizen_core.memory.storage import FileStorage, MemoryStorage, PostgreSQLStorage, SQLiteStorage
    from kaizen_core.memory.urls import open_tier
    from kaizen_core.memory.warm import WarmMemoryTier

_LAZY = {
    "AgentMemory": "kaizen_core.memory.agent",
    "ConversationBackend": "kaizen_core.memory.backends",
    "DataFlowBackend": "kaizen_core.memory.backends",
    "FileMemoryTier": "kaizen_core.memory.file",
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
    "SemanticMemory": "kaizen_core.memory.long_term",
    "AdaptiveLearning": "kaizen_core.memory.learning",
    "PatternRecognition": "kaizen_core.memory.learning",
    "PreferenceLearning": "kaizen_core.memory.learning",
    "ErrorCorrection": "kaizen_core.memory.learning",
    "MemoryStorage": "kaizen_core.memory.storage",
    "SQLiteStorage": "kaizen_core.memory.storage",
    "FileStorage": "kaizen_core.memory.storage",
    "PostgreSQLStorage": "kaizen_core.memory.storage",
}

__all__ = [
    "AdaptiveLearning",
    "AgentMemory",
    "BufferMemory",
    "ConversationBackend",
    "DataFlowBackend",
    "ErrorCorrection",
    "FileMemoryTier",
    "FileStorage",
    "HotMemoryTier",
    "LongTermMemory",
    "MemoryEntry",
    "MemoryStorage",
    "MemoryTier",
    "PatternRecognition",
    "PersistentBufferMemory",
    "PostgreSQLStorage",
    "PreferenceLearning",
    "SQLiteStorage",
    "SemanticMemory",
    "ShortTermMemory",
    "TextSearchable",
    "TierManager",
    "TierManagerConfig",
    "TierStats",
    "WarmMemoryTier",
    "open_tier",
]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
