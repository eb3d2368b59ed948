"""Testing kit for plugin authors: conformance suites and a pytest plugin.

Suites are imported lazily so that loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUITES = {
    "ProviderSuite": "kaizen_testing.provider_suite",
    "CheckpointStoreSuite": "kaizen_testing.checkpoint_suite",
    "MemoryTierSuite": "kaizen_testing.memory_suite",
}

__all__ = list(_SUITES)


def __getattr__(name: str) -> Any:
    module = _SUITES.get(name)
    if module is None:
        raise AttributeError(f"module 'kaizen_testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
