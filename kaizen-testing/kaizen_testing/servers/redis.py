"""``redis_server``: Debian's ``redis-server`` on a free loopback port, for the session.

The server keeps its data in a temporary directory with an append-only file fsync'd
on every write, so :meth:`RedisServer.kill` (SIGKILL) followed by
:meth:`RedisServer.start` loses nothing that was acknowledged: exactly what the
failure tests need. It requires a password (``.password``) so tests can check that
credentials never leak; ``.url`` includes it.

A missing ``redis-server`` is a test failure with an install hint, never a skip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_testing.servers._process import (
    SYSTEM_DEPS_HINT,
    LoopbackServer,
    find_program,
    free_port,
    run_in_tempdir,
    serve_or_fail,
)

__all__ = ["RedisServer", "redis_server", "run_redis_server"]

DEFAULT_PASSWORD = "kaizen-redis-secret-7d1c"


class RedisServer(LoopbackServer):
    """A redis-server child process. ``url`` is ``redis://:PASSWORD@127.0.0.1:PORT/0``."""

    def __init__(self, directory: Path, *, port: int | None = None, password: str = DEFAULT_PASSWORD) -> None:
        self.binary = find_program("redis-server", SYSTEM_DEPS_HINT)
        self.directory = directory
        self.port = port or free_port()
        self.password = password
        self.log = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def url_for(self, db: int) -> str:
        """The URL of another logical database on the same server."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        """Start (or restart after :meth:`kill`) on the same port and data directory."""
        if self.running:
            return
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--requirepass", self.password,
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        self._spawn(args, what="redis-server", timeout=20)


@contextlib.contextmanager
def run_redis_server(*, password: str = DEFAULT_PASSWORD) -> Iterator[RedisServer]:
    """Start a redis-server in a temporary directory; stop it on exit (benchmarks use this)."""
    with run_in_tempdir("kaizen-redis-", lambda directory: RedisServer(directory, password=password)) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the session: ``.url`` (with password), ``.kill()``, ``.start()``."""
    yield from serve_or_fail(run_redis_server)
