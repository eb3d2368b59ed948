"""kaizen_core.agents: BaseAgent, the autonomous agent and the specialized agents.

Names are resolved on first use (PEP 562), so ``import kaizen_core`` stays cheap:
``from kaizen_core.agents import SimpleQAAgent, PlanningAgent, PEVAgent, ToTAgent``.
"""

from __future__ import annotations

import importlib
from typing import Any

_CORE = {
    "BaseAgent": "kaizen_core.agents.base",
    "BaseAutonomousAgent": "kaizen_core.agents.autonomous",
}


def __getattr__(name: str) -> Any:
    if name in _CORE:
        value = getattr(importlib.import_module(_CORE[name]), name)
    else:
        specialized = importlib.import_module("kaizen_core.agents.specialized")
        if name not in specialized.EXPORTS:
            raise AttributeError(f"module 'kaizen_core.agents' has no attribute {name!r}")
        value = specialized.load(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*_CORE, *importlib.import_module("kaizen_core.agents.specialized").EXPORTS])
