"""Open a checkpoint store from a URL; the scheme selects the storage plugin."""

from __future__ import annotations

import os
from typing import Any

from kaizen_core.errors import ConfigError
from kaizen_core.state.store import CheckpointStore
from kaizen_core.urls import safe_url, url_scheme

__all__ = ["DATABASE_SCHEMES", "DatabaseStorage", "open_store", "safe_url", "url_scheme"]


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


#: URL schemes :func:`DatabaseStorage` accepts (the built-in SQLite store and kaizen-postgres).
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def DatabaseStorage(  # the documented name of a store factory
    database_url: str | None = None, *, dataflow: Any = None, **options: Any
) -> CheckpointStore:
    """The checkpoint store of a database: ``sqlite://`` (built in) or ``postgresql://`` (kaizen-postgres).

    ``DatabaseStorage("sqlite:///checkpoints.db")``. The original's ``dataflow=`` (a
    DataFlow object, a separate product) is accepted as the URL string or as any object
    with a ``database_url`` attribute: database persistence goes through the storage
    plugins here. Other schemes raise KAIZEN_002; a missing plugin KAIZEN_003.
    """
    if dataflow is not None:
        if database_url is not None:
            raise ConfigError("pass the database once: database_url= or dataflow=")
        database_url = dataflow if isinstance(dataflow, str) else getattr(dataflow, "database_url", None)
        if not isinstance(database_url, str):
            raise ConfigError(
                f"dataflow= must be a database URL or have a database_url attribute, not {type(dataflow).__name__}",
                hint="DatabaseStorage('postgresql://user@host/db') or DatabaseStorage('sqlite:///checkpoints.db')",
            )
    if not isinstance(database_url, str):
        raise ConfigError(
            "DatabaseStorage needs a database URL",
            hint="DatabaseStorage('postgresql://user@host/db') or DatabaseStorage('sqlite:///checkpoints.db')",
        )
    if url_scheme(database_url) not in DATABASE_SCHEMES:
        raise ConfigError(
            f"DatabaseStorage takes a database URL ({', '.join(s + '://' for s in DATABASE_SCHEMES)}), "
            f"not {safe_url(database_url)!r}",
            hint="use open_store(url) or StateManager(url) for other stores",
        )
    return open_store(database_url, **options)
