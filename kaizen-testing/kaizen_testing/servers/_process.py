"""Shared plumbing for the loopback server fixtures (redis, PostgreSQL, S3).

Helpers here never import pytest: benchmarks start the same servers. A missing
program raises :class:`ServerUnavailable`, which the fixtures turn into a pytest
*failure* (never a skip) carrying the install hint.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

SYSTEM_DEPS_HINT = "run scripts/install-system-deps.sh (apt-get install -y redis-server postgresql)"


class ServerUnavailable(RuntimeError):
    """A test server could not be started (program missing, crashed, or never answered)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_program(name: str, hint: str, extra_dirs: list[Path] | None = None) -> str:
    """Absolute path of ``name`` (PATH first, then ``extra_dirs``) or :class:`ServerUnavailable`."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs or []:
        candidate = directory / name
        if candidate.is_file():
            return str(candidate)
    raise ServerUnavailable(f"{name!r} is not installed: {hint}")


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``ready`` until true; fail early when ``process`` exits, with the log tail."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise ServerUnavailable(f"{what} exited with code {process.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"{what} did not become ready within {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.05)


def wait_closed(port: int, timeout: float = 10.0) -> None:
    """Wait until nothing accepts connections on ``port`` any more."""
    deadline = time.monotonic() + timeout
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes] | None, *, kill: bool = False, timeout: float = 10.0) -> None:
    """Terminate (or SIGKILL) ``process`` and reap it. No-op when already gone."""
    if process is None or process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class LoopbackServer:
    """Base of a test server listening on ``127.0.0.1:port``, started and stopped on demand.

    Subclasses set ``port`` and ``log`` and implement :meth:`start` (usually through
    :meth:`_spawn`). The defaults suit a server that is one child process: ``running``
    while it lives, :meth:`kill` is SIGKILL (a crash), :meth:`stop` a graceful
    shutdown; servers managed another way (``pg_ctl``) override them.
    """

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server (a no-op when it is running)."""
        raise NotImplementedError

    def _spawn(
        self, args: Sequence[str], *, what: str, timeout: float, env: Mapping[str, str] | None = None
    ) -> None:
        """Run ``args`` on the (freed) port with output appended to ``log``; wait until it accepts connections."""
        wait_closed(self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                list(args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        wait_until(lambda: port_open(self.port), what=what, timeout=timeout, process=self.process, log=self.log)

    def kill(self) -> None:
        """SIGKILL the server (a crash); :meth:`start` brings it back."""
        stop_process(self.process, kill=True)
        wait_closed(self.port)

    def stop(self) -> None:
        """Graceful shutdown."""
        stop_process(self.process)

    def restart(self) -> None:
        """:meth:`kill`, then :meth:`start`."""
        self.kill()
        self.start()


S = TypeVar("S", bound=LoopbackServer)


@contextlib.contextmanager
def run_in_tempdir(prefix: str, make: Callable[[Path], S]) -> Iterator[S]:
    """``make`` a server in a fresh temporary directory, start it, and stop it (and delete the directory) on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = make(Path(tmp))
        try:
            server.start()
            yield server
        finally:
            server.stop()


T = TypeVar("T")


def serve_or_fail(run: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    """The body of a session fixture: ``yield from serve_or_fail(run_x_server)``.

    Yields the server ``run()`` starts; :class:`ServerUnavailable` becomes a pytest
    *failure* with its hint (never a skip). pytest is imported only when called.
    """
    import pytest

    try:
        with run() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def _tail(log: Path | None, size: int = 2000) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return log.read_text(errors="replace")[-size:]
