"""Fixtures for kaizen-s3-storage tests; ``s3_server`` (moto) comes from kaizen-testing's pytest plugin."""

from __future__ import annotations

import uuid

import pytest

from kaizen_testing.servers.s3 import S3Server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def s3_url(s3_server: S3Server) -> str:
    """A fresh prefix in the session's bucket: every test sees an empty store."""
    return f"s3://{s3_server.bucket}/t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def s3_options(s3_server: S3Server) -> dict[str, str]:
    return {"endpoint_url": s3_server.endpoint_url}
