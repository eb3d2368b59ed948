"""One pooled ``redis.asyncio`` client per event loop, with reconnect + backoff.

``redis`` is imported here, i.e. only when a store or tier is created. Dropped
connections are retried by redis-py with exponential backoff (``retries`` attempts);
what still fails becomes a Kaizen error naming the URL without its password.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kaizen_core._sync import PerLoop, close_per_loop
from kaizen_core.errors import ConfigError, KaizenError, redact
from kaizen_core.urls import parse_url, safe_url

T = TypeVar("T")
log = logging.getLogger("kaizen.redis")

#: Query parameters Kaizen reads itself (removed before redis-py sees the URL).
KAIZEN_QUERY_OPTIONS = ("prefix", "key_prefix", "ttl")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL without Kaizen's own query options, and those options."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"not a redis URL: {safe_url(url)}", hint="use redis://[:password@]host:port/db")
    ours: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        (ours.__setitem__(key, value) if key in KAIZEN_QUERY_OPTIONS else rest.append((key, value)))
    return urlunsplit(parts._replace(query=urlencode(rest))), ours


class RedisConnection:
    """Lazily creates a client per running loop, kept while that loop lives
    (:class:`kaizen_core._sync.PerLoop`): the sync API's two persistent loops (the main
    thread's, the background one) and an application's own each keep their pool."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 32,
        retries: int = 5,
        backoff_base: float = 0.05,
        backoff_cap: float = 1.0,
        socket_timeout: float = 10.0,
        connect_timeout: float = 2.0,
        pool_timeout: float = 20.0,
    ) -> None:
        self.url = url
        parsed = parse_url(url)
        self.display_url = parsed.display
        self._secret = parsed.password_value
        self._kwargs: dict[str, Any] = {
            "max_connections": max_connections,
            "timeout": pool_timeout,
            "retry": Retry(ExponentialBackoff(cap=backoff_cap, base=backoff_base), retries),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError, ConnectionResetError, OSError],
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            "health_check_interval": 30,
        }
        self._clients: PerLoop[aioredis.Redis] = PerLoop()

    def __repr__(self) -> str:
        return f"RedisConnection({self.display_url!r})"

    def client(self) -> aioredis.Redis:
        """The running loop's client (made on first use there)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            pool = aioredis.BlockingConnectionPool.from_url(self.url, **self._kwargs)
            client = aioredis.Redis.from_pool(pool)
            self._clients.set(loop, client)
        return client

    async def call(
        self,
        what: str,
        fn: Callable[[aioredis.Redis], Awaitable[T]],
        error: type[KaizenError],
    ) -> T:
        """Run ``fn(client)``; redis failures become ``error`` naming the redacted URL."""
        try:
            return await fn(self.client())
        except (RedisError, OSError) as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", [self._password()])
            log.warning("redis %s failed at %s: %s", what, self.display_url, detail)
            raise error(
                f"redis {what} failed at {self.display_url}: {detail}",
                hint="check that redis-server is running and reachable, and the password and db in the URL",
                details={"url": self.display_url},
            ) from exc

    def _password(self) -> str | None:
        return self._secret

    async def close(self) -> None:
        """Close the clients: the running loop's here, the background loop's there
        (:func:`kaizen_core._sync.close_per_loop`). A later use makes a new one."""
        await close_per_loop(self._clients, _close_client)


async def _close_client(client: aioredis.Redis) -> None:
    await client.aclose()
