"""Fixtures of the kaizen-openai tests; the SDK-typed wire helpers are in openai_sdk.py."""

from __future__ import annotations

import pytest
from openai_sdk import OpenAIWire


@pytest.fixture
def wire() -> OpenAIWire:
    """The transport every provider under test sends through (checked against the openai SDK's types)."""
    return OpenAIWire()


@pytest.fixture
def anyio_backend() -> str:
    """Kaizen runs on asyncio (trio may be installed by another package: its variants are not ours)."""
    return "asyncio"
