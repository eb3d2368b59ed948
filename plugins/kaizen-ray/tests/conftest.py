"""Fixtures for kaizen-ray tests: one real two-node Ray cluster for the session (kaizen-testing).

The driver (this pytest process) connects once; the workers get this directory on their
PYTHONPATH so they import ``ray_support`` (the tests' agents and tools) like the driver does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kaizen_testing.servers.ray import RayCluster, ray_cluster  # noqa: F401  (the session fixture)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def ray_address(ray_cluster: RayCluster) -> Iterator[str]:  # noqa: F811
    """The cluster's address, with this process connected to it."""
    import ray

    ray.init(
        address=ray_cluster.address,
        namespace="kaizen-tests",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(HERE)}},
    )
    try:
        yield ray_cluster.address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def executor(ray_address: str) -> Iterator[object]:
    """A shared pool of two workers on the cluster."""
    from kaizen_core._sync import run_sync
    from kaizen_ray.executor import RayExecutor

    pool = RayExecutor(ray_address, actors=2, max_concurrency=50)
    yield pool
    run_sync(pool.aclose)
