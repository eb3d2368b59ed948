"""Fixtures of the kaizen-anthropic tests; the SDK-typed wire helpers are in anthropic_sdk.py."""

from __future__ import annotations

import pytest
from anthropic_sdk import AnthropicWire


@pytest.fixture
def wire() -> AnthropicWire:
    """The transport every provider under test sends through (checked against the anthropic SDK's types)."""
    return AnthropicWire()


@pytest.fixture
def anyio_backend() -> str:
    """Kaizen runs on asyncio."""
    return "asyncio"
