"""Open a checkpoint store from a URL; the scheme selects the storage plugin."""

from __future__ import annotations

import os
from typing import Any

from kaizen_core.errors import ConfigError, redact
from kaizen_core.state.store import CheckpointStore


def safe_url(url: str) -> str:
    """``url`` without its password (and without key-like query values), for messages and logs."""
    return redact(url)


def url_scheme(url: str) -> str:
    """The scheme of ``url`` (``"file"`` for ``file://./x``)."""
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise ConfigError(
            f"checkpoint storage {safe_url(url)!r} is not a URL",
            hint="use file://./checkpoints, sqlite:///checkpoints.db or a plugin scheme such as redis://",
        )
    return scheme.lower()


def open_store(url_or_store: str | os.PathLike[str] | CheckpointStore, **options: Any) -> CheckpointStore:
    """Return a store: a store passes through, a path opens FilesystemStorage, a URL its plugin.

    ``file://`` and ``sqlite://`` are built in; other schemes (``redis://``,
    ``postgresql://``, ``s3://``) come from installed plugins through the
    storage-backends hookspec. An unknown scheme raises KAIZEN_003 naming the package.
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
