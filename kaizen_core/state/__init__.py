"""Checkpoints: AgentState, StateManager and the checkpoint stores.

The stores resolve lazily (PEP 562): ``import kaizen_core.state`` imports none of them.

* ``FilesystemStorage`` and ``SQLiteStorage`` are built in;
* ``RedisStorage``, ``PostgreSQLStorage`` and ``S3Storage`` are the stores of the
  kaizen-redis, kaizen-postgres and kaizen-s3-storage plugins, found through the
  storage-backends registry (the same lookup as a ``redis://`` URL); without the plugin,
  accessing the name raises :class:`~kaizen_core.errors.PluginNotInstalledError`
  (KAIZEN_003) saying which package to install;
* ``DatabaseStorage(url)`` opens the store of a database URL (``sqlite://`` or
  ``postgresql://``);
* ``CheckpointManager`` is another name of :class:`StateManager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizen_core.state.agent_state import AgentState, AgentStatus, new_checkpoint_id
from kaizen_core.state.manager import StateManager
from kaizen_core.state.store import CheckpointMeta, CheckpointStore
from kaizen_core.state.urls import DatabaseStorage, open_store, safe_url

if TYPE_CHECKING:
    from kaizen_core.state.filesystem import FilesystemStorage
    from kaizen_core.state.sqlite import SQLiteStorage

#: The documented name of :class:`StateManager` in ``kaizen.core.autonomy.checkpoints``.
CheckpointManager = StateManager

__all__ = [
    "AgentState",
    "AgentStatus",
    "CheckpointManager",
    "CheckpointMeta",
    "CheckpointStore",
    "DatabaseStorage",
    "FilesystemStorage",
    "PostgreSQLStorage",
    "RedisStorage",
    "S3Storage",
    "SQLiteStorage",
    "StateManager",
    "new_checkpoint_id",
    "open_store",
    "safe_url",
]

#: Documented store names provided by plugins -> the URL scheme they are registered under.
PLUGIN_STORES: dict[str, str] = {
    "RedisStorage": "redis",
    "PostgreSQLStorage": "postgresql",
    "S3Storage": "s3",
}


def __getattr__(name: str) -> Any:
    if name == "FilesystemStorage":
        from kaizen_core.state.filesystem import FilesystemStorage

        return FilesystemStorage
    if name == "SQLiteStorage":
        from kaizen_core.state.sqlite import SQLiteStorage

        return SQLiteStorage
    scheme = PLUGIN_STORES.get(name)
    if scheme is not None:
        from kaizen_core.plugins import get_registry

        # Not cached in globals(): the registry decides (KAIZEN_LOAD_PLUGINS, plugins added in tests).
        return get_registry().load("storage", scheme)  # KAIZEN_003 with "pip install ..." when missing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
