"""Fixtures of the kaizen-otel tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from otel_recorded import Recorded, make_recorded


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    yield make_recorded()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
