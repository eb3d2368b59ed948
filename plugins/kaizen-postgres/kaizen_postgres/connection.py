"""One asyncpg pool per event loop, migrations on first use, retry with backoff.

``asyncpg`` is imported here, i.e. only when a store or tier is created. Operations
that fail because the connection dropped or the server is (re)starting are retried
with exponential backoff; whatever still fails becomes a Kaizen error naming the URL
without its password. Every retried write is idempotent (upserts, journal tokens).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import asyncpg

from kaizen_core._sync import PerLoop, close_per_loop
from kaizen_core.errors import ConfigError, KaizenError, redact
from kaizen_core.urls import parse_url, safe_url
from kaizen_postgres.migrations import apply_migrations

T = TypeVar("T")
log = logging.getLogger("kaizen.postgres")

#: errors worth retrying: the connection is gone or the server is not accepting yet
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InterfaceError,
)


def check_url(url: str) -> str:
    if parse_url(url).scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"not a PostgreSQL URL: {safe_url(url)}", hint="use postgresql://user:password@host:5432/database"
        )
    return url


class PostgresConnection:
    """Lazily creates an asyncpg pool per running loop, kept while that loop lives
    (:class:`kaizen_core._sync.PerLoop`: the sync API's two persistent loops and an
    application's own each keep theirs), and migrates the schema once."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 0,
        max_size: int = 10,
        retries: int = 5,
        backoff_base: float = 0.05,
        backoff_cap: float = 1.0,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
        migrate: bool = True,
    ) -> None:
        self.url = check_url(url)
        parsed = parse_url(url)
        self.display_url = parsed.display
        self._password = parsed.password_value
        self.min_size, self.max_size = min_size, max_size
        self.retries, self.backoff_base, self.backoff_cap = retries, backoff_base, backoff_cap
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.auto_migrate = migrate
        self._pools: PerLoop[tuple[asyncpg.Pool, asyncio.Lock]] = PerLoop()  # a pool and its migration lock
        self._migrated = False

    def __repr__(self) -> str:
        return f"PostgresConnection({self.display_url!r})"

    async def _get_pool(self) -> tuple[asyncpg.Pool, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is None:
            pool = await asyncpg.create_pool(
                self.url,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.connect_timeout,
                command_timeout=self.command_timeout,
            )
            entry = self._pools.get(loop)  # another task of this loop may have made one meanwhile
            if entry is None:
                entry = (pool, asyncio.Lock())
                self._pools.set(loop, entry)
            else:
                await pool.close()
        return entry

    async def migrate(self, error: type[KaizenError]) -> list[int]:
        """Apply pending migrations now; returns the versions applied."""

        async def op(conn: asyncpg.Connection) -> list[int]:
            return await apply_migrations(conn)

        applied = await self.run("migrate", op, error, _migrating=True)
        self._migrated = True
        return applied

    async def run(
        self,
        what: str,
        fn: Callable[[asyncpg.Connection], Awaitable[T]],
        error: type[KaizenError],
        *,
        _migrating: bool = False,
    ) -> T:
        """Run ``fn(connection)`` with retries; failures become ``error`` (redacted URL)."""
        delay = self.backoff_base
        attempt = 0
        while True:
            attempt += 1
            try:
                pool, lock = await self._get_pool()
                if self.auto_migrate and not self._migrated and not _migrating:
                    async with lock:
                        if not self._migrated:
                            async with pool.acquire() as conn:
                                await apply_migrations(conn)
                            self._migrated = True
                async with pool.acquire() as conn:
                    return await fn(conn)
            except TRANSIENT as exc:
                if attempt > self.retries:
                    raise self._error(what, exc, error) from exc
                log.info("postgres %s at %s: %s; retry %d in %.2fs", what, self.display_url,
                         type(exc).__name__, attempt, delay)  # fmt: skip
                await anyio.sleep(delay)
                delay = min(self.backoff_cap, delay * 2)
            except asyncpg.PostgresError as exc:
                raise self._error(what, exc, error) from exc

    def _error(self, what: str, exc: BaseException, error: type[KaizenError]) -> KaizenError:
        detail = redact(f"{type(exc).__name__}: {exc}", [self._password])
        log.warning("postgres %s failed at %s: %s", what, self.display_url, detail)
        return error(
            f"postgres {what} failed at {self.display_url}: {detail}",
            hint="check that PostgreSQL is running and reachable, and the user, password and database in the URL",
            details={"url": self.display_url},
        )

    async def close(self) -> None:
        """Close the pools: the running loop's here, the background loop's there
        (:func:`kaizen_core._sync.close_per_loop`). A later use makes a new one."""
        await close_per_loop(self._pools, _close_pool)


async def _close_pool(entry: tuple[asyncpg.Pool, asyncio.Lock]) -> None:
    await entry[0].close()
