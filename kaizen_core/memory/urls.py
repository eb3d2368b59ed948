"""Open a memory tier from a URL; the scheme selects the registered tier plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError, PluginError
from kaizen_core.memory.tier import MemoryTier
from kaizen_core.urls import url_scheme

if TYPE_CHECKING:
    from kaizen_core.memory.storage import MemoryStorage

__all__ = ["open_tier"]


def open_tier(url_or_tier: str | MemoryTier | MemoryStorage, *, namespace: str = "default", **options: Any) -> MemoryTier:
    """Return a tier for ``url_or_tier``.

    A :class:`MemoryTier` instance passes through unchanged (its own namespace is kept).
    A storage backend (:class:`~kaizen_core.memory.storage.MemoryStorage`: ``SQLiteStorage``,
    ``FileStorage``, ``PostgreSQLStorage``) is opened for ``namespace``.
    A URL's scheme (``memory``, ``sqlite``, ``redis``, ``postgresql``, ``s3``...) is looked
    up in the plugin registry (kind ``memory_tier``); a missing plugin raises KAIZEN_003
    with the package to install. ``options`` go to the tier's ``from_url``. The URL
    grammar is :mod:`kaizen_core.urls`, the same as for checkpoint stores
    (``sqlite:///rel.db`` relative, ``sqlite:////abs.db`` absolute).
    """
    if isinstance(url_or_tier, MemoryTier):
        return url_or_tier
    from kaizen_core.memory.storage import MemoryStorage

    if isinstance(url_or_tier, MemoryStorage):
        return url_or_tier.open(namespace, **options)
    if not isinstance(url_or_tier, str) or "://" not in url_or_tier:
        raise ConfigError(
            f"memory store must be a URL like 'sqlite:///memory.db' or a MemoryTier, got {url_or_tier!r}"[:300],
            hint="e.g. 'memory://', SQLiteStorage(db_path='memory.db'), FileStorage('memory.jsonl'), 'sqlite:///relative/memory.db', 'sqlite:////absolute/memory.db', 'redis://localhost:6379/0'",
        )
    scheme = url_scheme(url_or_tier)
    from kaizen_core.plugins import get_registry

    cls = get_registry().load("memory_tier", scheme)
    if not (isinstance(cls, type) and issubclass(cls, MemoryTier)):
        raise PluginError(f"memory tier plugin for scheme {scheme!r} is not a MemoryTier subclass: {cls!r}")
    return cls.from_url(url_or_tier, namespace=namespace, **options)
