"""The specialized agents: small BaseAgent subclasses, one module each (imported on first use).

    from kaizen_core.agents import SimpleQAAgent, QAConfig, PlanningAgent, PlanningConfig
    from kaizen_core.agents.specialized.planning import PlanningAgent   # the documented module path

docs/agents.md, "Specialized agents", lists them with their configs and result keys.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module under kaizen_core.agents.specialized
EXPORTS: dict[str, str] = {
    "SimpleQAAgent": "simple_qa",
    "QAConfig": "simple_qa",
    "QASignature": "simple_qa",
    "ChainOfThoughtAgent": "chain_of_thought",
    "ChainOfThoughtConfig": "chain_of_thought",
    "CoTConfig": "chain_of_thought",
    "ReActAgent": "react",
    "ReActConfig": "react",
    "RAGResearchAgent": "rag_research",
    "RAGConfig": "rag_research",
    "CodeGenerationAgent": "code_generation",
    "CodeConfig": "code_generation",
    "MemoryAgent": "memory_agent",
    "MemoryAgentConfig": "memory_agent",
    "MemoryConfig": "memory_agent",
    "PlanningAgent": "planning",
    "PlanningConfig": "planning",
    "PEVAgent": "pev",
    "PEVAgentConfig": "pev",
    "PEVConfig": "pev",
    "ToTAgent": "tree_of_thoughts",
    "ToTAgentConfig": "tree_of_thoughts",
    "ToTConfig": "tree_of_thoughts",
}

__all__ = sorted(EXPORTS)


def load(name: str) -> Any:
    """The exported object ``name`` (imports its module)."""
    module = importlib.import_module(f"{__name__}.{EXPORTS[name]}")
    return getattr(module, name)


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = load(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
