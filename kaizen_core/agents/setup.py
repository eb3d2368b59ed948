"""How the documented constructor keywords and config options become an agent's parts.

``BaseAgent.__init__`` calls these so that every documented spelling reaches the one
implementation behind it:

* ``tools="all"`` / ``tools=[...]`` / ``tool_registry=registry``: the agent's
  :class:`~kaizen_core.tools.ToolRegistry` (``tool_registry`` is the v0.5 name of ``tools``);
* ``mcp_servers=[...]`` (and the config field of that name): handled by the ``mcp`` tool
  source of the kaizen-mcp plugin, see :mod:`kaizen_core.agents.mcp_methods`; without the
  plugin a non-empty list is refused with KAIZEN_003 naming ``pip install kaizen-mcp``;
* ``memory=`` / ``memory_backend=`` and the config's ``max_turns``, ``memory_storage``
  and, for autonomous agents, ``enable_memory``, ``memory_type``, ``hot_tier_size``,
  ``warm_tier_size``: the agent's conversation memory;
* ``log_level``: the level of the ``kaizen_core`` loggers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kaizen_core.errors import ConfigError

if TYPE_CHECKING:
    from kaizen_core.config import BaseAgentConfig

__all__ = ["DEFAULT_MEMORY_TURNS", "apply_log_level", "build_memory", "tools_argument"]

#: Turns remembered per session when memory is enabled without ``max_turns``.
DEFAULT_MEMORY_TURNS = 10


def tools_argument(tools: Any, tool_registry: Any) -> Any:
    """The ``tools`` argument, with the ``tool_registry`` spelling folded in."""
    if tool_registry is not None:
        if tools is not None:
            raise ConfigError("pass tools= or tool_registry=, not both (tool_registry is another name for tools)")
        return tool_registry
    return tools


def _is_agent_memory(value: Any) -> bool:
    from kaizen_core.memory.agent import AgentMemory

    return isinstance(value, AgentMemory)


def build_memory(config: BaseAgentConfig, agent_id: str, hook_manager: Any, memory: Any, memory_backend: Any) -> Any:
    """The agent's conversation memory (None: the agent remembers nothing between runs).

    ``memory`` is used as given (an :class:`~kaizen_core.memory.agent.AgentMemory`, such as
    :class:`~kaizen_core.memory.BufferMemory` or ``LongTermMemory``). ``memory_backend`` is where the conversation is
    kept: a memory object (used as ``memory``), a :class:`~kaizen_core.memory.MemoryTier` or a tier
    URL (``sqlite:///memory.db``, ``redis://...``), which the agent's history is persisted to,
    namespaced by ``agent_id``. Otherwise the config decides: memory is on when ``max_turns`` is set
    (or an autonomous config sets ``enable_memory``), persisted when ``memory_storage`` is set.
    """
    if memory is not None and memory_backend is not None:
        raise ConfigError("pass memory= or memory_backend=, not both")
    if memory is not None:
        return memory
    if memory_backend is not None and _is_agent_memory(memory_backend):
        return memory_backend
    store = memory_backend if memory_backend is not None else config.memory_storage
    enabled = bool(config.max_turns) or bool(getattr(config, "enable_memory", False)) or store is not None
    if not enabled:
        return None
    memory_type = getattr(config, "memory_type", "buffer")
    if memory_type == "hierarchical" and store is None:
        raise ConfigError(
            "memory_type='hierarchical' keeps a hot in-process buffer over a warm tier, and no warm tier is set",
            hint="set memory_storage='sqlite:///memory.db' (or any memory tier URL), or use memory_type='buffer'",
        )
    turns = config.max_turns or DEFAULT_MEMORY_TURNS
    hot = getattr(config, "hot_tier_size", None)  # messages of the history given to the model
    warm = getattr(config, "warm_tier_size", None)  # messages kept per session
    if hot is not None:
        turns = max(1, hot // 2)
    kept = warm if warm is not None else 2 * turns
    if kept < 2 * turns:
        raise ConfigError(
            f"warm_tier_size={kept} keeps fewer messages than the {2 * turns} given to the model",
            hint="make warm_tier_size at least hot_tier_size (or 2 * max_turns)",
        )
    if store is None:
        from kaizen_core.memory.buffer import BufferMemory

        return BufferMemory(max_turns=turns, agent_id=agent_id, hook_manager=hook_manager, max_messages=kept)
    from kaizen_core.memory.buffer import PersistentBufferMemory

    return PersistentBufferMemory(store, agent_id, buffer_size=kept, max_turns=turns, hook_manager=hook_manager)


def apply_log_level(config: BaseAgentConfig) -> None:
    """Set the ``kaizen_core`` logger's level from ``log_level`` (None leaves it alone).

    Python's logging levels are per logger and process-wide: the agent built last wins.
    """
    if config.log_level is not None:
        logging.getLogger("kaizen_core").setLevel(config.log_level)
