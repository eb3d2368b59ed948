"""The pytest plugin of kaizen-testing (entry point ``pytest11``, name ``kaizen``).

Fixtures for plugin authors: registry isolation, plugin registration for one test,
and real servers started on loopback (redis, PostgreSQL, S3, llama.cpp). A server
whose program is missing is a test *failure* with an install hint, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kaizen_core import plugins


@pytest.fixture
def kaizen_plugin() -> Iterator[Any]:
    """Register plugin objects for the duration of one test: ``kaizen_plugin(obj, name=...)``."""
    registered: list[str] = []

    def register(plugin: Any, *, name: str | None = None, distribution: str | None = None) -> str:
        plugin_name = plugins.register_plugin(plugin, name=name, distribution=distribution)
        registered.append(plugin_name)
        return plugin_name

    yield register
    for name in registered:
        plugins.unregister_plugin(name)


# Server fixtures: each module under kaizen_testing.servers adds its own import here.
from kaizen_testing.servers.chromium import chromium_driver  # noqa: E402,F401
from kaizen_testing.servers.llama import llama_server  # noqa: E402,F401
from kaizen_testing.servers.postgres import postgres_server  # noqa: E402,F401
from kaizen_testing.servers.redis import redis_server  # noqa: E402,F401
from kaizen_testing.servers.s3 import s3_server  # noqa: E402,F401
