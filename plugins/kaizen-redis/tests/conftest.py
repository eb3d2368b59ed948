"""Fixtures for kaizen-redis tests; ``redis_server`` comes from kaizen-testing's pytest plugin."""

from __future__ import annotations

import uuid

import pytest

from kaizen_testing.servers.redis import RedisServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def key_prefix() -> str:
    """A fresh key prefix: every test sees an empty store on the shared server."""
    return f"kt-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
