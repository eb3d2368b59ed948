"""Fixtures of the kaizen-google tests; the SDK-typed wire helpers are in google_sdk.py."""

from __future__ import annotations

import pytest
from google_sdk import GeminiWire


@pytest.fixture
def wire() -> GeminiWire:
    """The transport every provider under test sends through (checked against the google-genai SDK's types)."""
    return GeminiWire()


@pytest.fixture
def anyio_backend() -> str:
    """Kaizen runs on asyncio."""
    return "asyncio"
