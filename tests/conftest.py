"""Core test configuration: Kaizen runs on asyncio, so anyio tests use that backend."""

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
