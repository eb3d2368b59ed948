"""``postgres_server``: a throwaway PostgreSQL cluster on a free loopback port.

``initdb`` creates a cluster in a temporary data directory; ``pg_ctl`` runs it. The
binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<ver>/bin``).
PostgreSQL refuses to run as root, so when the tests run as root the directory is
handed to the ``postgres`` system user and every server program runs through
``runuser -u postgres --``.

Connections over TCP need a password (scram-sha-256) so tests can check that
credentials never leak. The fixture creates an ordinary (non-superuser) role owning a
database: ``.url`` is ``postgresql://kaizen:PASSWORD@127.0.0.1:PORT/kaizen``, which
is exactly the permission level the README of kaizen-postgres documents.

A missing PostgreSQL is a test failure with an install hint, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_testing.servers._process import (
    SYSTEM_DEPS_HINT,
    LoopbackServer,
    ServerUnavailable,
    free_port,
    port_open,
    run_in_tempdir,
    serve_or_fail,
    wait_closed,
    wait_until,
)

__all__ = ["PostgresServer", "postgres_bin_dir", "postgres_server", "run_postgres_server"]

DEFAULT_USER = "kaizen"
DEFAULT_PASSWORD = "kaizen-pg-secret-4b2e"
DEFAULT_DATABASE = "kaizen"


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` (or PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServerUnavailable(f"PostgreSQL server programs (initdb, pg_ctl) are not installed: {SYSTEM_DEPS_HINT}")


def _run_as() -> tuple[list[str], str | None]:
    """Command prefix to run server programs as a non-root user, and that user's name."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerUnavailable(
            f"running as root but there is no 'postgres' user to run PostgreSQL as: {SYSTEM_DEPS_HINT}"
        ) from exc
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"], "postgres"
    setpriv = shutil.which("setpriv")
    if setpriv:
        entry = pwd.getpwnam("postgres")
        return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"], "postgres"
    raise ServerUnavailable("running as root and neither runuser nor setpriv exists to drop privileges")


class PostgresServer(LoopbackServer):
    """A PostgreSQL cluster in ``directory``; ``url`` connects as an ordinary role over TCP."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        database: str = DEFAULT_DATABASE,
    ) -> None:
        self.bin_dir = postgres_bin_dir()
        self.prefix, self.os_user = _run_as()
        self.directory = directory
        self.data_dir = directory / "data"
        self.socket_dir = directory / "sock"
        self.log = directory / "postgres.log"
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.database = database
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def running(self) -> bool:
        return port_open(self.port)

    def _cmd(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.prefix, str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise ServerUnavailable(f"{program} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        return result

    def _init(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.directory / "superuser.pw"
        pwfile.write_text(self.password + "\n")
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.directory, self.socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.directory.chmod(0o700)
        self._cmd(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def _psql(self, sql: str) -> None:
        self._cmd("psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                  "-v", "ON_ERROR_STOP=1", "-q", "-c", sql)  # fmt: skip

    def _create_role_and_database(self) -> None:
        self._psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self._psql(f"CREATE DATABASE {self.database} OWNER {self.user}")

    def start(self) -> None:
        """Start the cluster (initialising it the first time); a no-op when running."""
        if self.running:
            return
        if not self._initialised:
            self._init()
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        self._cmd("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        wait_until(lambda: port_open(self.port), what="postgres", timeout=30, log=self.log)
        if not self._initialised:
            self._create_role_and_database()
            self._initialised = True

    def kill(self) -> None:
        """Stop abruptly (``pg_ctl stop -m immediate``: no shutdown checkpoint, like a crash)."""
        self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        wait_closed(self.port)

    def stop(self) -> None:
        """Fast, clean shutdown."""
        if self.data_dir.exists():
            self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        """Create another database owned by the test role; returns its URL."""
        self._psql(f"CREATE DATABASE {name} OWNER {self.user}")
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def run_postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL cluster; stop and delete it on exit (benchmarks use this)."""
    with run_in_tempdir("kaizen-pg-", PostgresServer) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session: ``.url`` (ordinary role with password), ``.kill()``, ``.start()``."""
    yield from serve_or_fail(run_postgres_server)
