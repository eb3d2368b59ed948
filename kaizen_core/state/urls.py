"""Open a checkpoint store from a URL; the scheme selects the storage plugin."""

from __future__ import annotations

import os
from typing import Any

from kaizen_core.errors import ConfigError
from kaizen_core.state.store import CheckpointStore
from kaizen_core.urls import safe_url, url_scheme

__all__ = ["open_store", "safe_url", "url_scheme"]


def open_store(url_or_store: str | os.PathLike[str] | CheckpointStore, **options: Any) -> CheckpointStore:
    """Return a store: a store passes through, a path opens FilesystemStorage, a URL its plugin.

    ``file://`` and ``sqlite://`` are built in; other schemes (``redis://``,
    ``postgresql://``, ``s3://``) come from installed plugins through the
    storage-backends hookspec. An unknown scheme raises KAIZEN_003 naming the package.
    The URL grammar (``sqlite:///rel.db``, ``sqlite:////abs.db``, ``file:///abs`` ...) is
    :mod:`kaizen_core.urls`, shared with the memory tiers.
    """
    if isinstance(url_or_store, CheckpointStore):
        return url_or_store
    if isinstance(url_or_store, os.PathLike):
        from kaizen_core.state.filesystem import FilesystemStorage

        return FilesystemStorage(url_or_store, **options)
    if not isinstance(url_or_store, str):
        raise ConfigError(f"checkpoint storage must be a URL or a CheckpointStore, not {type(url_or_store).__name__}")
    from kaizen_core.plugins import get_registry

    store_cls = get_registry().load("storage", url_scheme(url_or_store))
    store = store_cls.from_url(url_or_store, **options)
    if not isinstance(store, CheckpointStore):
        raise ConfigError(f"storage plugin for {safe_url(url_or_store)!r} did not return a CheckpointStore")
    return store
