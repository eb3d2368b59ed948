"""Core test configuration: Kaizen runs on asyncio, so anyio tests use that backend.

The one place this is set for tests/ (test modules do not repeat it)."""

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def observability_core_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``agent.enable_observability`` as in the core env: no kaizen-otel, no kaizen-prometheus.

    The plugin registry holds the built-ins only (``KAIZEN_LOAD_PLUGINS=""``) and is rebuilt
    after the test; the JSON stderr handler ``enable_observability`` may add to the
    ``kaizen`` logger is removed again.
    """
    from kaizen_core import plugins
    from kaizen_core.hooks.builtin import JsonFormatter

    monkeypatch.setenv("KAIZEN_LOAD_PLUGINS", "")
    plugins.reset()
    yield
    plugins.reset()
    kaizen = logging.getLogger("kaizen")
    for handler in [h for h in kaizen.handlers if isinstance(h.formatter, JsonFormatter)]:
        kaizen.removeHandler(handler)
