"""Shared fixtures: one provider on the bundled model (the model itself loads once per process)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kaizen_core import plugins
from kaizen_llamacpp.provider import LlamaCppProvider


@pytest.fixture(scope="session", autouse=True)
def only_this_plugin() -> Iterator[None]:
    """Load kaizen-llamacpp and the built-ins only, as the tox env does (other plugins'
    install state must not decide these tests)."""
    previous = os.environ.get("KAIZEN_LOAD_PLUGINS")
    os.environ["KAIZEN_LOAD_PLUGINS"] = "kaizen-llamacpp"
    plugins.reset()
    yield
    if previous is None:
        os.environ.pop("KAIZEN_LOAD_PLUGINS", None)
    else:
        os.environ["KAIZEN_LOAD_PLUGINS"] = previous
    plugins.reset()


@pytest.fixture(scope="session")
def provider() -> LlamaCppProvider:
    """Greedy decoding, fixed seed, small budgets (strings bounded to 80 chars): fast and reproducible."""
    return LlamaCppProvider(n_ctx=2048, temperature=0.0, seed=7, max_tokens=160, max_string_chars=80)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
