"""``PostgreSQLStorage``: the memory storage backend on PostgreSQL (``kaizen_core.memory.storage``).

    from kaizen_core.memory.storage import PostgreSQLStorage
    storage = PostgreSQLStorage("postgresql://kaizen@db.internal/kaizen")
    storage = PostgreSQLStorage(host="db.internal", database="kaizen", user="kaizen", password="...")
    long_term = LongTermMemory(storage_backend=storage, agent_id="support-bot")

It names a database; each memory opens a :class:`~kaizen_postgres.tier.PostgresMemoryTier`
on it for its own namespace. Importing this module does not import asyncpg.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kaizen_core.errors import ConfigError
from kaizen_core.memory.storage import PostgreSQLStorage as _CorePostgreSQLStorage

__all__ = ["PostgreSQLStorage"]


class PostgreSQLStorage(_CorePostgreSQLStorage):
    """Memory entries in PostgreSQL: a ``postgresql://`` URL, or its parts.

    ``database_url`` (first argument; ``connection_string`` is the same option) or
    ``host``/``port``/``database``/``user``/``password``. Other options (``min_size``,
    ``max_size``, ``connect_timeout``, ``command_timeout``, ``migrate``...) go to the tier's
    connection pool.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        connection_string: str | None = None,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        **options: Any,
    ) -> None:
        if database_url is not None and connection_string is not None and database_url != connection_string:
            raise ConfigError("pass database_url or connection_string, not both (they are the same option)")
        url = database_url or connection_string
        parts = {"host": host, "port": port, "database": database, "user": user, "password": password}
        if url is not None and any(v is not None for v in parts.values()):
            raise ConfigError("pass a database URL or its parts (host, port, database, user, password), not both")
        if url is None:
            if host is None or database is None:
                raise ConfigError(
                    "PostgreSQLStorage needs a database URL, or at least host= and database=",
                    hint="e.g. PostgreSQLStorage('postgresql://user@localhost:5432/kaizen')",
                )
            auth = ""
            if user is not None:
                auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "") + "@"
            url = f"postgresql://{auth}{host}{f':{port}' if port is not None else ''}/{quote(database, safe='')}"
        if not url.lower().startswith(("postgresql://", "postgres://")):
            raise ConfigError("PostgreSQLStorage needs a postgresql:// URL", hint="e.g. postgresql://user@localhost/kaizen")
        super().__init__(url, **options)
