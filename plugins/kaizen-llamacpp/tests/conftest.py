"""Shared fixtures: one provider on the bundled model (the model itself loads once per process)."""

from __future__ import annotations

import pytest

from kaizen_llamacpp.provider import LlamaCppProvider


@pytest.fixture(scope="session")
def provider() -> LlamaCppProvider:
    """Greedy decoding, fixed seed, small budget: fast and reproducible."""
    return LlamaCppProvider(n_ctx=2048, temperature=0.0, seed=7, max_tokens=160)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
