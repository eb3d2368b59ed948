"""``ray_cluster``: a real two-node Ray cluster on loopback, for the session.

A head (``ray start --head --port P --num-cpus 2``) and a second raylet joining it
(``ray start --address 127.0.0.2:P --num-cpus 2``), each a ``ray start --block`` child
process in its own process group, so :meth:`RayCluster.stop` ends exactly the processes
it started (never ``ray stop``, which would stop every Ray on the machine). Work sent to
the cluster really crosses processes, and, spread over both raylets, nodes.

A missing ``ray`` program is a test failure with an install hint, never a skip.

The nodes' address is 127.0.0.2, a loopback address: Ray rewrites ``127.0.0.1`` and
``localhost`` to the machine's own interface address (so that other hosts can reach a
node), which would send the cluster's traffic off loopback. ``127.0.0.2`` it keeps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_testing.servers._process import (
    find_program,
    free_port,
    port_open,
    serve_or_fail,
    wait_until,
)

__all__ = ["RayCluster", "ray_cluster", "run_ray_cluster"]

RAY_HINT = "pip install -e plugins/kaizen-ray[test] (it installs ray[default])"


#: The nodes' IP: loopback, and not one Ray rewrites to the interface address (see above).
NODE_IP = "127.0.0.2"


class RayCluster:
    """A Ray head plus ``workers`` more raylets on 127.0.0.2. ``.address`` is ``127.0.0.2:PORT``."""

    def __init__(self, directory: Path, *, num_cpus: int = 2, workers: int = 1, port: int | None = None) -> None:
        venv_bin = Path(sys.executable).parent
        self.binary = find_program("ray", RAY_HINT, extra_dirs=[venv_bin])
        self.directory = directory
        self.port = port or free_port()
        self.num_cpus = num_cpus
        self.workers = workers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log = directory / "ray.log"
        # Ray's session files (sockets, logs) under a short private path: unix socket paths are limited.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="kzray-", dir="/tmp"))

    @property
    def address(self) -> str:
        return f"{NODE_IP}:{self.port}"

    @property
    def url(self) -> str:
        """The executor URL of this cluster: ``ray://127.0.0.2:PORT``."""
        return f"ray://{self.address}"

    #: The environment of the cluster's processes and of every driver: a loopback test cluster
    #: runs without token authentication, whatever an earlier local ``ray.init`` left in ~/.ray.
    ENV: dict[str, str] = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    #: Unset for the same processes: ``RAY_ADDRESS`` would win over every explicit address (another cluster).
    UNSET: tuple[str, ...] = ("RAY_ADDRESS",)

    @classmethod
    def environment(cls) -> dict[str, str]:
        """This process's environment as the cluster's processes and its drivers get it."""
        return {**{k: v for k, v in os.environ.items() if k not in cls.UNSET}, **cls.ENV}

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        env = self.environment()
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [self.binary, "start", *args, "--block", "--disable-usage-stats", "--node-ip-address", NODE_IP],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: stop() signals exactly these processes
            )
        self.processes.append(process)
        return process

    def _nodes_alive(self) -> int:
        result = subprocess.run(
            [sys.executable, "-c", _COUNT_NODES, self.address],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=self.environment(),
        )
        try:
            return int(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return 0

    def start(self) -> None:
        head = self._spawn(
            [
                "--head",
                "--port", str(self.port),
                "--num-cpus", str(self.num_cpus),
                "--include-dashboard=false",
                "--temp-dir", str(self.temp_dir),
            ]
        )  # fmt: skip
        wait_until(lambda: port_open(self.port, NODE_IP), what="ray head", timeout=120, process=head, log=self.log)
        for _ in range(self.workers):
            self._spawn(["--address", self.address, "--num-cpus", str(self.num_cpus)])
        expected = 1 + self.workers
        wait_until(lambda: self._nodes_alive() >= expected, what=f"{expected} ray nodes", timeout=180, process=head, log=self.log)

    def stop(self) -> None:
        """SIGTERM each ``ray start --block`` process group (it stops its own raylet/GCS), SIGKILL what lingers."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=60)  # ray drains for up to 30 s after SIGTERM
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes = []
        shutil.rmtree(self.temp_dir, ignore_errors=True)


_COUNT_NODES = """
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False)
print(sum(1 for n in ray.nodes() if n["Alive"]))
"""


@contextlib.contextmanager
def run_ray_cluster(*, num_cpus: int = 2, workers: int = 1) -> Iterator[RayCluster]:
    """Start a head and ``workers`` raylets in a temporary directory; stop them on exit (benchmarks use this).

    While it runs, this process's environment has :attr:`RayCluster.ENV` and none of
    :attr:`RayCluster.UNSET` (drivers started from here, and ``ray.init`` here, connect the way
    the cluster expects); the environment is restored afterwards.
    """
    saved = {key: os.environ.get(key) for key in (*RayCluster.ENV, *RayCluster.UNSET)}
    for key in RayCluster.UNSET:
        os.environ.pop(key, None)
    os.environ.update(RayCluster.ENV)
    try:
        with tempfile.TemporaryDirectory(prefix="kaizen-ray-") as tmp:
            cluster = RayCluster(Path(tmp), num_cpus=num_cpus, workers=workers)
            try:
                cluster.start()
                yield cluster
            finally:
                cluster.stop()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A real two-node Ray cluster for the session: ``.address`` (``127.0.0.2:PORT``), ``.url`` (``ray://...``)."""
    yield from serve_or_fail(run_ray_cluster)
