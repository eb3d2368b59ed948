"""The Kaizen plugin contract: every pluggy hookspec, one per capability kind.

This file is the table of contents of the system. Each hook is called once, when the
plugin registry is built, with a ``register`` callback. A plugin calls ``register``
once per thing it contributes. Targets may be objects or lazy ``"module:attr"``
strings, resolved only when the name is first selected, so importing a plugin never
imports its SDK::

    import kaizen_core

    @kaizen_core.hookimpl
    def register_providers(register):
        register("openai", "kaizen_openai.provider:OpenAIProvider",
                 env=["OPENAI_API_KEY"], description="OpenAI and compatible APIs")

Common ``register`` keywords for every kind: ``description: str`` and
``aliases: list[str]``. Kind-specific keywords are documented on each hook.

These are *what exists* hooks. *What happens* during a run (PRE/POST events) is the
job of lifecycle hooks, see :mod:`kaizen_core.hooks`.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

PROJECT_NAME = "kaizen"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The callback every ``register_*`` hook receives."""

    def __call__(self, name: str, target: Any, **options: Any) -> None: ...


@hookspec
def register_providers(register: Register) -> None:
    """Register LLM providers (chat and/or embedding models), selected by name.

    ``target`` is a :class:`kaizen_core.providers.BaseProvider` subclass (or a
    ``"module:attr"`` string naming one). Keywords:

    * ``env``: environment variables that make the provider usable (all must be set)
      during auto-detection;
    * ``detect``: a ``"module:attr"`` callable ``() -> bool`` used for auto-detection
      when env vars are not enough (e.g. a local server answering);
    * ``detect_priority``: position in auto-detection, lower first (None: never
      auto-detected). Core order: openai 10, azure 20, anthropic 30, google 40,
      ollama 50, docker 60, llamacpp 90;
    * ``capabilities``: subset of ``{"chat", "embed", "stream", "tools"}``;
    * ``default_model``: the model used when the config names none;
    * ``embedding_priority``: set by providers that embed offline with no configuration;
      the lowest one is the default for semantic search and routing.
    """


@hookspec
def register_storage_backends(register: Register) -> None:
    """Register checkpoint stores, selected by URL scheme (``file``, ``sqlite``, ``s3``...).

    ``name`` is the URL scheme; ``target`` is a :class:`kaizen_core.state.CheckpointStore`
    subclass whose ``from_url(url, **options)`` builds it.
    """


@hookspec
def register_memory_tiers(register: Register) -> None:
    """Register memory tiers, selected by URL scheme (``memory``, ``sqlite``, ``redis``...).

    ``target`` is a :class:`kaizen_core.memory.MemoryTier` subclass whose
    ``from_url(url, namespace=..., **options)`` builds it.
    """


@hookspec
def register_interrupt_handlers(register: Register) -> None:
    """Register interrupt handlers by name (``timeout``, ``budget``, ``resource``...).

    ``target`` is a :class:`kaizen_core.interrupts.BaseInterruptHandler` subclass.
    """


@hookspec
def register_tools(register: Register) -> None:
    """Register tools by name, selectable in agent config (``tools = ["read_file"]``).

    ``target`` is a :class:`kaizen_core.tools.Tool` (or a ``@tool``-decorated function);
    ``ToolRegistry.discover(category=...)`` groups tools by the Tool's own ``category``.
    """


@hookspec
def register_tool_sources(register: Register) -> None:
    """Register tool sources by name: tools that live outside the process and are listed at run
    time (``mcp``: MCP servers, from kaizen-mcp), selected by the agent option that needs them
    (``mcp_servers=[...]`` selects ``mcp``).

    ``target`` is a class called as ``target(servers, workspace_root=...)`` with the option's
    entries, returning an object with ``async discover(server_name=None) -> list[Tool]``,
    ``async run_tools() -> list[Tool]`` (the tools every run offers the model) and
    ``async aclose()``; see :mod:`kaizen_core.agents.mcp_methods`. Its tools are ordinary
    :class:`kaizen_core.tools.Tool` objects and run through the agent's permission gate.
    """


@hookspec
def register_transports(register: Register) -> None:
    """Register control-protocol transports by name (``memory``, ``stdio``, ``cli``, ``http``).

    ``target`` is a :class:`kaizen_core.control.Transport` subclass.
    """


@hookspec
def register_patterns(register: Register) -> None:
    """Register multi-agent pipeline patterns by name (``sequential``, ``router``...).

    ``target`` is a :class:`kaizen_core.orchestration.Pipeline` subclass (or a callable
    returning a Pipeline); ``Pipeline.create(name, *args, **kwargs)`` builds it with the
    arguments given. The core registers its nine patterns this way.
    """


@hookspec
def register_executors(register: Register) -> None:
    """Register executors, where child runs execute, selected by name or URL scheme
    (``local``, ``ray``: ``executor="ray://10.0.0.1:6379"`` on a pipeline or ``agent.run_many``).

    ``target`` is a class (or a ``"module:attr"`` string naming one) with a classmethod
    ``from_url(url, **options)`` returning a :class:`kaizen_core.orchestration.executors.Executor`;
    ``url`` is the whole name or URL the user gave. The core registers ``local`` (the
    child runs on the caller's event loop).
    """


@hookspec
def register_lifecycle_hooks(register: Register) -> None:
    """Register lifecycle hooks by name, enabled in agent config (``hooks = ["audit"]``).

    ``target`` is a :class:`kaizen_core.hooks.BaseHook` subclass; it is instantiated
    with the options given in config and registered on the agent's HookManager.
    """


@hookspec
def register_cli_commands(register: Register) -> None:
    """Register ``kaizen`` CLI commands by name (``kaizen mcp serve``, ``kaizen serve``).

    ``target`` is a ``click.Command`` or ``click.Group`` (best given as a ``"module:attr"``
    string, so Click and the plugin's code load only when the command runs). ``name`` is the
    sub-command's name; a plugin command never replaces a core command of the same name.
    """


@hookspec
def register_hookspecs(register: Register) -> None:
    """Let a plugin add hookspecs of its own (pytest's ``addhooks`` pattern).

    Call ``register(name, module_or_class)`` with an object holding functions marked
    ``@kaizen_core.hookspec``; they are added to the plugin manager before any
    ``register_*`` hook runs, so other plugins can implement them.
    """


def all_specs() -> dict[str, Any]:
    """Name -> hookspec function, for docs and ``kaizen plugins``."""
    return {
        name: fn
        for name, fn in globals().items()
        if callable(fn) and hasattr(fn, f"{PROJECT_NAME}_spec")
    }
