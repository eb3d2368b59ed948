"""Every test's exporters are stopped afterwards, so ports and registries never leak between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaizen_prometheus import PrometheusExporter


@pytest.fixture(autouse=True)
def stop_exporters() -> Iterator[None]:
    yield
    PrometheusExporter.close_all()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
