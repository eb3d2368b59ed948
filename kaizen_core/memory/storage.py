"""Storage backends for memories: where entries live, opened per namespace.

A storage backend is a memory tier URL plus options. A memory opens it with its own
namespace (``agent_id``, or ``agent_id/session_id``), so one backend serves many agents
without them seeing each other::

    storage = SQLiteStorage(db_path="./agent_memory.db")       # sqlite:///agent_memory.db
    long_term = LongTermMemory(storage_backend=storage, agent_id="support-bot")

* :class:`SQLiteStorage` (``db_path``): the warm sqlite tier (FTS5 keyword search).
* :class:`FileStorage` (``file_path``): an append-only JSONL file (``file://`` tier),
  readable with any text tool; several processes may share it.
* :class:`PostgreSQLStorage`: implemented by the kaizen-postgres plugin; constructing it
  without the plugin installed is KAIZEN_003 naming the package to install.

Everywhere a memory takes a store (``store=``, ``storage_backend=``, ``storage=``,
``db=``, ``backend=``), a URL string or an opened :class:`MemoryTier` works as well.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError, PluginNotInstalledError
from kaizen_core.urls import file_url, safe_url, sqlite_url

if TYPE_CHECKING:
    from kaizen_core.memory.tier import MemoryTier

__all__ = ["FileStorage", "MemoryStorage", "PostgreSQLStorage", "SQLiteStorage", "pick_store"]


class MemoryStorage:
    """A memory tier URL and its options; :meth:`open` gives the tier for one namespace."""

    def __init__(self, url: str, **options: Any) -> None:
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(f"a storage backend needs a store URL, got {url!r}"[:200])
        self.url = url
        self.options = options

    def open(self, namespace: str, **options: Any) -> MemoryTier:
        """The tier of this backend for ``namespace`` (options given here win)."""
        from kaizen_core.memory.urls import open_tier

        return open_tier(self.url, namespace=namespace, **{**self.options, **options})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({safe_url(self.url)!r})"


class SQLiteStorage(MemoryStorage):
    """Entries in one SQLite file (created on first use). ``db_path`` is relative to the working directory."""

    def __init__(self, db_path: str | os.PathLike[str] = "kaizen_memory.db", **options: Any) -> None:
        self.db_path = Path(db_path)
        super().__init__(sqlite_url(self.db_path), **options)


class FileStorage(MemoryStorage):
    """Entries in an append-only JSONL file, one operation per line (see :mod:`kaizen_core.memory.file`)."""

    def __init__(self, file_path: str | os.PathLike[str] = "kaizen_memory.jsonl", **options: Any) -> None:
        self.file_path = Path(file_path)
        super().__init__(file_url(self.file_path), **options)


_POSTGRES_IMPL = ("kaizen_postgres.memory_storage", "PostgreSQLStorage", "kaizen-postgres")


class PostgreSQLStorage(MemoryStorage):
    """Entries in PostgreSQL. The class lives in the kaizen-postgres plugin; this name resolves it.

    Constructing it returns the plugin's subclass; without the plugin installed the
    construction raises KAIZEN_003 (``pip install kaizen-postgres``).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> PostgreSQLStorage:
        if cls is PostgreSQLStorage:
            module_name, attr, package = _POSTGRES_IMPL
            try:
                impl = getattr(importlib.import_module(module_name), attr)
            except ImportError as exc:
                raise PluginNotInstalledError(
                    f"PostgreSQLStorage is provided by the {package} plugin, which is not installed ({exc})",
                    hint=f"pip install {package}",
                ) from exc
            if not (isinstance(impl, type) and issubclass(impl, PostgreSQLStorage)):
                raise PluginNotInstalledError(f"{module_name}.{attr} is not a PostgreSQLStorage", hint=f"pip install -U {package}")
            cls = impl
        instance: PostgreSQLStorage = super().__new__(cls)
        return instance


def pick_store(owner: str, default: Any = None, **given: Any) -> Any:
    """The one store passed under any of its documented names (``store``, ``db``, ``storage_backend``...).

    Two different names given at once is KAIZEN_002; none gives ``default``; a value of an
    unsupported type (a DataFlow object, say) is KAIZEN_002 with the spellings that work.
    """
    from kaizen_core.memory.manager import TierManager
    from kaizen_core.memory.tier import MemoryTier

    named = {name: value for name, value in given.items() if value is not None}
    if len(named) > 1:
        raise ConfigError(
            f"{owner} got a store under several names ({', '.join(sorted(named))}); pass one",
            hint="store=, storage_backend=, storage=, db= and backend= are the same option",
        )
    if not named:
        return default
    ((name, value),) = named.items()
    if isinstance(value, str | MemoryTier | MemoryStorage | TierManager):
        return value
    raise ConfigError(
        f"{owner}({name}=...) needs a store URL, a storage backend or a memory tier, got {type(value).__name__}",
        hint="e.g. 'sqlite:///agent_memory.db', SQLiteStorage(db_path='./agent_memory.db'), FileStorage('memory.jsonl'), "
        "'postgresql://host/db'. DataFlow is a separate product: pass the database it points at as a URL",
    )
