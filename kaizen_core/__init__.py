"""Kaizen: typed-signature AI agents on a plugin microkernel.

Public names are imported lazily (PEP 562) so that ``import kaizen_core`` stays cheap
and never pulls in httpx, pluggy or a plugin implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kaizen_core.errors import KaizenError
from kaizen_core.lazy import lazy_exports

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "Signature": "kaizen_core.signatures",
    "InputField": "kaizen_core.signatures",
    "OutputField": "kaizen_core.signatures",
    "BaseAgent": "kaizen_core.agents.base",
    "BaseAgentConfig": "kaizen_core.config",
    "BaseAutonomousAgent": "kaizen_core.agents.autonomous",
    "AutonomousConfig": "kaizen_core.config",
    "load_agent": "kaizen_core.agent_loader",
    "MockProvider": "kaizen_core.providers.mock",
    "get_registry": "kaizen_core.plugins",
    # pluggy's markers: plugin modules use them, a process that only runs agents never does
    "hookimpl": "kaizen_core.hookspecs",
    "hookspec": "kaizen_core.hookspecs",
}

__all__ = ["KaizenError", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from kaizen_core.agent_loader import load_agent
    from kaizen_core.agents.autonomous import BaseAutonomousAgent
    from kaizen_core.agents.base import BaseAgent
    from kaizen_core.config import AutonomousConfig, BaseAgentConfig
    from kaizen_core.hookspecs import hookimpl, hookspec
    from kaizen_core.plugins import get_registry
    from kaizen_core.providers.mock import MockProvider
    from kaizen_core.signatures import InputField, OutputField, Signature

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
