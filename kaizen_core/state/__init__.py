"""Checkpoints: AgentState, StateManager and the built-in file and SQLite stores.

FilesystemStorage and SQLiteStorage are imported lazily (``kaizen_core.state.FilesystemStorage``
works, but ``import kaizen_core.state`` does not import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizen_core.state.agent_state import AgentState, AgentStatus
from kaizen_core.state.manager import StateManager
from kaizen_core.state.store import CheckpointMeta, CheckpointStore
from kaizen_core.state.urls import open_store, safe_url

if TYPE_CHECKING:
    from kaizen_core.state.filesystem import FilesystemStorage
    from kaizen_core.state.sqlite import SQLiteStorage

__all__ = [
    "AgentState",
    "AgentStatus",
    "CheckpointMeta",
    "CheckpointStore",
    "FilesystemStorage",
    "SQLiteStorage",
    "StateManager",
    "open_store",
    "safe_url",
]


def __getattr__(name: str) -> Any:
    if name == "FilesystemStorage":
        from kaizen_core.state.filesystem import FilesystemStorage

        return FilesystemStorage
    if name == "SQLiteStorage":
        from kaizen_core.state.sqlite import SQLiteStorage

        return SQLiteStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
