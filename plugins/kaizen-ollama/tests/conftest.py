"""Fixtures of the kaizen-ollama tests; the SDK-typed wire helpers are in ollama_sdk.py."""

from __future__ import annotations

import pytest
from ollama_sdk import OllamaWire


@pytest.fixture
def wire() -> OllamaWire:
    """The transport every provider under test sends through (checked against the ollama SDK's types)."""
    return OllamaWire()


@pytest.fixture
def anyio_backend() -> str:
    """Kaizen runs on asyncio (trio may be installed by another package: its variants are not ours)."""
    return "asyncio"
