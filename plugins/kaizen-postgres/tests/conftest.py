"""Fixtures for kaizen-postgres tests; ``postgres_server`` comes from kaizen-testing's pytest plugin."""

from __future__ import annotations

import uuid

import pytest

from kaizen_testing.servers.postgres import PostgresServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh database (owned by the ordinary test role) for each test module."""
    return postgres_server.create_database(f"kaizen_t_{uuid.uuid4().hex[:10]}")


@pytest.fixture
def fresh_pg_url(postgres_server: PostgresServer) -> str:
    """A brand-new, empty database for one test."""
    return postgres_server.create_database(f"kaizen_t_{uuid.uuid4().hex[:10]}")
