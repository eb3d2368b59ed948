"""Core test configuration: Kaizen runs on asyncio, so anyio tests use that backend.

The one place this is set for tests/ (test modules do not repeat it)."""

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
